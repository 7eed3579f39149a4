"""Good and total events of one store bucket for an objective's indicator (DESIGN §3a)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from graph.model import LATENCY_BUCKETS
from graph.store.series import InboundBucket
from ownership.objectives.model import Objective


@dataclass(frozen=True, slots=True)
class Events:
    """Good and total events (calls), and whether `good` was interpolated inside a histogram bucket."""

    good: float
    total: int
    approximate: bool = False

    @property
    def bad(self) -> float:
        """total - good."""
        return self.total - self.good


def within_threshold(hist: Sequence[int], threshold_ms: float) -> Events:
    """Calls of a server-duration histogram (per LATENCY_BUCKETS, +Inf last) within threshold_ms.

    Bucket i holds durations in (bound[i-1], bound[i]]: a threshold on a bound is exact; inside a
    bucket its calls count in proportion to how much of the bucket lies below the threshold (then
    `approximate`); the +Inf bucket always counts as over.
    """
    threshold = threshold_ms / 1000.0
    good = 0.0
    approximate = False
    lower = 0.0
    for count, upper in zip(hist, LATENCY_BUCKETS, strict=False):
        if upper <= threshold:
            good += count
        elif lower < threshold:
            good += count * (threshold - lower) / (upper - lower)
            approximate = approximate or count > 0
            break
        else:
            break
        lower = upper
    return Events(good, sum(hist), approximate)


def bucket_events(objective: Objective, bucket: InboundBucket) -> Events:
    """The objective's good/total calls in one bucket: not failed (availability), or within the
    threshold among calls with a server duration (latency; none when the threshold is unknown)."""
    if objective.sli == "availability":
        return Events(float(bucket.calls - bucket.failed), bucket.calls)
    if objective.threshold_ms is None:
        return Events(0.0, 0)
    return within_threshold(bucket.server_hist, objective.threshold_ms)


def total_events(items: Sequence[Events]) -> Events:
    """The sum of several buckets' events (one pass: every objective sums several windows per request)."""
    good: float = 0  # as sum() gives: 0, not 0.0, without items
    total, approximate = 0, False
    for e in items:
        good += e.good
        total += e.total
        approximate = approximate or e.approximate
    return Events(good, total, approximate)
