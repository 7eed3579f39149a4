"""Calls from callers that never report (DESIGN §2 rule 11): SERVER spans whose parent never arrived.

They make no edge (a dropped client span must not look like a user), but each counts for its
service, per bucket and environment: calls, failed calls and a server-duration histogram. The same
rows count each service's instrumentation signals (SIGNALS: unpaired client spans without a peer,
unmatched parents, spans resolved through learned addresses). The
aggregator keeps these in its batch (`AggregateBatch.unmatched`); the store keeps them in
`unmatched_in_buckets` and their hourly rollups `unmatched_in_hours` (graph.store.unmatched).
"""

from __future__ import annotations

from bisect import bisect_left
from operator import add

from graph.model import HISTOGRAM_SIZE, LATENCY_BUCKETS

UnmatchedKey = tuple[int, str, str]  # bucket, service, environment
# Instrumentation signals counted with them, per service and bucket (what a team's instrumentation misses).
SIGNALS = ("unpaired", "unmatched", "resolved")


class UnmatchedAggregate:
    """Counters of the unmatched inbound calls of one service in one bucket."""

    __slots__ = ("calls", "failed", "server_hist", *SIGNALS)

    def __init__(self) -> None:
        self.calls = 0
        self.failed = 0
        self.server_hist = [0] * HISTOGRAM_SIZE
        self.unpaired = 0  # CLIENT/PRODUCER spans that got no child and name no peer
        self.unmatched = 0  # SERVER/CONSUMER spans whose parent never arrived
        self.resolved = 0  # unpaired CLIENT spans counted on a service through a learned address (rule 9)

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
        for name in SIGNALS:
            setattr(self, name, getattr(self, name) + getattr(other, name))


def count_signal(table: dict[UnmatchedKey, UnmatchedAggregate], key: UnmatchedKey, signal: str,
                 failed: bool = False, seconds: float = 0.0) -> None:
    """Count one instrumentation signal under `key`; an unmatched SERVER span (`unmatched_in`) is also
    one call from a caller that never reports."""
    agg = table.get(key)
    if agg is None:
        agg = table[key] = UnmatchedAggregate()
    if signal == "unmatched_in":
        agg.count(failed, seconds)
        signal = "unmatched"
    setattr(agg, signal, getattr(agg, signal) + 1)


def merge_unmatched(into: dict[UnmatchedKey, UnmatchedAggregate],
                    other: dict[UnmatchedKey, UnmatchedAggregate]) -> None:
    """Add `other`'s aggregates into `into` (a failed write's batch put back)."""
    for key, agg in other.items():
        kept = into.get(key)
        if kept is None:
            into[key] = agg
        else:
            kept.merge(agg)
