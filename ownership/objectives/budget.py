"""Observed value, good/total and remaining error budget over an objective's window (DESIGN §3a):
Occurrences counts calls, Timeslices and RatioTimeslices count slices."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass

from ownership.objectives.indicator import Events, total_events
from ownership.objectives.model import Objective


@dataclass(frozen=True, slots=True)
class Budget:
    """What the window shows: observed (a fraction, None without events), good/total (calls or
    slices), remaining budget (1 - bad/budget; negative when overspent, None without events)."""

    observed: float | None
    good: float
    total: int
    budget_remaining: float | None
    approximate: bool = False


def remaining(bad: float, total: float, target: float) -> float | None:
    """1 - bad / ((1 - target) * total); None when total is 0."""
    if total <= 0:
        return None
    return 1.0 - bad / ((1.0 - target) * total)


def slices(objective: Objective, buckets: Sequence[tuple[int, int, Events]]) -> list[Events]:
    """Buckets (start, seconds, events) grouped into time slices, slices without events left out.

    A slice is the store's bucket, or the declared timeSliceWindow where that is a whole number of
    buckets (beyond the last day, buckets are hours: a finer slice is the hour).
    """
    width = objective.timeslice_seconds
    grouped: dict[int, list[Events]] = defaultdict(list)
    for start, seconds, events in buckets:
        key = start - start % width if width and width % seconds == 0 else start
        grouped[key].append(events)
    return [s for _, items in sorted(grouped.items()) if (s := total_events(items)).total > 0]


def occurrences(objective: Objective, events: Sequence[Events]) -> Budget:
    """Good and total calls over the window."""
    whole = total_events(events)
    observed = whole.good / whole.total if whole.total else None
    return Budget(observed, whole.good, whole.total, remaining(whole.bad, whole.total, objective.target),
                  whole.approximate)


def timeslices(objective: Objective, parts: Sequence[Events]) -> Budget:
    """Good slices (ratio ≥ timeSliceTarget) over slices with events."""
    wanted = objective.timeslice_target if objective.timeslice_target is not None else objective.target
    good = sum(1 for s in parts if s.good / s.total >= wanted)
    total = len(parts)
    observed = good / total if total else None
    return Budget(observed, good, total, remaining(total - good, total, objective.target),
                  any(s.approximate for s in parts))


def ratio_timeslices(objective: Objective, parts: Sequence[Events]) -> Budget:
    """The mean of the slices' ratios; `good` is the sum of the ratios, `total` the slices."""
    ratios = [s.good / s.total for s in parts]
    total = len(ratios)
    good = sum(ratios)
    observed = good / total if total else None
    return Budget(observed, good, total, remaining(total - good, total, objective.target),
                  any(s.approximate for s in parts))
