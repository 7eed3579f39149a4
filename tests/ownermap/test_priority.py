"""Ingest threads lower their own CPU priority; the thread that asks for it alone is affected."""

from __future__ import annotations

import os
import sys
import threading

import pytest

from ownermap.priority import lower_priority

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="per-thread priority is Linux's")


def _nice_of(thread_id: int) -> int:
    return os.getpriority(os.PRIO_PROCESS, thread_id)


def _in_thread(setup: object) -> tuple[int, int]:
    """The nice value a new thread has after `setup`, and that of a thread it starts afterwards."""
    seen: list[int] = []

    def child() -> None:
        seen.append(_nice_of(threading.get_native_id()))

    def parent() -> None:
        setup()  # type: ignore[operator]
        seen.append(_nice_of(threading.get_native_id()))
        grandchild = threading.Thread(target=child)
        grandchild.start()
        grandchild.join()

    thread = threading.Thread(target=parent)
    thread.start()
    thread.join()
    return seen[0], seen[1]


def test_the_thread_lowers_itself_and_the_threads_it_starts_inherit_it() -> None:
    before = _nice_of(threading.get_native_id())
    assert _in_thread(lower_priority(before + 7)) == (before + 7, before + 7)
    assert _nice_of(threading.get_native_id()) == before  # the calling thread is untouched


def test_zero_changes_nothing() -> None:
    before = _nice_of(threading.get_native_id())
    assert _in_thread(lower_priority(0)) == (before, before)
