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
    a service's calls reach `min_failed` failed ones and a failed share of `error_ratio`."""
    group = edges.group[rows]
    keep = ~servers.self_call[group]
    rows, group = rows[keep], group[keep]
    service = servers.server[group]
    bucket = edges.bucket[rows]
    seconds = np.where(edges.resolution[rows] == FINE, fine_seconds, HOUR)
    calls, failed = edges.ints[rows, calls_at], edges.ints[rows, failed_at]
    if unmatched:
        service = np.concatenate([service, [servers.names(r[0]) for r in unmatched]])
        bucket = np.concatenate([bucket, [r[1] for r in unmatched]])
        seconds = np.concatenate([seconds, [r[2] for r in unmatched]])
        calls = np.concatenate([calls, [r[3] for r in unmatched]])
        failed = np.concatenate([failed, [r[4] for r in unmatched]])
    if hourly:
        bucket, seconds = bucket // HOUR * HOUR, np.full(len(bucket), HOUR)
    if not len(bucket):
        return []
    # One integer per (service, slot, length): slots are multiples of the fine bucket, lengths it or an hour.
    key = (service << 32 | bucket // fine_seconds) << 1 | (seconds == HOUR)
    keys, inverse = np.unique(key, return_inverse=True)
    call_sums = np.bincount(inverse, weights=calls, minlength=len(keys)).astype(np.int64)
    failed_sums = np.bincount(inverse, weights=failed, minlength=len(keys)).astype(np.int64)
    passing = (call_sums > 0) & (failed_sums >= min_failed) & (failed_sums >= error_ratio * call_sums)
    out = []
    for k, c, f in zip(keys[passing].tolist(), call_sums[passing].tolist(), failed_sums[passing].tolist(), strict=True):
        start = ((k >> 1) & 0xFFFFFFFF) * fine_seconds
        out.append(InboundBucket(servers.names.values[k >> 33], start, HOUR if k & 1 else fine_seconds, c, f, ()))
    return out
