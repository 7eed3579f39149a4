"""The older part of windows that reach before the mirrored days: summed in SQL, kept until
something there changes (a late write, a compaction, or the mirror letting go of more days)."""

from __future__ import annotations

import itertools
import threading
from collections.abc import Callable
from dataclasses import dataclass

from graph.model import Window
from graph.store.rows import EdgeTable, ServiceRow
from graph.store.schema import HOUR
from graph.store.sql import bucket_range

_ENTRIES = 4  # older parts kept (a window ending now keeps one per hour it starts in)
_TOKENS = itertools.count(1)


@dataclass(frozen=True)
class OlderPart:
    """The sums of the older part of a window, with a token naming this content."""

    services: list[ServiceRow]
    edges: EdgeTable
    token: int


class OlderSums:
    """Older parts summed by `read` (SQL), reused while nothing before the horizon changed."""

    def __init__(self, read: Callable[[Window, str | None], tuple[list[ServiceRow], EdgeTable]],
                 bucket_seconds: int) -> None:
        self._read = read
        self._bucket_seconds = bucket_seconds
        self._lock = threading.Lock()
        self._kept: dict[tuple[object, ...], OlderPart] = {}
        self._generation = 0

    def forget(self) -> None:
        """Something before the horizon changed: sum again when next asked."""
        with self._lock:
            self._generation += 1
            self._kept.clear()

    def get(self, window: Window, env: str | None) -> OlderPart:
        """The sums of [window.start, window.end) (window.end: the hour-aligned horizon).

        Summed outside any lock of the mirror (it takes seconds at scale); kept only when nothing
        was forgotten meanwhile.
        """
        key = (bucket_range(window, self._bucket_seconds)[0], bucket_range(window, HOUR)[0], int(window.end), env)
        with self._lock:
            found = self._kept.get(key)
            generation = self._generation
        if found is not None:
            return found
        services, edges = self._read(window, env)
        part = OlderPart(services, edges, next(_TOKENS))
        with self._lock:
            if generation == self._generation:
                while len(self._kept) >= _ENTRIES:
                    self._kept.pop(next(iter(self._kept)))
                self._kept[key] = part
        return part
