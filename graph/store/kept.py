"""Sums read outside any lock and kept by key until told that what they summed changed."""

from __future__ import annotations

import threading
from collections.abc import Callable, Hashable
from typing import Generic, TypeVar

V = TypeVar("V")


class Kept(Generic[V]):
    """At most `entries` values by key (the oldest dropped first); `forget` drops them all. A value read
    while `forget` was called is returned once and not kept (it may hold what changed)."""

    def __init__(self, entries: int) -> None:
        self._entries = entries
        self._lock = threading.Lock()
        self._kept: dict[Hashable, V] = {}
        self._generation = 0

    def forget(self) -> None:
        """What the kept values summed changed: read again when next asked."""
        with self._lock:
            self._generation += 1
            self._kept.clear()

    def get(self, key: Hashable, read: Callable[[], V]) -> V:
        """The kept value of a key, or `read()` (called outside the lock) kept."""
        with self._lock:
            found = self._kept.get(key)
            generation = self._generation
        if found is not None:
            return found
        value = read()
        with self._lock:
            if generation == self._generation:
                while len(self._kept) >= self._entries:
                    self._kept.pop(next(iter(self._kept)))
                self._kept[key] = value
        return value
