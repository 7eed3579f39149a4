"""Calls from callers that never report (DESIGN §2 rule 11): SERVER spans whose parent never arrived.

They make no edge (a dropped client span must not look like a user), but each counts for its
service, per bucket and environment: calls, failed calls and a server-duration histogram. The
aggregator keeps these in its batch (`AggregateBatch.unmatched`); the store keeps them in
`unmatched_in_buckets` and their hourly rollups `unmatched_in_hours` (graph.store.unmatched).
"""

from __future__ import annotations

from bisect import bisect_left
from operator import add

from graph.model import HISTOGRAM_SIZE, LATENCY_BUCKETS

UnmatchedKey = tuple[int, str, str]  # bucket, service, environment


class UnmatchedAggregate:
    """Counters of the unmatched inbound calls of one service in one bucket."""

    __slots__ = ("calls", "failed", "server_hist")

    def __init__(self) -> None:
        self.calls = 0
        self.failed = 0
        self.server_hist = [0] * HISTOGRAM_SIZE

    def count(self, failed: bool, seconds: float) -> None:
        """One more call."""
        self.calls += 1
        if failed:
            self.failed += 1
        self.server_hist[bisect_left(LATENCY_BUCKETS, seconds)] += 1

    def merge(self, other: UnmatchedAggregate) -> None:
        """Add another aggregate of the same key into this one."""
        self.calls += other.calls
        self.failed += other.failed
        self.server_hist = list(map(add, self.server_hist, other.server_hist))


def count_unmatched(table: dict[UnmatchedKey, UnmatchedAggregate], key: UnmatchedKey, failed: bool,
                    seconds: float) -> None:
    """Count one unmatched inbound call under `key`."""
    agg = table.get(key)
    if agg is None:
        agg = table[key] = UnmatchedAggregate()
    agg.count(failed, seconds)


def merge_unmatched(into: dict[UnmatchedKey, UnmatchedAggregate],
                    other: dict[UnmatchedKey, UnmatchedAggregate]) -> None:
    """Add `other`'s aggregates into `into` (a failed write's batch put back)."""
    for key, agg in other.items():
        kept = into.get(key)
        if kept is None:
            into[key] = agg
        else:
            kept.merge(agg)
