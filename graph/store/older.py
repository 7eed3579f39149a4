"""The older part of windows that reach before the mirrored days: summed in SQL, kept until
something there changes (a late write, a compaction, or the mirror letting go of more days)."""

from __future__ import annotations

import itertools
from collections.abc import Callable
from dataclasses import dataclass

from graph.model import Window
from graph.store.kept import Kept
from graph.store.merge import merge_edges, merge_services
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
    """Older parts summed by `read` (SQL, over explicit bucket ranges), reused while nothing before
    the horizon changed.

    The hourly rows of an older part are summed once per hour its window starts in and kept; its
    5-minute rows (only late writes lie that far back, or the last day when the horizon is that
    recent) are summed at every request and merged, so a window moving a bucket at a time does not
    sum its older part again.
    """

    def __init__(self, read: Callable[[tuple[int, int], tuple[int, int], str | None],
                                      tuple[list[ServiceRow], EdgeTable]],
                 bucket_seconds: int) -> None:
        self._read = read
        self._bucket_seconds = bucket_seconds
        self._kept: Kept[OlderPart] = Kept(_ENTRIES)

    def forget(self) -> None:
        """Something before the horizon changed: sum again when next asked."""
        self._kept.forget()

    def get(self, window: Window, env: str | None) -> OlderPart:
        """The sums of [window.start, window.end) (window.end: the hour-aligned horizon).

        Summed outside any lock of the mirror (it takes seconds at scale); kept only when nothing
        was forgotten meanwhile.
        """
        horizon = int(window.end)
        hours = (bucket_range(window, HOUR)[0], horizon)

        def read() -> OlderPart:
            services, edges = self._read((0, 0), hours, env)
            return OlderPart(services, edges, next(_TOKENS))

        hourly = self._kept.get((hours, env), read)
        fine_services, fine_edges = self._read((bucket_range(window, self._bucket_seconds)[0], horizon), (0, 0), env)
        if not fine_services and not len(fine_edges):
            return hourly
        return OlderPart(merge_services(hourly.services, fine_services), merge_edges(hourly.edges, fine_edges),
                         next(_TOKENS))
