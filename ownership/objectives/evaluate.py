"""One objective against the calls into its service: observed value, budget, burn and status."""

from __future__ import annotations

import functools
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from graph.model import Window
from graph.store.series import InboundBucket
from ownership.objectives.budget import Budget, occurrences, ratio_timeslices, slices, timeslices
from ownership.objectives.burn import Burn, burn
from ownership.objectives.indicator import Events, bucket_events
from ownership.objectives.model import Objective

STATUSES = ("unmatched", "insufficient_data", "breached", "burning", "met")


@dataclass(frozen=True, slots=True)
class Limits:
    """Settings `objective_min_calls` and `burn_min_calls`."""

    objective_min_calls: int = 100
    burn_min_calls: int = 10


DEFAULT_LIMITS = Limits()

@dataclass(frozen=True, slots=True)
class ObjectiveResult:
    """An objective as measured over its window ending at `end`."""

    objective: Objective
    owner: str | None
    start: float
    end: float
    budget: Budget
    burn: Burn
    status: str

    def to_dict(self) -> dict[str, Any]:
        """The API's objective object (DESIGN §4)."""
        o, b = self.objective, self.budget
        return {
            "name": o.name, "service": o.service, "owner": self.owner, "source": o.source,
            "source_format": o.source_format, "sli": o.sli, "target": o.target, "threshold_ms": o.threshold_ms,
            "budgeting_method": o.budgeting,
            "window": _window(self.start, self.end),
            "observed": _round(b.observed), "good": _round(b.good), "total": b.total,
            "budget_remaining": _round(b.budget_remaining),
            "burn_rates": self.burn_rates(),
            "status": self.status, "estimated": o.estimated, "approximate": b.approximate,
        }

    def burn_rates(self) -> dict[str, float | None]:
        """The burn rate per burn window, as the API shows them (six decimals)."""
        return {k: _round(v) for k, v in self.burn.rates.items()}

    def finding_data(self) -> dict[str, Any]:
        """What a finding about the objective carries: its name, indicator, target, source and the
        measured values as `to_dict` shows them (without making the whole object)."""
        o, b = self.objective, self.budget
        return {"objective": o.name, "sli": o.sli, "target": o.target, "observed": _round(b.observed),
                "budget_remaining": _round(b.budget_remaining), "burn_rates": self.burn_rates(), "source": o.source}


@functools.lru_cache(maxsize=64)
def _window_dict(start: float, end: float) -> dict[str, Any]:
    return Window(start, end).as_dict()


def _window(start: float, end: float) -> dict[str, Any]:
    """The window's API object (the objectives of a request share a few windows: formatted once)."""
    return dict(_window_dict(start, end))


def _round(value: float | None) -> float | None:
    return None if value is None else round(value, 6)


Series = list[tuple[int, int, Events]]  # (bucket start, bucket length, the indicator's events)


def measure(objective: Objective, buckets: Sequence[InboundBucket], end: float) -> tuple[Budget, Series]:
    """Budget over the window [end - window, end) and the window's series, from the service's buckets."""
    start = end - objective.window_seconds
    series = [(b.bucket, b.seconds, bucket_events(objective, b)) for b in buckets
              if b.bucket + b.seconds > start and b.bucket < end]
    if objective.budgeting == "Occurrences":
        budget = occurrences(objective, [e for _, _, e in series])
    elif objective.budgeting == "Timeslices":
        budget = timeslices(objective, slices(objective, series))
    else:
        budget = ratio_timeslices(objective, slices(objective, series))
    return budget, series


def evaluate(objective: Objective, buckets: Sequence[InboundBucket], end: float, *, matched: bool,
             owner: str | None = None, limits: Limits = DEFAULT_LIMITS) -> ObjectiveResult:
    """The objective's result; status is the first that applies of unmatched, insufficient_data,
    breached (budget_remaining ≤ 0), burning (fast or slow burn now), met."""
    budget, series = measure(objective, buckets, end)
    burning = burn(series, end, objective.target, limits.burn_min_calls)
    if not matched:
        status = "unmatched"
    elif budget.observed is None or budget.total < limits.objective_min_calls:
        status = "insufficient_data"
    elif budget.budget_remaining is not None and budget.budget_remaining <= 0:
        status = "breached"
    elif burning.burning:
        status = "burning"
    else:
        status = "met"
    return ObjectiveResult(objective, owner, end - objective.window_seconds, end, budget, burning, status)
