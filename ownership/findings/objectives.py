"""Rules about objectives (DESIGN §3a): `no_objective` per seen service; `objective_breached`,
`objective_burning` and `objective_unmatched` from the objectives measured at the window's end."""

from __future__ import annotations

from collections.abc import Iterator

from ownership.findings.codes import FindingCode
from ownership.findings.finding import Finding
from ownership.findings.rules import ServiceFacts, WindowFacts, service_rule, window_rule
from ownership.objectives.board import has_objective


def _percent(value: float | None) -> str:
    return "n/a" if value is None else f"{value * 100:.3g}%"


@service_rule(FindingCode.NO_OBJECTIVE)
def no_objective(facts: ServiceFacts) -> Iterator[Finding]:
    """A service with calls into it in the window (dependents or entry traffic) and no objective
    declared for it or its catalog entry."""
    if facts.callers and not has_objective(facts.index, facts.name, facts.entity):
        yield Finding(FindingCode.NO_OBJECTIVE, facts.name,
                      f"called by {len(facts.callers)} caller(s) but declares no objective (SLO)", owner=facts.owner)


@window_rule(FindingCode.OBJECTIVE_BREACHED)
def objective_breached(facts: WindowFacts) -> Iterator[Finding]:
    """An objective whose error budget is spent (status `breached`)."""
    for result in facts.objectives:
        if result.status == "breached":
            o = result.objective
            yield Finding(FindingCode.OBJECTIVE_BREACHED, o.service,
                          f"objective {o.name}: observed {_percent(result.budget.observed)} against "
                          f"{_percent(o.target)}, budget left {_percent(result.budget.budget_remaining)}",
                          owner=result.owner, data=result.finding_data())


@window_rule(FindingCode.OBJECTIVE_BURNING)
def objective_burning(facts: WindowFacts) -> Iterator[Finding]:
    """An objective burning its budget fast or slowly now (status `burning`)."""
    for result in facts.objectives:
        if result.status == "burning":
            o, rates = result.objective, result.burn.rates
            speed = "fast" if result.burn.fast else "slow"
            yield Finding(FindingCode.OBJECTIVE_BURNING, o.service,
                          f"objective {o.name}: {speed} burn (1h {rates['1h']:.3g}, 6h {rates['6h']:.3g})",
                          owner=result.owner, data=result.finding_data())


@window_rule(FindingCode.OBJECTIVE_UNMATCHED)
def objective_unmatched(facts: WindowFacts) -> Iterator[Finding]:
    """An objective whose service matches no catalog entry and no telemetry in its window."""
    for result in facts.objectives:
        if result.status == "unmatched":
            o = result.objective
            yield Finding(FindingCode.OBJECTIVE_UNMATCHED, o.service,
                          f"objective {o.name} ({o.source}) names a service that matches no catalog entry and "
                          "no telemetry", data={"objective": o.name, "source": o.source})
