"""OwnershipAnalysis end to end: aggregates in a real SQLite store + catalog files → ownership,
orphans, teams. Each finding code's own cases are beside its rule, in tests/ownership/findings/.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from graph.model import Call, NodeKind
from ownership.analysis import OwnershipAnalysis
from ownership.catalog import load_catalog
from ownership.identity import CatalogIndex
from tests.ownership.scenario import (
    DOCUMENTED,
    NS,
    T0,
    TEAM,
    Telemetry,
    analyse,
    component,
    finding,
    group,
    index_of,
    resource,
    user,
    write_catalog,
)

# ---------------------------------------------------------------------------------------- baseline


def test_a_fully_documented_owned_service_has_no_findings(tmp_path: Path) -> None:
    analysis = analyse(tmp_path, Telemetry().seen("checkout"), [component("checkout"), *TEAM])
    own = analysis.of("checkout")
    assert analysis.findings() == []
    assert (own.owner, own.owner_status, own.catalog_ref) == ("payments", "ok", "component:default/checkout")
    assert own.findings == []
    assert own.catalog is not None and own.catalog["ref"] == "component:default/checkout"
    assert analysis.orphans() == []


# ---------------------------------------------------------------------------------------- aliases


@pytest.mark.parametrize(
    ("annotation", "value", "telemetry_name"),
    [
        ("ownermap.io/service-names", "checkout-svc, CheckoutService", "CheckoutService"),
        ("ownermap.io/service-names", "checkout-svc, CheckoutService", "checkout-svc"),
        ("opentelemetry.io/service-name", "checkout-otel", "checkout-otel"),
        ("jaegertracing.io/service", "checkout-jaeger", "checkout-jaeger"),
        ("datadoghq.com/service-name", "checkout-dd", "checkout-dd"),
        ("opentelemetry.io/service-name", "Checkout-OTel", "CHECKOUT-otel"),
    ],
)
def test_alias_annotations_match(tmp_path: Path, annotation: str, value: str, telemetry_name: str) -> None:
    docs = [component("checkout", annotations={**DOCUMENTED, annotation: value}), *TEAM]
    analysis = analyse(tmp_path, Telemetry().seen(telemetry_name), docs)
    assert analysis.findings() == []
    own = analysis.of(telemetry_name)
    assert (own.owner, own.owner_status, own.catalog_ref) == ("payments", "ok", "component:default/checkout")


def test_exact_name_matches_ignoring_case(tmp_path: Path) -> None:
    analysis = analyse(tmp_path, Telemetry().seen("CheckOut"), [component("checkout"), *TEAM])
    assert analysis.findings() == []
    assert analysis.of("CheckOut").catalog_ref == "component:default/checkout"


def test_owners_yaml_aliases_match(tmp_path: Path) -> None:
    owners = """\
teams: [{name: payments, members: [alice], oncall: "https://pd.example/S1"}]
services:
  - {name: checkout, owner: payments, aliases: [checkout-svc, CheckoutService],
     runbook: "https://r.example/c", docs: "https://d.example/c"}
"""
    telemetry = Telemetry().seen("checkoutservice").seen("checkout-svc")
    analysis = analyse(tmp_path, telemetry, extra={"owners.yaml": owners})
    assert analysis.findings() == []
    for name in ("checkoutservice", "checkout-svc"):
        assert analysis.of(name).catalog_ref == "component:default/checkout"


def test_datadog_dd_service_matches_even_when_renamed(tmp_path: Path) -> None:
    dd = """\
schema-version: v2.2
dd-service: shop/checkout
team: payments
integrations: {pagerduty: {service-url: "https://pd.example/P1"}}
links:
  - {name: Runbook, type: runbook, url: "https://r.example/c"}
  - {name: Docs, type: doc, url: "https://d.example/c"}
