"""The older part of series reads (`Store.inbound` spans, `Store.failing` slots) for windows reaching
before the query mirror's horizon: its hourly rows summed in SQL once and kept, its 5-minute rows
summed at every request.

The rule that keeps the kept sums true: hourly rows before the horizon change only when compaction
runs (it rolls 5-minute rows into hours and deletes expired ones), when a write lands before the
horizon (late data: the mirror sees it by the store's change sequence, `ChangeSet.below_horizon`) or
when the mirror lets go of days; in each case the mirror calls `forget`. Kept sums are keyed by their
hour range, environment and every other argument of the query; a sum read while `forget` was called
is used once and not kept. 5-minute rows before the horizon (only late writes lie there) are never
kept: they are read at every request, so a late write is seen even before the mirror's next refresh.
"""

from __future__ import annotations

from typing import Any

from graph.model import Window
from graph.store.kept import Kept
from graph.store.schema import HOUR
from graph.store.series import InboundBucket, failing_query, inbound_buckets, inbound_query, range_params
from graph.store.sql import bucket_range
from graph.store.sql_store import SqlStore

_ENTRIES = 8  # kept sums (a window ending now keeps one per hour it starts in, per query)
_NONE = (0, 0)  # an empty bucket range: reads nothing
Rows = list[tuple[Any, ...]]


class OlderSeries:
    """Series sums of the part of a window before the mirror's horizon (`window.end`, hour-aligned)."""

    def __init__(self, store: SqlStore) -> None:
        self.store = store
        self._kept: Kept[Any] = Kept(_ENTRIES)  # rows of inbound_query, or failing records

    def forget(self) -> None:
        """Something before the horizon changed (see the module's rule): sum again when next asked."""
        self._kept.forget()

    def _ranges(self, window: Window) -> tuple[tuple[int, int], tuple[int, int]]:
        horizon = int(window.end)
        return (bucket_range(window, self.store.bucket_seconds)[0], horizon), (bucket_range(window, HOUR)[0], horizon)

    def inbound(self, window: Window, env: str | None, service: str | None, cuts: list[int]) -> Rows:
        """The rows of `inbound_query` with `cuts` (aligned, as `window_cuts`) for the window, unmerged:
        the kept hourly ones, then the 5-minute ones."""
        fine, hours = self._ranges(window)
        query = inbound_query(self.store.placeholder, self.store.bucket_seconds, env, service, cuts)
        before = tuple(c for c in cuts if c < window.end)  # the only cuts that number these rows

        def hourly() -> Rows:
            return self.store.series_rows(query, range_params(_NONE, hours, env, service))

        kept = self._kept.get(("inbound", hours, env, service, before), hourly)
        return kept + self.store.series_rows(query, range_params(fine, _NONE, env, service))

    def failing(self, window: Window, env: str | None, hourly: bool, min_failed: int,
                error_ratio: float) -> list[InboundBucket]:
        """`Store.failing` for the window, unsorted. With `hourly`, 5-minute rows sum into their hour
        with the hourly rows: when any lie before the horizon, the whole part is read from SQL."""
        fine, hours = self._ranges(window)
        query = failing_query(self.store.placeholder, self.store.bucket_seconds, env, hourly)

        def read(fine: tuple[int, int], hours: tuple[int, int], least: int, share: float) -> list[InboundBucket]:
            return inbound_buckets(self.store.series_rows(query, [*range_params(fine, hours, env, None), least, share]))

        kept = self._kept.get(("failing", hours, env, hourly, min_failed, error_ratio),
                         lambda: read(_NONE, hours, min_failed, error_ratio))
        if not hourly:
            return kept + read(fine, _NONE, min_failed, error_ratio)
        if read(fine, _NONE, 0, 0.0):  # 5-minute calls before the horizon: they join their hours' sums
            return self.store.failing(window, env, hourly, min_failed, error_ratio)
        return kept
