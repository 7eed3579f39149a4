"""The read model: the recent aggregates of a SQL store held in memory as columns, kept current
by change number, serving `graph.store.reads.WindowReads` (read-only; writes go to the store).

Summing a week of buckets in SQL takes seconds at 20 000 edges (hundreds of thousands of rows,
fifty counters each); the API asks for such windows all the time. A `QueryMirror` loads the
rows of the last `days` once, then before each query (at most every `refresh_seconds`) fetches
only the rows whose `seq` changed since it last looked (SqlStore.read_changes) and applies
deletions made by compaction. A window inside the mirrored span is answered from per-edge sums
kept current for it (graph.store.window_sums). Past `max_rows` edge rows (or as many service
rows) the mirror lets go of its oldest days, a day at a time (an hour at a time within the last
day): a window reaching before the mirrored span has that older part summed in SQL and kept
(graph.store.older), the rest from memory, merged by graph.store.merge. Answers equal the SQL
ones, exemplars by the rule stated in graph.store.merge (tests/graph/test_mirror.py).
"""

from __future__ import annotations

import dataclasses
import hashlib
import logging
import threading
import time
from collections.abc import Callable

import numpy as np

from graph.model import Window
from graph.store.columns import FINE, Columns, Interner, WindowRanges
from graph.store.edge_names import EdgeNames
from graph.store.merge import merge_edges, merge_services
from graph.store.mirror_failing import GroupServers
from graph.store.mirror_series import SeriesReads
from graph.store.mirror_spans import SpanSums
from graph.store.older import OlderSums
from graph.store.older_series import OlderSeries
from graph.store.rows import ChangeSet, EdgeRow, EdgeTable, ServiceRow, TopologyEdge, TopologyRows
from graph.store.schema import CLIENT_HIST, EDGE_AT, HOUR, SERVER_HIST, SERVICE_AT
from graph.store.sql import bucket_range
from graph.store.sql_reads import SqlReads
from graph.store.sql_store import SqlStore
from graph.store.window_sums import WindowSums

TopologyRowsData = tuple[list[TopologyEdge], list[str]]

log = logging.getLogger(__name__)

DAY = 86_400
_LOAD_STEP = 4 * HOUR  # the first load reads this much of the history at a time
_WINDOW_SUMS = 8  # windows whose sums are kept current (the ones asked for most recently)
# Buckets up to this far ahead of the clock are mirrored (clients' clocks run ahead a little); rows
# further ahead are left in the database, neither loaded nor counted against max_rows, and taken in
# as the clock reaches them. Compaction deletes rows a day ahead (graph.store.schema.FUTURE_SECONDS).
AHEAD_SECONDS = 2 * HOUR

# Positions in a row of EDGE_COLUMNS, by name.
_KEY = slice(EDGE_AT["bucket"], EDGE_AT["environment"] + 1)
_CLIENT_KIND, _SERVER_KIND = EDGE_AT["client_kind"], EDGE_AT["server_kind"]
_INT_NAMES = ["calls", "failed", "queue_count", *CLIENT_HIST, *SERVER_HIST]  # columns of Columns.ints, in order
_INT_COLUMNS = [EDGE_AT[name] for name in _INT_NAMES]
_CALLS, _FAILED, _QUEUE_COUNT = (_INT_NAMES.index(name) for name in ("calls", "failed", "queue_count"))
_CLIENT_HIST = slice(_INT_NAMES.index(CLIENT_HIST[0]), _INT_NAMES.index(CLIENT_HIST[-1]) + 1)
_SERVER_HIST = slice(_INT_NAMES.index(SERVER_HIST[0]), _INT_NAMES.index(SERVER_HIST[-1]) + 1)
_FLOAT_COLUMNS = [EDGE_AT[name] for name in ("client_sum", "server_sum", "queue_sum")]
_FIRST, _LAST, _EXEMPLARS = EDGE_AT["first_seen"], EDGE_AT["last_seen"], EDGE_AT["exemplars"]
_SERVICE_INTS = [SERVICE_AT["spans"], SERVICE_AT["error_spans"]]
_SERVICE_FIRST, _SERVICE_LAST = SERVICE_AT["first_seen"], SERVICE_AT["last_seen"]


