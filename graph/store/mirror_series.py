"""The series reads of the query mirror (`Store.inbound` with cuts, `Store.failing`): the mirrored part
of a window summed from its columns, rule 11's calls and the part before the horizon from SQL (that
one kept: graph.store.older_series), merged into the answer SQL gives."""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from graph.model import Window
from graph.store.columns import Columns, Interner, WindowRanges
from graph.store.mirror_failing import GroupServers
from graph.store.older_series import OlderSeries
from graph.store.schema import HOUR
from graph.store.series import InboundBucket, inbound_query, range_params, segment_buckets, window_cuts
from graph.store.sql import bucket_range
from graph.store.sql_store import SqlStore

Rows = list[tuple[Any, ...]]


def segment_sums(edges: Columns, rows: np.ndarray, columns: Sequence[int], servers: GroupServers,
                 cuts: Sequence[int], service: str | None) -> Rows:
    """The rows `inbound_query` with `cuts` gives for the given edge rows (self-calls left out; only
    calls into `service` if given): (service, earliest bucket, segment, calls, failed, *server_hist)."""
    group = edges.group[rows]
    servers_of = servers.server[group]
    keep = ~servers.self_call[group]
    if service is not None:
        keep &= servers_of == servers.names.ids.get(service, -1)
    rows, servers_of = rows[keep], servers_of[keep]
    if not len(rows):
        return []
    bucket = edges.bucket[rows]
    count = len(cuts) + 1
    key = servers_of * count + np.searchsorted(np.asarray(cuts, np.int64), bucket, side="right")
    order = np.argsort(key, kind="stable")
    key = key[order]
    starts = np.flatnonzero(np.r_[True, key[1:] != key[:-1]])
    sums = np.add.reduceat(edges.ints[np.ix_(rows[order], np.asarray(columns))], starts, axis=0)
    first = np.minimum.reduceat(bucket[order], starts)
    names = servers.names.values
    return [(names[k // count], b, k % count, *s)
            for k, b, s in zip(key[starts].tolist(), first.tolist(), sums.tolist(), strict=True)]


def merge_segments(rows: Rows, more: Rows) -> Rows:
    """Rows of `inbound_query` with cuts from parts of one window, one per (service, segment)."""
    if not more:
        return rows
    merged: dict[tuple[str, int], list[int]] = {}
    for row in (*rows, *more):
        key = (str(row[0]), int(row[2]))
        seen = merged.get(key)
        if seen is None:
            merged[key] = [int(row[1]), *(int(v) for v in row[3:])]
        else:
            seen[0] = min(seen[0], int(row[1]))
            for i, v in enumerate(row[3:], start=1):
                seen[i] += int(v)
    return [(service, values[0], segment, *values[1:]) for (service, segment), values in merged.items()]


class SeriesReads:
    """`inbound` with cuts from the mirror's columns (a mixin of QueryMirror)."""

    store: SqlStore
    bucket_seconds: int
    _lock: threading.RLock
    _edges: Columns
    _edge_keys: Interner
    _group_servers: GroupServers
    _older_series: OlderSeries
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
        seconds = self.bucket_seconds
        at = window_cuts(window, cuts, seconds)
        with self._lock:
            self._refresh(False)
            older, newer = self._parts(window)
            if newer is not None:
                self._group_servers.update(self._edge_keys.values)
                rows = self._edges.select(WindowRanges.of(newer, seconds, self._env_id(env)))
                found = segment_sums(self._edges, rows, self._inbound_columns, self._group_servers, at, service)
        if newer is None:
            return self.store.inbound(window, env, service, cuts)
        query = inbound_query(self.store.placeholder, seconds, env, service, at, edges=False)
        more = self.store.series_rows(query, range_params(bucket_range(newer, seconds), bucket_range(newer, HOUR),
                                                          env, service, edges=False))
        if older is not None:
            more += self._older_series.inbound(older, env, service, at)
        return segment_buckets(merge_segments(found, more), at, -(-int(window.end) // seconds) * seconds)
