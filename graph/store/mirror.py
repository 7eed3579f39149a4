"""The recent aggregates of a SQL store, held in memory as columns and kept current by change number.

Summing a week of buckets in SQL takes seconds at 20 000 edges (hundreds of thousands of rows,
fifty counters each); the API asks for such windows all the time. A `MirroredStore` loads the
rows of the last `days` once, then before each query (at most every `refresh_seconds`) fetches
only the rows whose `seq` changed since it last looked (graph.store.base.SqlStore.read_changes)
and applies deletions made by compaction. A window inside the mirrored span is summed with numpy
over the rows in memory; anything older goes to SQL. Answers equal the SQL ones (the store
contract suite runs on both).
"""

from __future__ import annotations

import hashlib
import threading
import time
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from graph.model import HISTOGRAM_SIZE, MAX_EXEMPLARS, Window
from graph.store.base import (
    HOUR,
    ChangeSet,
    EdgeRow,
    ServiceRow,
    SqlStore,
    Store,
    TopologyEdge,
    TopologyRows,
    bucket_range,
)

DAY = 86_400
FINE, HOURLY = 0, 1
_KIND_CODES = 256  # node kinds are a handful of words; codes pack (edge, client kind, server kind)

# Positions in a row of EDGE_COLUMNS.
_KEY, _KINDS, _CALLS = slice(0, 5), slice(5, 7), 7
_INT_COLUMNS = [7, 8, 12, *range(13, 13 + 2 * HISTOGRAM_SIZE)]  # calls, failed, queue_count, histograms
_FLOAT_COLUMNS = [9, 10, 11]  # client_sum, server_sum, queue_sum
_FIRST = 13 + 2 * HISTOGRAM_SIZE
_LAST, _EXEMPLARS = _FIRST + 1, _FIRST + 2


class _Interner:
    """Small integer ids for repeated values (edge keys, environments, kinds, services)."""

    def __init__(self) -> None:
        self.ids: dict[Any, int] = {}
        self.values: list[Any] = []

    def __call__(self, value: Any) -> int:
        found = self.ids.get(value)
        if found is None:
            found = self.ids[value] = len(self.values)
            self.values.append(value)
        return found


