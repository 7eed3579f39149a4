"""Rules comparing declarations with the window: stale, deprecated_in_use, undeclared_dependency
(ownership/findings/usage.py)."""

from __future__ import annotations

from pathlib import Path

from graph.model import NodeKind
from tests.ownership.scenario import (
    DOCUMENTED,
    TEAM,
    WINDOW,
    Telemetry,
    analyse,
    codes_of,
    component,
    finding,
    resource,
)

# ---------------------------------------------------------------------------------------- stale


def test_stale_service_entry_not_seen(tmp_path: Path) -> None:
    docs = [component("checkout"), component("retired"), component("website", type="website"), *TEAM]
    analysis = analyse(tmp_path, Telemetry().seen("checkout"), docs)
    stale = analysis.findings(["stale"])
    assert [f.service for f in stale] == ["retired"]
    assert stale[0].owner == "payments" and stale[0].severity == "low"
    assert stale[0].data["entity"] == "component:default/retired"


def test_stale_follows_alias_matches_and_the_window(tmp_path: Path) -> None:
    docs = [component("checkout", annotations={**DOCUMENTED, "ownermap.io/service-names": "checkout-svc"}),
            component("cart"), *TEAM]
    telemetry = Telemetry().seen("checkout-svc").seen("cart", ts=WINDOW.start - 86400)
    analysis = analyse(tmp_path, telemetry, docs)
    assert [f.service for f in analysis.findings(["stale"])] == ["cart"]


# ---------------------------------------------------------------------------------------- usage


def test_deprecated_in_use_lists_callers(tmp_path: Path) -> None:
    docs = [component("legacy", lifecycle="deprecated"), component("a"), component("b"), *TEAM]
    telemetry = Telemetry().call("b", "legacy", count=2).call("a", "legacy")
    analysis = analyse(tmp_path, telemetry, docs)
    f = finding(analysis, "deprecated_in_use", "legacy")
    assert f.data["callers"] == ["a", "b"]
    assert "a, b" in f.detail and f.owner == "payments"
    assert codes_of(analysis, "legacy") == {"deprecated_in_use", "no_objective"}


def test_deprecated_without_callers_or_production_with_callers_is_fine(tmp_path: Path) -> None:
    docs = [component("legacy", lifecycle="deprecated"), component("live"), component("a"), *TEAM]
    telemetry = Telemetry().seen("legacy").call("legacy", "live").call("a", "live")
    analysis = analyse(tmp_path, telemetry, docs)
    assert analysis.findings(["deprecated_in_use"]) == []

def test_undeclared_dependency(tmp_path: Path) -> None:
    docs = [component("checkout", depends_on=["component:cart", "resource:orders-db"]), component("cart"),
            component("ledger"), resource("orders-db"), *TEAM]
    telemetry = (Telemetry().call("checkout", "cart").call("checkout", "ledger", count=3)
                 .call("checkout", "orders-db", server_kind=NodeKind.DATABASE, ctype="database"))
    analysis = analyse(tmp_path, telemetry, docs)
    found = analysis.findings(["undeclared_dependency"])
    assert [(f.service, f.data["target"], f.data["calls"]) for f in found] == [("checkout", "ledger", 3)]


def test_undeclared_dependency_once_per_target(tmp_path: Path) -> None:
    """Regression: one finding per target, calls summed over connection types (was one per edge)."""
    docs = [component("checkout", depends_on=["component:cart"]), component("cart"), component("ledger"), *TEAM]
    telemetry = Telemetry().call("checkout", "ledger", count=2).call("checkout", "ledger", ctype="messaging")
    analysis = analyse(tmp_path, telemetry, docs)
    found = analysis.findings(["undeclared_dependency"])
    assert [(f.service, f.data["target"], f.data["calls"]) for f in found] == [("checkout", "ledger", 3)]


def test_no_undeclared_dependency_without_depends_on(tmp_path: Path) -> None:
    docs = [component("checkout"), component("cart"), *TEAM]
    analysis = analyse(tmp_path, Telemetry().call("checkout", "cart"), docs)
    assert analysis.findings(["undeclared_dependency"]) == []


def test_depends_on_matches_a_target_known_by_alias(tmp_path: Path) -> None:
    docs = [component("checkout", depends_on=["component:cart"]),
            component("cart", annotations={**DOCUMENTED, "opentelemetry.io/service-name": "cart-otel"}), *TEAM]
    analysis = analyse(tmp_path, Telemetry().call("checkout", "cart-otel"), docs)
    assert [f.code for f in analysis.findings()] == ["no_objective"]

def test_resources_are_never_stale(tmp_path: Path) -> None:
    analysis = analyse(tmp_path, Telemetry().seen("checkout"), [component("checkout"), resource("orders-db"), *TEAM])
    assert analysis.findings() == []
