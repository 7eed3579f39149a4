"""Findings about objectives: no_objective, objective_breached, objective_burning, objective_unmatched."""

from __future__ import annotations

from pathlib import Path

from graph.store.series import InboundBucket
from ownership.objectives.evaluate import ObjectiveResult, evaluate
from ownership.objectives.model import Objective
from tests.ownership.scenario import DOCUMENTED, TEAM, Telemetry, analyse, codes_of, component, finding

SLO_ANNOTATION = {**DOCUMENTED, "ownermap.io/slo-availability": "99.9"}
END = 1_790_000_000 // 3600 * 3600


def _result(service: str, calls: int, failed: int, *, matched: bool = True, owner: str | None = "payments",
            old_good: int = 0) -> ObjectiveResult:
    objective = Objective("availability", service, "catalog-info.yaml", "backstage", "availability", 0.99)
    buckets = [InboundBucket(service, END - 3 * 86400, 3600, old_good, 0, (0,) * 18)] if old_good else []
    buckets += [InboundBucket(service, END - 300 * k, 300, calls, failed, (0,) * 18) for k in range(1, 73)]
    return evaluate(objective, buckets, END, matched=matched, owner=owner)


def test_no_objective_on_called_services_without_one(tmp_path: Path) -> None:
    docs = [component("checkout"), component("cart", annotations=SLO_ANNOTATION), component("search"),
            component("batch"), *TEAM]
    telemetry = Telemetry().call("checkout", "cart").call("checkout", "search").call("batch", "checkout").seen("idle")
    analysis = analyse(tmp_path, telemetry, docs)
    assert {f.service for f in analysis.findings(["no_objective"])} == {"search", "checkout"}
    assert finding(analysis, "no_objective", "search").severity == "low"
    assert "no_objective" not in codes_of(analysis, "batch")  # nobody calls it


def test_no_objective_follows_the_catalog_entry_an_alias_names(tmp_path: Path) -> None:
    annotations = {**SLO_ANNOTATION, "opentelemetry.io/service-name": "cart-otel"}
    docs = [component("checkout"), component("cart", annotations=annotations), *TEAM]
    analysis = analyse(tmp_path, Telemetry().call("checkout", "cart-otel"), docs)
    assert analysis.findings(["no_objective"]) == []


def test_breached_burning_and_unmatched_findings(tmp_path: Path) -> None:
    results = [
        _result("cart", 100, 50),  # spent: breached
        _result("checkout", 100, 20, old_good=1_000_000),  # budget left, burning fast
        _result("ghost", 0, 0, matched=False, owner=None),
        _result("search", 100, 0),  # met: no finding
        _result("tiny", 0, 0),  # insufficient_data: no finding
    ]
    assert [r.status for r in results] == ["breached", "burning", "unmatched", "met", "insufficient_data"]
    analysis = analyse(tmp_path, Telemetry().seen("cart"), [component("cart"), *TEAM], objectives=lambda: results)
    found = [(f.code, f.service, f.severity, f.owner) for f in analysis.findings()
             if f.code.startswith("objective_")]
    assert found == [("objective_breached", "cart", "high", "payments"),
                     ("objective_burning", "checkout", "medium", "payments"),
                     ("objective_unmatched", "ghost", "low", None)]
    breached = finding(analysis, "objective_breached", "cart")
    assert breached.data["objective"] == "availability" and breached.data["budget_remaining"] < 0
    assert [o["service"] for o in analysis.team_view("payments")["objectives"]] == [
        "cart", "checkout", "search", "tiny"]