class _Columns:
    """Growable numpy columns with a key → row index; a deleted row is marked invalid."""

    def __init__(self, int_width: int, float_width: int) -> None:
        self.size = 0
        self.dead = 0
        self.index: dict[tuple[int, int, int, int], int] = {}  # (resolution, bucket, group, env) → row
        self.resolution = np.zeros(0, np.int8)
        self.bucket = np.zeros(0, np.int64)
        self.group = np.zeros(0, np.int64)
        self.env = np.zeros(0, np.int64)
        self.valid = np.zeros(0, bool)
        self.ints = np.zeros((0, int_width), np.int64)
        self.floats = np.zeros((0, float_width), np.float64)
        self.first = np.zeros(0, np.int64)
        self.last = np.zeros(0, np.int64)
        self.kinds = np.zeros((0, 2), np.int64)  # client and server kind ids (edges only)
        self.extra: list[Any] = []  # per row: its exemplars (edges only)

    _ARRAYS = ("resolution", "bucket", "group", "env", "valid", "ints", "floats", "first", "last", "kinds")

    def _grow(self, needed: int) -> None:
        capacity = len(self.bucket)
        if needed <= capacity:
            return
        capacity = max(needed, capacity * 2, 1024)
        for name in self._ARRAYS:
            old = getattr(self, name)
            new = np.zeros((capacity, *old.shape[1:]), old.dtype)
            new[: self.size] = old[: self.size]
            setattr(self, name, new)

    def put(self, keys: list[tuple[int, int, int, int]], ints: np.ndarray, floats: np.ndarray,
            first: Sequence[int], last: Sequence[int], kinds: Sequence[tuple[int, int]], extra: list[Any]) -> None:
        """Insert rows, or replace the rows with the same keys (the store sends whole rows)."""
        positions_list, fresh = [], 0
        for key in keys:
            row = self.index.get(key)
            if row is None:
                row = self.index[key] = self.size + fresh
                fresh += 1
            positions_list.append(row)
        self._grow(self.size + fresh)
        self.extra.extend([None] * fresh)
        self.size += fresh
        positions = np.array(positions_list, np.int64)
        key_columns = np.array(keys, np.int64).reshape(len(keys), 4)
        self.resolution[positions] = key_columns[:, 0]
        self.bucket[positions] = key_columns[:, 1]
        self.group[positions] = key_columns[:, 2]
        self.env[positions] = key_columns[:, 3]
        self.valid[positions] = True
        self.ints[positions] = ints
        self.floats[positions] = floats
        self.first[positions] = first
        self.last[positions] = last
        self.kinds[positions] = np.array(kinds, np.int64).reshape(len(keys), 2)
        for i, row in enumerate(positions.tolist()):
            self.extra[row] = extra[i]

    def delete(self, mask: np.ndarray) -> None:
        """Forget the (valid) rows selected by a boolean mask over the first `size` rows."""
        rows = np.flatnonzero(mask & self.valid[: self.size])
        if not len(rows):
            return
        self.valid[rows] = False
        for row in rows.tolist():
            key = (int(self.resolution[row]), int(self.bucket[row]), int(self.group[row]), int(self.env[row]))
            del self.index[key]
        self.dead += len(rows)
        if self.dead > self.size // 2:
            self._pack()

    def _pack(self) -> None:
        """Drop deleted rows so the arrays stay proportional to the live data."""
        keep = np.flatnonzero(self.valid[: self.size])
        for name in self._ARRAYS:
            setattr(self, name, getattr(self, name)[keep].copy())
        self.extra = [self.extra[row] for row in keep.tolist()]
        self.size, self.dead = len(keep), 0
        self.index = {
            (int(r), int(b), int(g), int(e)): row
            for row, (r, b, g, e) in enumerate(zip(self.resolution.tolist(), self.bucket.tolist(),
                                                   self.group.tolist(), self.env.tolist(), strict=True))
        }

    def select(self, window: Window, bucket_seconds: int, env: int | None) -> np.ndarray:
        """Rows of a window, with the same bucket ranges as the SQL (graph.store.base.window_params)."""
        n = self.size
        fine_start, fine_end = bucket_range(window, bucket_seconds)
        hour_start, hour_end = bucket_range(window, HOUR)
        bucket = self.bucket[:n]
        fine = self.resolution[:n] == FINE
        in_fine = (bucket >= fine_start) & (bucket < fine_end)
        in_hours = (bucket >= hour_start) & (bucket < hour_end)
        mask = self.valid[:n] & np.where(fine, in_fine, in_hours)
        if env is not None:
            mask &= self.env[:n] == env
        return np.flatnonzero(mask)