class QueryMirror(SeriesReads, SqlReads):
    """The recent edge and service aggregates of a SQL store, in memory (reads only).

    Thread-safe: refreshes and the summing of a window take one lock.
    """

    _inbound_columns = [_CALLS, _FAILED, *range(_SERVER_HIST.start, _SERVER_HIST.stop)]

    def __init__(self, store: SqlStore, days: float = 8.0, refresh_seconds: float = 1.0,
                 clock: Callable[[], float] = time.time, max_rows: int = 500_000) -> None:
        self.store = store
        self.max_rows = max_rows
        self.chunk = 20_000  # rows taken in at a time (a backlog is never held whole as Python rows)
        self.bucket_seconds = store.bucket_seconds
        self.days = days
        self.refresh_seconds = refresh_seconds
        self.clock = clock
        self._lock = threading.RLock()  # reentrant: a fallback to the SQL path may call back in
        self._loaded_at: float | None = None
        self._watermark: int | None = None
        self._compactions = 0
        self._horizon = 0
        self._until = 0  # buckets before this are mirrored (the clock's hour plus AHEAD_SECONDS)
        self._edge_keys = Interner()  # (client, server, connection_type)
        self._envs = Interner()
        self._kinds = Interner()
        self._service_names = Interner()
        self._edges = Columns(len(_INT_COLUMNS), len(_FLOAT_COLUMNS))
        self._services = Columns(2, 0)
        self._sums: dict[WindowRanges, WindowSums] = {}  # most recently used last
        self._group_servers = GroupServers()
        self._older = OlderSums(lambda fine, hours, env: self.store.range_rows(fine, hours, env), store.bucket_seconds)
        self._older_series = OlderSeries(store)
        self._spans = SpanSums(self._edges, self._inbound_columns, self._group_servers, store.bucket_seconds)
        self._edge_names = EdgeNames()

    # ------------------------------------------------------------------ keeping current

    def refresh(self, force: bool = False) -> None:
        """Fetch what changed since the last refresh (at most every refresh_seconds unless forced)."""
        with self._lock:
            self._refresh(force)

    def _refresh(self, force: bool) -> None:
        now = time.monotonic()
        if not force and self._loaded_at is not None and now - self._loaded_at < self.refresh_seconds:
            return
        horizon = (int(self.clock() - self.days * DAY) // HOUR) * HOUR
        if self._watermark is None:
            self._load(horizon, now)
            return
        if horizon - self._horizon >= DAY:  # let a day of old rows go at once
            self._let_go(horizon)
        changes = self.store.read_changes(self._watermark, self._horizon, self._compactions, self._until,
                                          take=self._take, chunk=self.chunk)
        if changes.below_horizon or changes.compactions != self._compactions:
            self._forget_older()
        self._watermark, self._compactions, self._loaded_at = changes.watermark, changes.compactions, now
        until = self._ahead()
        if until > self._until:
            # The clock moved on: take in the buckets it reached, whole rows from a newer snapshot (rows
            # changed after this refresh's watermark are read again by the next one: same values).
            self.store.read_changes(None, self._until, self._compactions, until, take=self._take, chunk=self.chunk)
            self._until = until

    def _forget_older(self, new_horizon: int | None = None) -> None:
        """Something before the horizon changed: the kept older parts are summed again when next asked.
        With `new_horizon` (days let go), the spans summed from rows after it stay."""
        self._older.forget()
        self._older_series.forget()
        if new_horizon is None:
            self._spans.clear()
        else:
            self._spans.forget_before(new_horizon)

    def _ahead(self) -> int:
        """The end of the mirrored buckets now: the clock's hour plus AHEAD_SECONDS."""
        return (int(self.clock()) // HOUR) * HOUR + AHEAD_SECONDS

    def _take(self, changes: ChangeSet) -> None:
        """Take in what a snapshot says: first (a call without rows) what compaction deleted, then
        rows a chunk at a time, letting go of the oldest days as soon as they do not fit."""
        if not changes.edges and not changes.services:
            if changes.compactions != self._compactions:
                self._forget_compacted(changes)
            return
        horizon = self._horizon  # it may have moved up while this snapshot was read
        if any(row[0] < horizon for _, row in changes.edges) or any(row[0] < horizon for _, row in changes.services):
            changes = dataclasses.replace(changes, edges=[r for r in changes.edges if r[1][0] >= horizon],
                                          services=[r for r in changes.services if r[1][0] >= horizon])
        self._apply_edges(changes)
        self._apply_services(changes)
        self._check_size()

    def _load(self, horizon: int, now: float) -> None:
        """The first load, a few hours of rows at a time (only those are ever held as Python rows).

        The chunks come from different snapshots; the next refresh starts from the first chunk's
        watermark and compaction count, so it re-reads whatever changed while loading.
        """
        self._horizon = self._until = horizon
        first: ChangeSet | None = None
        start, until = horizon, self._ahead()
        while start < until:
            end = min(start + _LOAD_STEP, until)  # the last chunk ends AHEAD_SECONDS past the clock
            changes = self.store.read_changes(None, start, self._compactions, end, take=self._take, chunk=self.chunk)
            first = first or changes
            self._until = end
            start = end
        if first is not None:
            self._watermark, self._compactions, self._loaded_at = first.watermark, first.compactions, now

    def rows(self) -> tuple[int, int]:
        """Edge rows and service rows held."""
        return self._edges.size - self._edges.dead, self._services.size - self._services.dead

    def _check_size(self) -> None:
        """Past max_rows edge rows (or as many service rows) let go of the oldest day (hour, within
        the last day) until the rest fits; windows reaching before it have that part summed in SQL."""
        horizon = self._horizon
        while max(self.rows()) > self.max_rows and self._horizon < self._until:
            step = DAY if self._until - self._horizon > DAY + AHEAD_SECONDS else HOUR
            self._let_go(min(self._horizon + step, self._until))
        if self._horizon != horizon:
            log.warning("query_mirror_max_rows=%d: the query mirror holds buckets from %s on (%d edge rows, "
                        "%d service rows); windows reaching before are summed in the database for that part",
                        self.max_rows, time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime(self._horizon)),
                        *self.rows())

    def _let_go(self, horizon: int) -> None:
        """Forget the rows before a new horizon."""
        self._horizon = horizon
        if self._edges.delete(self._edges.bucket[: self._edges.size] < horizon):
            self._sums.clear()
        self._services.delete(self._services.bucket[: self._services.size] < horizon)
        self._forget_older(horizon)

    def _forget_compacted(self, changes: ChangeSet) -> None:
        """Drop what a compaction deleted: fine rows below its cutoff, any row past retention."""
        for columns in (self._edges, self._services):
            n = columns.size
            bucket = columns.bucket[:n]
            fine = columns.resolution[:n] == FINE
            if columns.delete((bucket < changes.expired) | (fine & (bucket < changes.fine_cutoff))):
                self._sums.clear()  # sums cannot subtract a deleted row's first/last seen: build afresh

    def _apply_edges(self, changes: ChangeSet) -> None:
        if not changes.edges:
            return
        keys, kinds = [], []
        for resolution, row in changes.edges:
            bucket, client, server, ctype, env = row[_KEY]
            keys.append((resolution, int(bucket), self._edge_keys((client, server, ctype)), self._envs(env)))
            kinds.append((self._kinds(row[_CLIENT_KIND]), self._kinds(row[_SERVER_KIND])))
        rows = [row for _, row in changes.edges]
        ints = np.array([[row[i] for i in _INT_COLUMNS] for row in rows], np.int64)
        floats = np.array([[row[i] for i in _FLOAT_COLUMNS] for row in rows], np.float64)
        put = self._edges.put(keys, ints, floats, [int(r[_FIRST]) for r in rows], [int(r[_LAST]) for r in rows],
                              kinds, [r[_EXEMPLARS] or "" for r in rows])
        for sums in self._sums.values():
            sums.apply(self._edges, put, self._kinds.values)
        self._spans.changed(min(key[1] for key in keys))

    def _apply_services(self, changes: ChangeSet) -> None:
        if not changes.services:
            return
        at = SERVICE_AT
        keys = [(resolution, int(row[at["bucket"]]), self._service_names(row[at["service"]]),
                 self._envs(row[at["environment"]])) for resolution, row in changes.services]
        rows = [row for _, row in changes.services]
        ints = np.array([[row[i] for i in _SERVICE_INTS] for row in rows], np.int64)
        self._services.put(keys, ints, np.zeros((len(rows), 0)), [int(r[_SERVICE_FIRST]) for r in rows],
                           [int(r[_SERVICE_LAST]) for r in rows], [(0, 0)] * len(rows), [""] * len(rows))

    def _parts(self, window: Window) -> tuple[Window | None, Window | None]:
        """The part of a window summed in SQL and the part answered from memory (None: no such part).

        The horizon is hour-aligned, so both parts together read the window's buckets exactly.
        """
        start, end = bucket_range(window, HOUR)
        if self._watermark is None or self.days <= 0 or end > self._until or window.end <= self._horizon:
            return window, None
        if start >= self._horizon:
            return None, window
        return Window(window.start, self._horizon), Window(self._horizon, window.end)

    def _env_id(self, env: str | None) -> int | None:
        return None if env is None else self._envs.ids.get(env, -1)

    # ------------------------------------------------------------------ reads

    def edges(self, window: Window, env: str | None = None) -> list[EdgeRow]:
        """Edges with activity in the window, summed over it."""
        return self.window_rows(window, env)[1].rows()

    def edge_table(self, window: Window, env: str | None = None) -> EdgeTable:
        """Edges of the window as columns."""
        return self.window_rows(window, env)[1]

    def services(self, window: Window, env: str | None = None) -> list[ServiceRow]:
        """Services seen in the window."""
        return self.window_rows(window, env)[0]

    def window_rows(self, window: Window, env: str | None = None) -> tuple[list[ServiceRow], EdgeTable]:
        """The services and edges of a window after one refresh (the two agree on what was committed):
        from memory, from SQL, or the older part from SQL merged with the newer from memory."""
        with self._lock:
            self._refresh(False)
            older, newer = self._parts(window)
            if newer is not None:
                services = self._services_locked(newer, env)
                finish = self._edge_table_locked(newer, env)
        if newer is None:
            return self.store.window_rows(window, env)
        if older is None:
            return services, finish()
        part = self._older.get(older, env)
        return merge_services(part.services, services), merge_edges(part.edges, finish())

    def topology(self, window: Window, env: str | None = None) -> TopologyRows:
        """Who calls whom and which services were seen, with a digest of that content when the
        window is (at least partly) mirrored."""
        with self._lock:
            self._refresh(False)
            older, newer = self._parts(window)
            if newer is not None:
                key, read = self._topology_locked(newer, env)
        if newer is None:
            return self.store.topology(window, env)
        if older is None:
            return TopologyRows(key, read)
        part = self._older.get(older, env)

        def merged() -> tuple[list[TopologyEdge], list[str]]:
            services, table = self.window_rows(window, env)
            edges = list(zip(table.client, table.server, table.client_kind, table.server_kind, strict=True))
            return edges, [s.service for s in services]

        return TopologyRows(hashlib.blake2b(part.token.to_bytes(8, "big") + key, digest_size=16).digest(), merged)

    def _topology_locked(self, window: Window, env: str | None) -> tuple[bytes, Callable[[], TopologyRowsData]]:
        """The digest of a mirrored window's topology and how to read it (after the lock)."""
        ranges = WindowRanges.of(window, self.bucket_seconds, self._env_id(env))
        group, kinds = self._window_sums(ranges).live_kinds()  # one slot per edge group
        by_group = np.argsort(group)
        group, kinds = group[by_group], np.ascontiguousarray(kinds[by_group])
        services = np.flatnonzero(np.bincount(self._services.group[self._services.select(ranges)],
                                              minlength=len(self._service_names.values)))
        key = hashlib.blake2b(group.tobytes() + kinds.tobytes() + b"/" + services.tobytes(), digest_size=16).digest()
        # Interned values are only ever appended: these lists are safe to read after the lock.
        edge_keys, kind_names, names = self._edge_keys.values, self._kinds.values, self._service_names.values

        def read() -> TopologyRowsData:
            edges = [(*edge_keys[g][:2], kind_names[client], kind_names[server])
                     for g, (client, server) in zip(group.tolist(), kinds.tolist(), strict=True)]
            return edges, [names[g] for g in services.tolist()]

        return key, read

    def _edge_table_locked(self, window: Window, env: str | None) -> Callable[[], EdgeTable]:
        """Read what the window's edge table needs (under the lock); the returned call builds it."""
        sums = self._window_sums(WindowRanges.of(window, self.bucket_seconds, self._env_id(env)))
        view = sums.view()
        ints, floats, exemplars = view.ints, view.floats, view.exemplars or []
        keys, kind_names = self._edge_keys.values, self._kinds.values
        order, states = sums.order(keys), sums.states()
        first, last = view.first.tolist(), view.last.tolist()

        def build() -> EdgeTable:
            names = self._edge_names.of(view.group, view.kinds, keys, kind_names)
            return EdgeTable(
                names.client, names.server, names.connection_type, names.client_kind, names.server_kind,
                ints[:, _CALLS].tolist(), ints[:, _FAILED].tolist(), floats[:, 0].tolist(), floats[:, 1].tolist(),
                floats[:, 2].tolist(), ints[:, _QUEUE_COUNT].tolist(), ints[:, _CLIENT_HIST], ints[:, _SERVER_HIST],
                first, last,
                exemplars, order, states, names.adjacency,
            )

        return build

    def _window_sums(self, ranges: WindowRanges) -> WindowSums:
        """The kept sums of a window: as they are, moved from a window like it, or built."""
        sums = self._sums.pop(ranges, None) or self._moved(ranges)  # re-inserted: most recent last
        if sums is None:
            sums = WindowSums(self._edges, ranges, self._kinds.values)
            while len(self._sums) >= _WINDOW_SUMS:
                self._sums.pop(next(iter(self._sums)))
        self._sums[ranges] = sums
        return sums

    def _moved(self, ranges: WindowRanges) -> WindowSums | None:
        """Kept sums of a window as long, in the same environment, moved to these ranges (a window
        ending "now" after the next bucket began), or None."""
        def alike(r: WindowRanges) -> bool:  # as long to within an hour (ends round to whole buckets)
            return (r.env == ranges.env and abs((r.fine[1] - r.fine[0]) - (ranges.fine[1] - ranges.fine[0])) <= HOUR
                    and abs((r.hours[1] - r.hours[0]) - (ranges.hours[1] - ranges.hours[0])) <= HOUR)

        for kept in reversed(list(self._sums)):
            if alike(kept):
                sums = self._sums.pop(kept)
                if sums.move_to(self._edges, ranges, self._kinds.values):
                    return sums
                self._sums[kept] = sums
                return None
        return None

    def _services_locked(self, window: Window, env: str | None) -> list[ServiceRow]:
        """The window's services summed by service id (bincount: no sort of the rows)."""
        columns = self._services
        rows = columns.select(WindowRanges.of(window, self.bucket_seconds, self._env_id(env)))
        if not len(rows):
            return []
        group, size = columns.group[rows], len(self._service_names.values)
        seen = np.flatnonzero(np.bincount(group, minlength=size))
        spans = np.bincount(group, columns.ints[rows, 0], size)[seen].astype(np.int64).tolist()
        errors = np.bincount(group, columns.ints[rows, 1], size)[seen].astype(np.int64).tolist()
        first = np.full(size, np.iinfo(np.int64).max, np.int64)
        last = np.full(size, np.iinfo(np.int64).min, np.int64)
        np.minimum.at(first, group, columns.first[rows])
        np.maximum.at(last, group, columns.last[rows])
        names = self._service_names.values
        return [ServiceRow(names[g], s, e, f, la) for g, s, e, f, la in zip(
            seen.tolist(), spans, errors, first[seen].tolist(), last[seen].tolist(), strict=True)]
