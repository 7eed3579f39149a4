"""The series reads of the query mirror (`Store.inbound` with cuts, `Store.failing`): the mirrored part
of a window summed from its columns (graph.store.mirror_spans), rule 11's calls and the part before
the horizon from SQL (that one kept: graph.store.older_series), merged into the answer SQL gives."""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from typing import Any

from graph.model import Window
from graph.store.columns import Columns, Interner, WindowRanges
from graph.store.mirror_failing import GroupServers, failing_slots
from graph.store.mirror_spans import SpanSums, Sums, named_sums, span_buckets
from graph.store.older_series import OlderSeries
from graph.store.schema import HOUR
from graph.store.series import InboundBucket, inbound_query, range_params, window_cuts
from graph.store.span_table import SpanTable
from graph.store.sql import bucket_range
from graph.store.sql_store import SqlStore

Rows = list[tuple[Any, ...]]


class SeriesReads:
    """`inbound` with cuts and `failing` from the mirror's columns (a mixin of QueryMirror)."""

    store: SqlStore
    bucket_seconds: int
    _lock: threading.RLock
    _edges: Columns
    _edge_keys: Interner
    _group_servers: GroupServers
    _older_series: OlderSeries
    _spans: SpanSums
    _inbound_columns: list[int]  # positions in Columns.ints: calls, failed, the server histogram
    _refresh: Callable[[bool], None]
    _parts: Callable[[Window], tuple[Window | None, Window | None]]
    _env_id: Callable[[str | None], int | None]

    def inbound(self, window: Window, env: str | None = None, service: str | None = None,
                cuts: Sequence[float] | None = None) -> list[InboundBucket]:
        """Calls into each service per bucket (read from SQL) or, with `cuts`, per span between them:
        the mirrored part from memory, rule 11's calls and the older part (kept) from SQL."""
        if cuts is None:
            return self.store.inbound(window, env, service, cuts)
        parts = self._span_parts(window, env, service, cuts)
        if parts is None:
            return self.store.inbound(window, env, service, cuts)
        return span_buckets(*parts)

    def inbound_spans(self, window: Window, env: str | None, cuts: Sequence[float]) -> SpanTable | None:
        """`inbound(window, env, cuts=cuts)` as a SpanTable, or None when the window is not mirrored
        (then read `inbound`)."""
        parts = self._span_parts(window, env, None, cuts)
        if parts is None:
            return None
        found, names, more, at, end = parts
        found, name_of = named_sums(found, names, more, len(at) + 1)
        return SpanTable(found.key, found.first, found.sums, name_of, [*at, end])

    def _span_parts(self, window: Window, env: str | None, service: str | None,
                    cuts: Sequence[float]) -> tuple[Sums, Sequence[str], Rows, list[int], int] | None:
        """What the spans of a window are made from: the mirrored part's sums with the names of their
        ids, rule 11's rows and the older part's (SQL), the aligned cuts and the window's end."""
        seconds = self.bucket_seconds
        at = window_cuts(window, cuts, seconds)
        with self._lock:
            self._refresh(False)
            older, newer = self._parts(window)
            if newer is None:
                return None
            self._group_servers.update(self._edge_keys.values)
            found = self._spans.sums(newer, self._env_id(env), at, service)
            names = self._group_servers.names.values  # only ever appended: valid after the lock
        query = inbound_query(self.store.placeholder, seconds, env, service, at, edges=False)
        more = self.store.series_rows(query, range_params(bucket_range(newer, seconds), bucket_range(newer, HOUR),
                                                          env, service, edges=False))
        if older is not None:
            more += self._older_series.inbound(older, env, service, at)
        return found, names, more, at, -(-int(window.end) // seconds) * seconds

    def failing(self, window: Window, env: str | None, hourly: bool, min_failed: int,
                error_ratio: float) -> list[InboundBucket]:
        """On-call's failing buckets (`Store.failing`): the mirrored part from memory, the older part
        from SQL (its hourly rows kept: graph.store.older_series)."""
        with self._lock:
            self._refresh(False)
            older, newer = self._parts(window)
            if newer is None:
                return self.store.failing(window, env, hourly, min_failed, error_ratio)
            rows = self._edges.select(WindowRanges.of(newer, self.bucket_seconds, self._env_id(env)))
            self._group_servers.update(self._edge_keys.values)
            calls_at, failed_at = self._inbound_columns[:2]
            found = failing_slots(self._edges, rows, calls_at, failed_at, self._group_servers,
                                  self.store.unmatched_buckets(newer, env), self.bucket_seconds, hourly, min_failed,
                                  error_ratio)
        if older is not None:
            found = self._older_series.failing(older, env, hourly, min_failed, error_ratio) + found
        return sorted(found, key=lambda b: (b.bucket, b.service, b.seconds))
