"""On-call's failing buckets (`Store.failing`) from the query mirror's columns instead of SQL."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from graph.store.columns import FINE, Columns, Interner
from graph.store.schema import HOUR
from graph.store.series import InboundBucket


class GroupServers:
    """Per edge group (an id of the mirror's edge-key interner): its server's id, and whether it is a
    self-call; extended as the interner grows (ids are only ever added)."""

    def __init__(self) -> None:
        self.names = Interner()  # service names by id (rule 11's rows add theirs)
        self._server: list[int] = []
        self._self: list[bool] = []
        self.server = np.zeros(0, np.int64)
        self.self_call = np.zeros(0, bool)

    def update(self, keys: Sequence[tuple[str, str, str]]) -> None:
        """Take in the edge keys (client, server, connection_type) added since the last call."""
        if len(keys) == len(self._server):
            return
        for client, server, _ in keys[len(self._server):]:
            self._server.append(self.names(server))
            self._self.append(client == server)
        self.server = np.array(self._server, np.int64)
        self.self_call = np.array(self._self, bool)


def failing_slots(
    edges: Columns, rows: np.ndarray, calls_at: int, failed_at: int, servers: GroupServers,
    unmatched: Sequence[tuple[str, int, int, int, int]], fine_seconds: int, hourly: bool, min_failed: int,
    error_ratio: float,
) -> list[InboundBucket]:
    """The slots (buckets, or hours when `hourly`) of the given edge rows plus rule 11's rows in which
    a service's calls reach `min_failed` failed ones and a failed share of `error_ratio`.

    With `min_failed` > 0 only slots holding a failed call can pass: the rows with failed calls (a few
    per cent) are summed first, and the calls only of the slots that reach `min_failed` failed ones."""
    rows = rows[~servers.self_call[edges.group[rows]]]
    failed = edges.ints[rows, failed_at]
    extra = _unmatched(unmatched, servers, fine_seconds, hourly)
    chosen: np.ndarray | slice = slice(None)
    if min_failed > 0:
        some = failed > 0
        candidates = _with_failed(np.concatenate([_edge_keys(edges, rows[some], servers, fine_seconds, hourly),
                                                  extra[0]]), np.concatenate([failed[some], extra[2]]), min_failed)
        if not len(candidates):
            return []
        key = np.concatenate([_edge_keys(edges, rows, servers, fine_seconds, hourly), extra[0]])
        chosen = np.isin(key, candidates)
    else:
        key = np.concatenate([_edge_keys(edges, rows, servers, fine_seconds, hourly), extra[0]])
    calls = np.concatenate([edges.ints[rows, calls_at], extra[1]])[chosen]
    failed = np.concatenate([failed, extra[2]])[chosen]
    keys, inverse = np.unique(key[chosen], return_inverse=True)
    call_sums = np.bincount(inverse, weights=calls, minlength=len(keys)).astype(np.int64)
    failed_sums = np.bincount(inverse, weights=failed, minlength=len(keys)).astype(np.int64)
    passing = (call_sums > 0) & (failed_sums >= min_failed) & (failed_sums >= error_ratio * call_sums)
    out = []
    for k, c, f in zip(keys[passing].tolist(), call_sums[passing].tolist(), failed_sums[passing].tolist(), strict=True):
        start = ((k >> 1) & 0xFFFFFFFF) * fine_seconds
        out.append(InboundBucket(servers.names.values[k >> 33], start, HOUR if k & 1 else fine_seconds, c, f, ()))
    return out


def _slot_keys(service: np.ndarray, bucket: np.ndarray, seconds: np.ndarray, fine_seconds: int,
               hourly: bool) -> np.ndarray:
    """One integer per (service, slot, length): slots are multiples of the fine bucket, lengths it or an hour."""
    if hourly:
        bucket, seconds = bucket // HOUR * HOUR, np.full(len(bucket), HOUR)
    return (service.astype(np.int64) << 32 | bucket // fine_seconds) << 1 | (seconds == HOUR)


def _edge_keys(edges: Columns, rows: np.ndarray, servers: GroupServers, fine_seconds: int, hourly: bool) -> np.ndarray:
    """The slot keys of edge rows (calls into their servers)."""
    seconds = np.where(edges.resolution[rows] == FINE, fine_seconds, HOUR)
    return _slot_keys(servers.server[edges.group[rows]], edges.bucket[rows], seconds, fine_seconds, hourly)


def _unmatched(unmatched: Sequence[tuple[str, int, int, int, int]], servers: GroupServers, fine_seconds: int,
               hourly: bool) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Rule 11's rows (service, bucket, seconds, calls, failed) as slot keys, calls and failed calls."""
    columns = [np.array([r[i] for r in unmatched], np.int64) for i in range(1, 5)]
    service = np.array([servers.names(r[0]) for r in unmatched], np.int64)
    return _slot_keys(service, columns[0], columns[1], fine_seconds, hourly), columns[2], columns[3]


def _with_failed(key: np.ndarray, failed: np.ndarray, min_failed: int) -> np.ndarray:
    """The slot keys whose rows hold at least `min_failed` (> 0) failed calls, from the rows with any
    (a few per cent of them: much less to sort than every row)."""
    some = failed > 0
    keys, inverse = np.unique(key[some], return_inverse=True)
    return keys[np.bincount(inverse, weights=failed[some], minlength=len(keys)) >= min_failed]