def _groups(rows: np.ndarray, group: np.ndarray, last: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Rows sorted by group (then last_seen), each group's first position and its latest row."""
    order = np.lexsort((last[rows], group[rows]))
    rows = rows[order]
    groups = group[rows]
    starts = np.flatnonzero(np.r_[True, groups[1:] != groups[:-1]]) if len(rows) else np.zeros(0, np.int64)
    latest = rows[np.r_[starts[1:], len(rows)] - 1] if len(rows) else rows
    return rows, starts, latest


def _exemplar_ids(joined: str) -> list[str]:
    """Distinct trace ids of a comma-joined exemplars column (as EdgeRow.from_sql reads it)."""
    return [e for e in dict.fromkeys(joined.split(",")) if e][:MAX_EXEMPLARS]


class MirroredStore(Store):
    """A SQL store whose recent edge and service aggregates are also held in memory (read side).

    Writes, hints and everything else go to the wrapped store. Thread-safe: refreshes and the
    summing of a window take one lock.
    """

    def __init__(self, store: SqlStore, days: float = 8.0, refresh_seconds: float = 1.0,
                 clock: Callable[[], float] = time.time) -> None:
        self.store = store
        self.bucket_seconds = store.bucket_seconds
        self.days = days
        self.refresh_seconds = refresh_seconds
        self.clock = clock
        self._lock = threading.RLock()  # reentrant: a fallback to the SQL path may call back in
        self._loaded_at: float | None = None
        self._watermark: int | None = None
        self._compactions = 0
        self._horizon = 0
        self._edge_keys = _Interner()  # (client, server, connection_type)
        self._envs = _Interner()
        self._kinds = _Interner()
        self._service_names = _Interner()
        self._edges = _Columns(len(_INT_COLUMNS), len(_FLOAT_COLUMNS))
        self._services = _Columns(2, 0)

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
            self._horizon = horizon
        elif horizon - self._horizon >= DAY:  # let a day of old rows go at once
            self._horizon = horizon
            self._edges.delete(self._edges.bucket[: self._edges.size] < horizon)
            self._services.delete(self._services.bucket[: self._services.size] < horizon)
        changes = self.store.read_changes(self._watermark, self._horizon, self._compactions)
        if self._watermark is not None and changes.compactions != self._compactions:
            self._forget_compacted(changes)
        self._apply_edges(changes)
        self._apply_services(changes)
        self._watermark, self._compactions, self._loaded_at = changes.watermark, changes.compactions, now

    def _forget_compacted(self, changes: ChangeSet) -> None:
        """Drop what a compaction deleted: fine rows below its cutoff, any row past retention."""
        for columns in (self._edges, self._services):
            n = columns.size
            bucket = columns.bucket[:n]
            fine = columns.resolution[:n] == FINE
            columns.delete((bucket < changes.expired) | (fine & (bucket < changes.fine_cutoff)))

    def _apply_edges(self, changes: ChangeSet) -> None:
        if not changes.edges:
            return
        keys, kinds = [], []
        for resolution, row in changes.edges:
            bucket, client, server, ctype, env = row[_KEY]
            keys.append((resolution, int(bucket), self._edge_keys((client, server, ctype)), self._envs(env)))
            kinds.append((self._kinds(row[5]), self._kinds(row[6])))
        rows = [row for _, row in changes.edges]
        ints = np.array([[row[i] for i in _INT_COLUMNS] for row in rows], np.int64)
        floats = np.array([[row[i] for i in _FLOAT_COLUMNS] for row in rows], np.float64)
        self._edges.put(keys, ints, floats, [int(r[_FIRST]) for r in rows], [int(r[_LAST]) for r in rows], kinds,
                        [r[_EXEMPLARS] or "" for r in rows])

    def _apply_services(self, changes: ChangeSet) -> None:
        if not changes.services:
            return
        keys = [(resolution, int(row[0]), self._service_names(row[1]), self._envs(row[2]))
                for resolution, row in changes.services]
        rows = [row for _, row in changes.services]
        ints = np.array([[row[3], row[4]] for row in rows], np.int64)
        self._services.put(keys, ints, np.zeros((len(rows), 0)), [int(r[5]) for r in rows],
                           [int(r[6]) for r in rows], [(0, 0)] * len(rows), [""] * len(rows))

    def _covers(self, window: Window) -> bool:
        return bucket_range(window, HOUR)[0] >= self._horizon and self.days > 0

    def _env_id(self, env: str | None) -> int | None:
        return None if env is None else self._envs.ids.get(env, -1)

    # ------------------------------------------------------------------ reads

    def edges(self, window: Window, env: str | None = None) -> list[EdgeRow]:
        """Edges with activity in the window, summed over it (in memory when the window is recent)."""
        with self._lock:
            self._refresh(False)
            if not self._covers(window):
                return self.store.edges(window, env)
            columns = self._edges
            rows = columns.select(window, self.bucket_seconds, self._env_id(env))
            rows, starts, latest = _groups(rows, columns.group, columns.last)
            if not len(rows):
                return []
            ints = np.add.reduceat(columns.ints[rows], starts, axis=0)
            floats = np.add.reduceat(columns.floats[rows], starts, axis=0).tolist()
            first = np.minimum.reduceat(columns.first[rows], starts).tolist()
            last = columns.last[latest].tolist()
            groups = columns.group[rows[starts]].tolist()
            kinds = self._group_kinds(rows, starts)
            exemplars = [columns.extra[row] for row in latest.tolist()]
            keys = self._edge_keys.values
        n = HISTOGRAM_SIZE
        calls, failed, queue_count = ints[:, 0].tolist(), ints[:, 1].tolist(), ints[:, 2].tolist()
        client_hist, server_hist = ints[:, 3:3 + n].tolist(), ints[:, 3 + n:3 + 2 * n].tolist()
        return [
            EdgeRow(*keys[group], *kinds[i], calls[i], failed[i], *floats[i], queue_count[i], client_hist[i],
                    server_hist[i], first[i], last[i], _exemplar_ids(exemplars[i]))
            for i, group in enumerate(groups)
        ]

    def _group_kinds(self, rows: np.ndarray, starts: np.ndarray) -> list[list[str]]:
        """MIN(client_kind), MIN(server_kind) per group, as the SQL takes them (by string order)."""
        kinds = self._kinds.values
        by_rank = sorted(range(len(kinds)), key=kinds.__getitem__)
        rank_of = np.empty(len(kinds), np.int64)
        rank_of[by_rank] = np.arange(len(kinds))
        ranks = np.minimum.reduceat(rank_of[self._edges.kinds[rows]], starts, axis=0)
        return np.array([kinds[k] for k in by_rank], dtype=object)[ranks].tolist()

    def topology(self, window: Window, env: str | None = None) -> TopologyRows:
        """Who calls whom and which services were seen, without summing counters, with a digest
        of that content: the distinct (edge, kinds) codes of the window's rows and its services."""
        with self._lock:
            self._refresh(False)
            if not self._covers(window) or len(self._kinds.values) >= _KIND_CODES:
                return super().topology(window, env)
            env_id = self._env_id(env)
            edges = self._edges
            rows = edges.select(window, self.bucket_seconds, env_id)
            kinds = edges.kinds[rows]
            codes = np.unique((edges.group[rows] * _KIND_CODES + kinds[:, 0]) * _KIND_CODES + kinds[:, 1])
            services = np.unique(self._services.group[self._services.select(window, self.bucket_seconds, env_id)])
            key = hashlib.blake2b(codes.tobytes() + b"/" + services.tobytes(), digest_size=16).digest()
            # Interned values are only ever appended: these lists are safe to read after the lock.
            edge_keys, kind_names, names = self._edge_keys.values, self._kinds.values, self._service_names.values

        def read() -> tuple[list[TopologyEdge], list[str]]:
            found: dict[int, tuple[str, str]] = {}
            for code in codes.tolist():  # by edge, then kinds: several kinds of one edge take the least
                group, rest = divmod(code, _KIND_CODES * _KIND_CODES)
                client_kind, server_kind = (kind_names[k] for k in divmod(rest, _KIND_CODES))
                if group in found:
                    client_kind, server_kind = min(found[group][0], client_kind), min(found[group][1], server_kind)
                found[group] = (client_kind, server_kind)
            out = [(*edge_keys[group][:2], *pair) for group, pair in found.items()]
            return out, [names[g] for g in services.tolist()]

        return TopologyRows(key, read)

    def services(self, window: Window, env: str | None = None) -> list[ServiceRow]:
        """Services seen in the window (in memory when the window is recent)."""
        with self._lock:
            self._refresh(False)
            if not self._covers(window):
                return self.store.services(window, env)
            columns = self._services
            rows = columns.select(window, self.bucket_seconds, self._env_id(env))
            rows, starts, latest = _groups(rows, columns.group, columns.last)
            if not len(rows):
                return []
            sums = np.add.reduceat(columns.ints[rows], starts, axis=0).tolist()
            first = np.minimum.reduceat(columns.first[rows], starts).tolist()
            last = columns.last[latest].tolist()
            names = [self._service_names.values[g] for g in columns.group[rows[starts]].tolist()]
        return [ServiceRow(name, s[0], s[1], f, la) for name, s, f, la in zip(names, sums, first, last, strict=True)]

    # ------------------------------------------------------------------ everything else: the store

    def write(self, batch: Any) -> None:
        """Writes go to the store (and reach the mirror at its next refresh)."""
        self.store.write(batch)

    def hints(self) -> dict[str, dict[str, str]]:
        """The latest resource hints of every service."""
        return self.store.hints()

    def record_report(self, window_end: int, findings: list[tuple[str, str]], created_at: int,
                      orphans_since: dict[str, int] | None = None) -> None:
        """Remember a report run."""
        self.store.record_report(window_end, findings, created_at, orphans_since)

    def report_orphans_since(self, window_end: int) -> dict[str, int]:
        """When each orphan of a recorded run became orphaned."""
        return self.store.report_orphans_since(window_end)

    def report_history(self, before: int, limit: int = 60) -> list[tuple[int, set[tuple[str, str]]]]:
        """Recorded report runs."""
        return self.store.report_history(before, limit)

    def compact(self, now: float, retention_days: int) -> None:
        """Compaction runs on the store; the mirror learns of it at its next refresh."""
        self.store.compact(now, retention_days)

    def claim(self, name: str, run_key: int, now: float) -> bool:
        """Claim one run of a job."""
        return self.store.claim(name, run_key, now)

    def ping(self) -> None:
        """Raise when the store cannot be reached."""
        self.store.ping()

    def close(self) -> None:
        """Close the store."""
        self.store.close()