"""
    directory = write_catalog(tmp_path / "catalog", extra={"service.datadog.yaml": dd})
    catalog = load_catalog([directory])
    assert catalog.errors == []
    analysis = OwnershipAnalysis(Telemetry().seen("SHOP/checkout").graph(), CatalogIndex(catalog))
    assert analysis.findings() == []
    own = analysis.of("SHOP/checkout")
    assert (own.owner, own.catalog_ref) == ("payments", "component:default/shop-checkout")


# ---------------------------------------------------------------------------------------- virtual nodes


def test_virtual_nodes_are_never_undocumented(tmp_path: Path) -> None:
    telemetry = (Telemetry().call("checkout", "orders-db", server_kind=NodeKind.DATABASE, ctype="database")
                 .call("checkout", "stripe-api", server_kind=NodeKind.EXTERNAL, ctype="virtual", failed=1)
                 .call("checkout", "orders-queue", server_kind=NodeKind.MESSAGING, ctype="messaging"))
    analysis = analyse(tmp_path, telemetry, [component("checkout"), *TEAM])
    for name in ("orders-db", "stripe-api", "orders-queue"):
        own = analysis.of(name)
        assert (own.owner, own.owner_status, own.findings) == (None, "virtual", [])
    assert {f.service for f in analysis.findings()} == set()
    assert analysis.orphans() == []
    assert analysis.unowned_dependencies() == [
        {"node": "orders-db", "kind": "database", "callers": ["checkout"]},
        {"node": "orders-queue", "kind": "messaging", "callers": ["checkout"]},
        {"node": "stripe-api", "kind": "external", "callers": ["checkout"]},
    ]


def test_virtual_nodes_are_matched_by_resource_entries(tmp_path: Path) -> None:
    docs = [component("checkout"), resource("orders-db"),
            resource("payments-db", annotations={"ownermap.io/service-names": "pg-main"}), *TEAM]
    telemetry = (Telemetry().call("checkout", "ORDERS-DB", server_kind=NodeKind.DATABASE, ctype="database")
                 .call("checkout", "pg-main", server_kind=NodeKind.DATABASE, ctype="database")
                 .call("checkout", "redis", server_kind=NodeKind.DATABASE, ctype="database"))
    analysis = analyse(tmp_path, telemetry, docs)
    assert analysis.findings() == []
    own = analysis.of("ORDERS-DB")
    assert (own.owner, own.owner_status, own.catalog_ref) == ("payments", "virtual", "resource:default/orders-db")
    assert analysis.of("pg-main").catalog_ref == "resource:default/payments-db"
    assert [d["node"] for d in analysis.unowned_dependencies()] == ["redis"]

# ---------------------------------------------------------------------------------------- orphans


def test_orphans_ranked_by_transitive_dependents(tmp_path: Path) -> None:
    # a → b → c and d → c: c has three dependents (a, b, d), b one, a and d none.
    telemetry = Telemetry().call("a", "b", count=1).call("b", "c", count=1).call("d", "c", count=1)
    analysis = analyse(tmp_path, telemetry, [*TEAM])
    orphans = analysis.orphans()
    assert [o.service for o in orphans][:2] == ["c", "b"]
    c = orphans[0]
    assert (c.dependents, c.calls, c.error_rate, c.codes) == (3, 2, 0.0, ["no_objective", "undocumented"])
    assert {o.service for o in orphans} == {"a", "b", "c", "d"}


def test_orphan_dependents_count_services_not_the_user_node(tmp_path: Path) -> None:
    """Regression: risk counts dependent *services*; the virtual `user` entry node is not one."""
    telemetry = Telemetry().seen("front").call("x", "back")
    for _ in range(100):
        telemetry.agg.call(Call(int((T0 + 60) * NS), "user", NodeKind.USER, "front", NodeKind.SERVICE, "entry", "prod",
                           False, None, 0.01, b"\x09" * 16))
    analysis = analyse(tmp_path, telemetry, [component("x"), *TEAM])
    orphans = {o.service: o for o in analysis.orphans()}
    assert orphans["front"].dependents == 0 and orphans["back"].dependents == 1
    assert [o.service for o in analysis.orphans()] == ["back", "front"]


def test_orphan_ties_broken_by_calls_then_error_rate(tmp_path: Path) -> None:
    telemetry = (Telemetry().call("x1", "busy", count=50).call("x2", "quiet", count=5, failed=0)
                 .call("x3", "flaky", count=5, failed=4))
    docs = [component(n) for n in ("x1", "x2", "x3")] + TEAM
    analysis = analyse(tmp_path, telemetry, docs)
    orphans = analysis.orphans()
    assert [o.service for o in orphans] == ["busy", "flaky", "quiet"]
    assert orphans[1].error_rate == pytest.approx(0.8)
    assert orphans[0].calls == 50


def test_orphans_include_every_orphan_code_and_nothing_else(tmp_path: Path) -> None:
    docs = [component("ok"), component("lost", owner="group:ghosts"), component("idle", owner="idle-team"),
            group("idle-team"), component("alone", owner="user:alice"), *TEAM]
    owners = {"owners.yaml": "services: [{name: nobody}, {name: unseen}]\n"}
    telemetry = Telemetry().seen("ok").seen("lost").seen("idle").seen("alone").seen("mystery").seen("nobody")
    analysis = analyse(tmp_path, telemetry, docs, extra=owners)
    codes_by = {o.service: o.codes for o in analysis.orphans()}
    # `unseen` is declared without owner but sent nothing: stale, not an orphan
    assert set(codes_by) == {"lost", "idle", "mystery", "nobody"}
    assert "owner_not_found" in codes_by["lost"] and "owner_inactive" in codes_by["idle"]
    assert "unowned" in codes_by["nobody"] and "undocumented" in codes_by["mystery"]
    assert [f.service for f in analysis.findings(["stale"])] == ["unseen"]


def test_findings_are_sorted_by_severity_and_filterable(tmp_path: Path) -> None:
    docs = [component("checkout", annotations={}), component("retired"), *TEAM]
    analysis = analyse(tmp_path, Telemetry().seen("checkout").seen("mystery"), docs)
    order = {"high": 0, "medium": 1, "low": 2}
    severities = [order[f.severity] for f in analysis.findings()]
    assert severities == sorted(severities)
    assert {f.code for f in analysis.findings(["stale", "no_docs"])} == {"stale", "no_docs"}
    assert {f.service for f in analysis.findings(owner="PAYMENTS")} == {"checkout", "retired"}
    assert analysis.findings(owner="nobody") == []


def test_finding_to_dict_shape(tmp_path: Path) -> None:
    analysis = analyse(tmp_path, Telemetry().seen("mystery", hints={"team": "payments"}), [*TEAM])
    out = finding(analysis, "undocumented", "mystery").to_dict()
    assert {"code", "service", "severity", "detail", "owner", "suggested_owners"} <= set(out)
    assert out["suggested_owners"][0]["team"] == "payments"


def test_teams_and_team_view(tmp_path: Path) -> None:
    docs = [component("checkout"), component("search-api", owner="search"),
            group("search", members=["bob"]), user("bob"), component("retired"), *TEAM]
    telemetry = Telemetry().call("search-api", "checkout", count=4).seen("mystery")
    analysis = analyse(tmp_path, telemetry, docs)
    names = [t["team"] for t in analysis.teams()]
    assert names == ["payments", "search"]
    view = analysis.team_view("payments")
    assert view["services"] == ["checkout"]
    assert view["declared_services"] == ["checkout", "retired"]
    assert view["ref"] == "group:default/payments" and view["active"] is True
    assert [f["code"] for f in view["findings"]] == ["no_objective", "stale"]
    assert view["depended_on_by_teams"] == [{"from": "search-api", "to": "checkout", "team": "search", "calls": 4}]
    assert analysis.team_view("search")["depends_on_teams"] == [
        {"from": "search-api", "to": "checkout", "team": "payments", "calls": 4}]
    assert analysis.team_view("Group:Default/Payments")["team"] == "payments"
    with pytest.raises(KeyError):
        analysis.team_view("nobody")


def test_store_on_disk_gives_the_same_analysis(tmp_path: Path) -> None:
    telemetry = Telemetry().call("a", "b").seen("c")
    graph = telemetry.graph(tmp_path / "om.db")
    index = index_of(write_catalog(tmp_path / "catalog", [component("a"), *TEAM]))
    analysis = OwnershipAnalysis(graph, index)
    assert {(f.code, f.service) for f in analysis.findings()} == {("undocumented", "b"), ("undocumented", "c"),
                                                                         ("no_objective", "b")}
