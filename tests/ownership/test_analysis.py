"""OwnershipAnalysis end to end: aggregates in a real SQLite store + catalog files → findings.

Every finding code of DESIGN §3 is triggered by a minimal case and shown absent in the matching
good case. Graphs are written through graph.aggregate.Aggregator with explicit timestamps;
catalogs are real files (Backstage, owners.yaml, service.datadog.yaml) in tmp_path.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from graph.aggregate import Aggregator
from graph.model import NodeKind, Resource, Span, SpanKind, Window
from graph.service_graph import ServiceGraph
from graph.store.sqlite import SQLiteStore
from ownership import findings as codes
from ownership.analysis import OwnershipAnalysis
from ownership.catalog import load_catalog
from ownership.findings import ALL_CODES, ORPHAN_CODES, SEVERITY
from ownership.identity import CatalogIndex

T0 = 1_700_000_100  # aligned to 5-minute buckets
NS = 1_000_000_000
NOW = T0 + 3600
WINDOW = Window(NOW - 7 * 86400, NOW)
API = "backstage.io/v1alpha1"

# A service carrying every documentation signal: on-call, runbook and docs.
DOCUMENTED = {"pagerduty.com/service-id": "P123", "backstage.io/techdocs-ref": "dir:."}
RUNBOOK_LINK = [{"url": "https://runbooks.example/x", "title": "Runbook"}]


# ---------------------------------------------------------------------------------------- helpers


class Telemetry:
    """Sightings and calls written through the real Aggregator into a SQLite store."""

    def __init__(self) -> None:
        self.agg = Aggregator(bucket_seconds=300)
        self._n = 0

    def seen(self, service: str, *, hints: dict[str, str] | None = None, count: int = 1,
             ts: float = T0 + 60, error: bool = False) -> Telemetry:
        resource = Resource(service, "prod", dict(hints or {}))
        for _ in range(count):
            self._n += 1
            span = Span(self._n.to_bytes(16, "big"), self._n.to_bytes(8, "big"), b"", resource, SpanKind.SERVER,
                        int(ts * NS), int(ts * NS) + 1000, error)
            self.agg.sighting(span)
        return self

    def call(self, client: str, server: str, *, count: int = 1, failed: int = 0, ts: float = T0 + 60,
             server_kind: str = NodeKind.SERVICE, ctype: str = "rpc") -> Telemetry:
        for name, kind in ((client, NodeKind.SERVICE), (server, server_kind)):
            if kind == NodeKind.SERVICE:
                self.seen(name, ts=ts)
        for i in range(count):
            self.agg.call(int(ts * NS), client, NodeKind.SERVICE, server, server_kind, ctype, "prod", i < failed,
                          0.01, 0.01, b"\x01" * 16)
        return self

    def graph(self, store_path: str | Path = ":memory:") -> ServiceGraph:
        store = SQLiteStore(store_path)
        try:
            store.write(self.agg.drain())
            return ServiceGraph.from_store(store, WINDOW)
        finally:
            store.close()


def component(name: str, owner: str | None = "payments", *, annotations: dict[str, str] | None = None,
              links: list[dict[str, str]] | None = None, lifecycle: str = "production", type: str = "service",
              depends_on: list[str] | None = None) -> dict[str, Any]:
    metadata: dict[str, Any] = {"name": name, "annotations": dict(DOCUMENTED if annotations is None else annotations)}
    metadata["links"] = RUNBOOK_LINK if links is None else links
    spec: dict[str, Any] = {"type": type, "lifecycle": lifecycle}
    if owner is not None:
        spec["owner"] = owner
    if depends_on is not None:
        spec["dependsOn"] = depends_on
    return {"apiVersion": API, "kind": "Component", "metadata": metadata, "spec": spec}


def group(name: str, members: list[str] | None = None, children: list[str] | None = None,
          parent: str | None = None, annotations: dict[str, str] | None = None) -> dict[str, Any]:
    spec: dict[str, Any] = {"type": "team", "children": children or []}
    if members is not None:
        spec["members"] = members
    if parent is not None:
        spec["parent"] = parent
    return {"apiVersion": API, "kind": "Group", "metadata": {"name": name, "annotations": annotations or {}},
            "spec": spec}


def user(name: str, member_of: list[str] | None = None) -> dict[str, Any]:
    return {"apiVersion": API, "kind": "User", "metadata": {"name": name}, "spec": {"memberOf": member_of or []}}


def resource(name: str, owner: str = "payments", annotations: dict[str, str] | None = None) -> dict[str, Any]:
    return {"apiVersion": API, "kind": "Resource", "metadata": {"name": name, "annotations": annotations or {}},
            "spec": {"type": "database", "owner": owner}}


TEAM = [group("payments", members=["alice"]), user("alice", ["payments"])]


def write_catalog(directory: Path, docs: list[dict[str, Any]] | None = None,
                  extra: dict[str, str] | None = None) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    if docs is not None:
        (directory / "catalog-info.yaml").write_text(yaml.safe_dump_all(docs, sort_keys=False), encoding="utf-8")
    for name, text in (extra or {}).items():
        (directory / name).write_text(text, encoding="utf-8")
    return directory


def index_of(directory: Path) -> CatalogIndex:
    catalog = load_catalog([directory])
    assert catalog.errors == [], [str(e) for e in catalog.errors]
    return CatalogIndex(catalog)


def analyse(tmp_path: Path, telemetry: Telemetry, docs: list[dict[str, Any]] | None = None,
            extra: dict[str, str] | None = None, **kwargs: Any) -> OwnershipAnalysis:
    directory = write_catalog(tmp_path / "catalog", docs, extra)
    return OwnershipAnalysis(telemetry.graph(), index_of(directory), **kwargs)


def codes_of(analysis: OwnershipAnalysis, service: str) -> set[str]:
    return {f.code for f in analysis.findings() if f.service == service}


def finding(analysis: OwnershipAnalysis, code: str, service: str) -> codes.Finding:
    found = [f for f in analysis.findings([code]) if f.service == service]
    assert len(found) == 1, [f.to_dict() for f in analysis.findings()]
    return found[0]


# ---------------------------------------------------------------------------------------- baseline


def test_a_fully_documented_owned_service_has_no_findings(tmp_path: Path) -> None:
    analysis = analyse(tmp_path, Telemetry().seen("checkout"), [component("checkout"), *TEAM])
    own = analysis.of("checkout")
    assert analysis.findings() == []
    assert (own.owner, own.owner_status, own.catalog_ref) == ("payments", "ok", "component:default/checkout")
    assert own.findings == []
    assert own.catalog is not None and own.catalog["ref"] == "component:default/checkout"
    assert analysis.orphans() == []


def test_every_code_has_a_severity() -> None:
    assert set(ALL_CODES) == set(SEVERITY) == {
        "undocumented", "unowned", "owner_not_found", "owner_inactive", "individual_owner", "stale",
        "deprecated_in_use", "no_oncall", "no_runbook", "no_docs", "owner_mismatch", "undeclared_dependency",
        "name_mismatch", "unnamed_service",
    }
    assert {"undocumented", "unowned", "owner_not_found", "owner_inactive"} == ORPHAN_CODES


# ---------------------------------------------------------------------------------------- undocumented


def test_undocumented_service_seen_without_entry(tmp_path: Path) -> None:
    analysis = analyse(tmp_path, Telemetry().seen("checkout").seen("mystery"), [component("checkout"), *TEAM])
    assert codes_of(analysis, "mystery") == {"undocumented"}
    assert codes_of(analysis, "checkout") == set()
    own = analysis.of("mystery")
    assert (own.owner, own.owner_status, own.catalog_ref, own.catalog) == (None, "undocumented", None, None)
    f = finding(analysis, "undocumented", "mystery")
    assert f.severity == "high" and f.owner is None


def test_undocumented_only_for_services_seen_in_the_window(tmp_path: Path) -> None:
    telemetry = Telemetry().seen("checkout").seen("long-gone", ts=WINDOW.start - 3 * 86400)
    analysis = analyse(tmp_path, telemetry, [component("checkout"), *TEAM])
    assert "long-gone" not in analysis.graph.nodes
    assert [f.service for f in analysis.findings(["undocumented"])] == []


# ---------------------------------------------------------------------------------------- owners


OWNERS_UNOWNED = """\
teams:
  - name: payments
    members: [alice]
services:
  - name: checkout
    runbook: https://runbooks.example/checkout
    docs: https://docs.example/checkout
    oncall: https://example.pagerduty.com/services/P1
  - name: cart
    owner: payments
    runbook: https://runbooks.example/cart
    docs: https://docs.example/cart
    oncall: https://example.pagerduty.com/services/P2
"""


def test_unowned_entry_without_owner(tmp_path: Path) -> None:
    analysis = analyse(tmp_path, Telemetry().seen("checkout").seen("cart"), extra={"owners.yaml": OWNERS_UNOWNED})
    assert codes_of(analysis, "checkout") == {"unowned"}
    assert codes_of(analysis, "cart") == set()
    own = analysis.of("checkout")
    assert (own.owner, own.owner_status, own.catalog_ref) == (None, "unowned", "component:default/checkout")


def test_unowned_datadog_definition_without_team(tmp_path: Path) -> None:
    dd = """\
schema-version: v2.2
dd-service: checkout
links:
  - {name: Runbook, type: runbook, url: https://runbooks.example/checkout}
  - {name: Docs, type: doc, url: https://docs.example/checkout}
integrations:
  pagerduty: {service-url: https://example.pagerduty.com/service-directory/P1}
"""
    analysis = analyse(tmp_path, Telemetry().seen("checkout"), extra={"service.datadog.yaml": dd})
    assert codes_of(analysis, "checkout") == {"unowned"}


def test_owner_not_found(tmp_path: Path) -> None:
    docs = [component("checkout", owner="group:ghosts"), component("cart"), *TEAM]
    analysis = analyse(tmp_path, Telemetry().seen("checkout").seen("cart"), docs)
    assert codes_of(analysis, "checkout") == {"owner_not_found"}
    assert codes_of(analysis, "cart") == set()
    own = analysis.of("checkout")
    assert (own.owner, own.owner_status) == ("ghosts", "owner_not_found")
    f = finding(analysis, "owner_not_found", "checkout")
    assert "group:default/ghosts" in f.detail and f.owner == "ghosts"


def test_owner_not_found_for_an_undeclared_user(tmp_path: Path) -> None:
    analysis = analyse(tmp_path, Telemetry().seen("checkout"), [component("checkout", owner="user:nobody"), *TEAM])
    assert codes_of(analysis, "checkout") == {"owner_not_found"}


def test_owner_inactive_group_without_members(tmp_path: Path) -> None:
    docs = [component("checkout", owner="ghost-team"), group("ghost-team"), component("cart"), *TEAM]
    analysis = analyse(tmp_path, Telemetry().seen("checkout").seen("cart"), docs)
    assert codes_of(analysis, "checkout") == {"owner_inactive"}
    assert analysis.of("checkout").owner_status == "owner_inactive"
    assert analysis.of("checkout").owner == "ghost-team"
    assert codes_of(analysis, "cart") == set()


@pytest.mark.parametrize(
    "teams",
    [
        pytest.param([group("payments", members=["alice"]), user("alice")], id="Group.spec.members"),
        pytest.param([group("payments"), user("alice", ["payments"])], id="User.spec.memberOf"),
        pytest.param([group("payments", children=["pay-core"]), group("pay-core", members=["bob"]), user("bob")],
                     id="child-via-children"),
        pytest.param([group("payments"), group("pay-core", parent="payments"), user("bob", ["pay-core"])],
                     id="child-via-parent"),
        pytest.param([group("payments", children=["mid"]), group("mid", children=["leaf"]),
                      group("leaf", members=["bob"]), user("bob")], id="grandchild"),
    ],
)
def test_owner_active_through_membership(tmp_path: Path, teams: list[dict[str, Any]]) -> None:
    analysis = analyse(tmp_path, Telemetry().seen("checkout"), [component("checkout"), *teams])
    assert codes_of(analysis, "checkout") == set()
    assert analysis.of("checkout").owner_status == "ok"


def test_owner_inactive_when_children_are_empty_too_and_cycles_terminate(tmp_path: Path) -> None:
    docs = [component("checkout"), group("payments", children=["a"]), group("a", children=["payments"])]
    analysis = analyse(tmp_path, Telemetry().seen("checkout"), docs)
    assert codes_of(analysis, "checkout") == {"owner_inactive"}


def test_owners_yaml_team_without_members_is_inactive(tmp_path: Path) -> None:
    owners = """\
teams:
  - name: payments
    oncall: https://example.pagerduty.com/schedules/P1
services:
  - name: checkout
    owner: payments
    runbook: https://runbooks.example/checkout
    docs: https://docs.example/checkout
"""
    analysis = analyse(tmp_path, Telemetry().seen("checkout"), extra={"owners.yaml": owners})
    assert codes_of(analysis, "checkout") == {"owner_inactive"}


def test_datadog_team_is_never_inactive(tmp_path: Path) -> None:
    dd = """\
schema-version: v2
dd-service: checkout
team: payments
links:
  - {name: Runbook, type: runbook, url: https://runbooks.example/checkout}
  - {name: Wiki, type: wiki, url: https://wiki.example/checkout}
integrations:
  pagerduty: https://example.pagerduty.com/service-directory/P1
"""
    analysis = analyse(tmp_path, Telemetry().seen("checkout"), extra={"service.datadog.yaml": dd})
    assert codes_of(analysis, "checkout") == set()
    assert analysis.of("checkout").owner == "payments"


def test_individual_owner(tmp_path: Path) -> None:
    docs = [component("checkout", owner="user:alice"), component("cart"), *TEAM]
    analysis = analyse(tmp_path, Telemetry().seen("checkout").seen("cart"), docs)
    assert codes_of(analysis, "checkout") == {"individual_owner"}
    assert analysis.of("checkout").owner_status == "ok"
    assert analysis.of("checkout").owner == "alice"
    assert codes_of(analysis, "cart") == set()
    assert analysis.orphans() == []


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
    assert codes_of(analysis, "legacy") == {"deprecated_in_use"}


def test_deprecated_without_callers_or_production_with_callers_is_fine(tmp_path: Path) -> None:
    docs = [component("legacy", lifecycle="deprecated"), component("live"), component("a"), *TEAM]
    telemetry = Telemetry().seen("legacy").call("legacy", "live").call("a", "live")
    analysis = analyse(tmp_path, telemetry, docs)
    assert analysis.findings(["deprecated_in_use"]) == []


def test_owner_mismatch_from_resource_hints(tmp_path: Path) -> None:
    docs = [component("checkout"), component("cart"), component("ledger"), *TEAM]
    telemetry = (Telemetry().seen("checkout", hints={"team": "search"})
                 .seen("cart", hints={"service.owner": "Payments"})
                 .seen("ledger", hints={"service.owner": "payments", "team": "search"}))
    analysis = analyse(tmp_path, telemetry, docs)
    f = finding(analysis, "owner_mismatch", "checkout")
    assert f.data == {"attribute": "team", "value": "search"}
    assert "search" in f.detail and "payments" in f.detail
    assert codes_of(analysis, "cart") == set()  # same team, different case
    # one finding per service, from the first attribute that disagrees
    assert finding(analysis, "owner_mismatch", "ledger").data["attribute"] == "team"


def test_owner_mismatch_respects_the_owner_attributes_setting(tmp_path: Path) -> None:
    docs = [component("checkout"), *TEAM]
    telemetry = Telemetry().seen("checkout", hints={"team": "search", "dt.owner": "search"})
    analysis = analyse(tmp_path, telemetry, docs, owner_attributes=["dt.owner"])
    assert finding(analysis, "owner_mismatch", "checkout").data["attribute"] == "dt.owner"
    telemetry = Telemetry().seen("checkout", hints={"team": "search"})
    analysis = analyse(tmp_path / "b", telemetry, docs, owner_attributes=["dt.owner"])
    assert codes_of(analysis, "checkout") == set()


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
    assert analysis.findings() == []


# ---------------------------------------------------------------------------------------- docs signals


@pytest.mark.parametrize(
    ("annotations", "links", "missing"),
    [
        pytest.param({}, [], {"no_oncall", "no_runbook", "no_docs"}, id="nothing"),
        pytest.param({"pagerduty.com/service-id": "P1"}, [], {"no_runbook", "no_docs"}, id="pd-service-id"),
        pytest.param({"pagerduty.com/integration-key": "k"}, [], {"no_runbook", "no_docs"}, id="pd-key"),
        pytest.param({"opsgenie.com/component-selector": "x"}, [], {"no_runbook", "no_docs"}, id="og-selector"),
        pytest.param({"opsgenie.com/team": "payments"}, [], {"no_runbook", "no_docs"}, id="og-team"),
        pytest.param({"ownermap.io/runbook": "https://r.example"}, [], {"no_oncall", "no_docs"}, id="rb-ann"),
        pytest.param({}, [{"url": "https://wiki.example/checkout-runbook"}], {"no_oncall", "no_docs"},
                     id="rb-url"),
        pytest.param({}, [{"url": "https://x.example", "title": "Ops RUNBOOK"}], {"no_oncall", "no_docs"},
                     id="rb-title"),
        pytest.param({}, [{"url": "https://x.example", "type": "runbook"}], {"no_oncall", "no_docs"},
                     id="rb-type"),
        pytest.param({"backstage.io/techdocs-ref": "dir:."}, [], {"no_oncall", "no_runbook"}, id="techdocs"),
        pytest.param({}, [{"url": "https://x.example", "title": "Documentation"}], {"no_oncall", "no_runbook"},
                     id="docs-title"),
        pytest.param({}, [{"url": "https://x.example", "title": "Team wiki"}], {"no_oncall", "no_runbook"},
                     id="wiki-title"),
        pytest.param({}, [{"url": "https://x.example", "type": "docs"}], {"no_oncall", "no_runbook"},
                     id="docs-type"),
        pytest.param({}, [{"url": "https://docs.example/x", "title": "Dashboard"}],
                     {"no_oncall", "no_runbook", "no_docs"}, id="docs-only-in-url-does-not-count"),
    ],
)
def test_documentation_signals_on_the_service(
    tmp_path: Path, annotations: dict[str, str], links: list[dict[str, str]], missing: set[str]
) -> None:
    docs = [component("checkout", annotations=annotations, links=links), *TEAM]
    analysis = analyse(tmp_path, Telemetry().seen("checkout"), docs)
    assert codes_of(analysis, "checkout") == missing
    for code in missing:
        assert finding(analysis, code, "checkout").owner == "payments"


@pytest.mark.parametrize("annotation", ["pagerduty.com/service-id", "pagerduty.com/integration-key",
                                        "opsgenie.com/component-selector", "opsgenie.com/team"])
def test_oncall_on_the_owning_team_counts(tmp_path: Path, annotation: str) -> None:
    docs = [component("checkout", annotations={"backstage.io/techdocs-ref": "dir:."}),
            group("payments", members=["alice"], annotations={annotation: "x"}), user("alice")]
    analysis = analyse(tmp_path, Telemetry().seen("checkout"), docs)
    assert codes_of(analysis, "checkout") == set()


def test_oncall_on_a_user_owner_counts(tmp_path: Path) -> None:
    alice = user("alice")
    alice["metadata"]["annotations"] = {"pagerduty.com/service-id": "P9"}
    docs = [component("checkout", owner="user:alice", annotations={"backstage.io/techdocs-ref": "dir:."}), alice]
    analysis = analyse(tmp_path, Telemetry().seen("checkout"), docs)
    assert codes_of(analysis, "checkout") == {"individual_owner"}


@pytest.mark.parametrize(
    ("owners", "expected"),
    [
        pytest.param("""\
teams: [{name: payments, members: [alice]}]
services: [{name: checkout, owner: payments, oncall: "https://pd.example/P1"}]
""", {"no_runbook", "no_docs"}, id="service-oncall"),
        pytest.param("""\
teams: [{name: payments, members: [alice], oncall: "https://pd.example/S1"}]
services: [{name: checkout, owner: payments}]
""", {"no_runbook", "no_docs"}, id="team-oncall"),
        pytest.param("""\
teams: [{name: payments, members: [alice]}]
services: [{name: checkout, owner: payments, runbook: "https://r.example/c", docs: "https://d.example/c"}]
""", {"no_oncall"}, id="runbook-and-docs"),
        pytest.param("""\
teams: [{name: payments, members: [alice], slack: "#payments"}]
services: [{name: checkout, owner: payments}]
""", {"no_oncall", "no_runbook", "no_docs"}, id="slack-is-not-oncall"),
    ],
)
def test_documentation_signals_from_owners_yaml(tmp_path: Path, owners: str, expected: set[str]) -> None:
    analysis = analyse(tmp_path, Telemetry().seen("checkout"), extra={"owners.yaml": owners})
    assert codes_of(analysis, "checkout") == expected


@pytest.mark.parametrize(
    ("definition", "expected"),
    [
        pytest.param("""\
schema-version: v2
dd-service: checkout
team: payments
integrations: {pagerduty: "https://example.pagerduty.com/service-directory/P1"}
""", {"no_runbook", "no_docs"}, id="v2-pagerduty"),
        pytest.param("""\
schema-version: v2.1
dd-service: checkout
team: payments
integrations: {opsgenie: {service-url: "https://example.app.opsgenie.com/service/1", region: US}}
""", {"no_runbook", "no_docs"}, id="v2.1-opsgenie"),
        pytest.param("""\
schema-version: v2.1
dd-service: checkout
team: payments
links:
  - {name: Runbook, type: runbook, url: "https://r.example/c"}
  - {name: Docs, type: doc, url: "https://d.example/c"}
""", {"no_oncall"}, id="v2.1-links"),
        pytest.param("""\
schema-version: v2
dd-service: checkout
team: payments
docs: [{name: Manual, url: "https://d.example/c"}]
""", {"no_oncall", "no_runbook"}, id="v2-docs"),
    ],
)
def test_documentation_signals_from_datadog(tmp_path: Path, definition: str, expected: set[str]) -> None:
    analysis = analyse(tmp_path, Telemetry().seen("checkout"), extra={"service.datadog.yaml": definition})
    assert codes_of(analysis, "checkout") == expected


# ---------------------------------------------------------------------------------------- names


def test_name_mismatch_suggests_the_telemetry_name_as_alias(tmp_path: Path) -> None:
    docs = [component("checkout-service"), *TEAM]
    analysis = analyse(tmp_path, Telemetry().seen("checkout_service"), docs)
    assert codes_of(analysis, "checkout_service") == {"undocumented", "name_mismatch"}
    f = finding(analysis, "name_mismatch", "checkout_service")
    assert f.data == {"entity": "component:default/checkout-service", "suggested_alias": "checkout_service"}
    assert "ownermap.io/service-names" in f.detail and "checkout_service" in f.detail
    assert f.owner == "payments"
    # the entry itself is not matched: it is stale
    assert [s.service for s in analysis.findings(["stale"])] == ["checkout-service"]


@pytest.mark.parametrize("telemetry_name", ["Checkout.Service", "CHECKOUT_SERVICE", "checkout.service"])
def test_name_mismatch_after_case_and_separator_normalisation(tmp_path: Path, telemetry_name: str) -> None:
    analysis = analyse(tmp_path, Telemetry().seen(telemetry_name), [component("checkout-service"), *TEAM])
    assert "name_mismatch" in codes_of(analysis, telemetry_name)


def test_name_mismatch_with_a_namespace_prefix(tmp_path: Path) -> None:
    shop = component("checkout")
    shop["metadata"]["namespace"] = "shop"
    analysis = analyse(tmp_path, Telemetry().seen("shop.checkout"), [shop, *TEAM])
    assert finding(analysis, "name_mismatch", "shop.checkout").data["entity"] == "component:shop/checkout"


def test_declared_alias_fixes_name_mismatch(tmp_path: Path) -> None:
    docs = [component("checkout-service", annotations={**DOCUMENTED, "ownermap.io/service-names": "checkout_service"}),
            *TEAM]
    analysis = analyse(tmp_path, Telemetry().seen("checkout_service"), docs)
    assert analysis.findings() == []
    assert analysis.of("checkout_service").catalog_ref == "component:default/checkout-service"


def test_unrelated_names_are_no_mismatch(tmp_path: Path) -> None:
    analysis = analyse(tmp_path, Telemetry().seen("checkouts"), [component("checkout"), *TEAM])
    assert codes_of(analysis, "checkouts") == {"undocumented"}


@pytest.mark.parametrize("name", ["unknown_service", "unknown_service:java", "unknown_service:python3.12"])
def test_unnamed_service(tmp_path: Path, name: str) -> None:
    analysis = analyse(tmp_path, Telemetry().seen(name), [*TEAM])
    assert codes_of(analysis, name) == {"unnamed_service", "undocumented"}
    assert finding(analysis, "unnamed_service", name).severity == "high"
    assert "OTEL_SERVICE_NAME" in finding(analysis, "unnamed_service", name).detail


@pytest.mark.parametrize("name", ["unknown-service", "unknown_services", "my_unknown_service"])
def test_names_that_only_look_unnamed(tmp_path: Path, name: str) -> None:
    analysis = analyse(tmp_path, Telemetry().seen(name), [*TEAM])
    assert "unnamed_service" not in codes_of(analysis, name)


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


def test_resources_are_never_stale(tmp_path: Path) -> None:
    analysis = analyse(tmp_path, Telemetry().seen("checkout"), [component("checkout"), resource("orders-db"), *TEAM])
    assert analysis.findings() == []


# ---------------------------------------------------------------------------------------- orphans


def test_orphans_ranked_by_transitive_dependents(tmp_path: Path) -> None:
    # a → b → c and d → c: c has three dependents (a, b, d), b one, a and d none.
    telemetry = Telemetry().call("a", "b", count=1).call("b", "c", count=1).call("d", "c", count=1)
    analysis = analyse(tmp_path, telemetry, [*TEAM])
    orphans = analysis.orphans()
    assert [o.service for o in orphans][:2] == ["c", "b"]
    c = orphans[0]
    assert (c.dependents, c.calls, c.error_rate, c.codes) == (3, 2, 0.0, ["undocumented"])
    assert {o.service for o in orphans} == {"a", "b", "c", "d"}


def test_orphan_dependents_count_services_not_the_user_node(tmp_path: Path) -> None:
    """Regression: risk counts dependent *services*; the virtual `user` entry node is not one."""
    telemetry = Telemetry().seen("front").call("x", "back")
    for _ in range(100):
        telemetry.agg.call(int((T0 + 60) * NS), "user", NodeKind.USER, "front", NodeKind.SERVICE, "entry", "prod",
                           False, None, 0.01, b"\x09" * 16)
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
    assert [f["code"] for f in view["findings"]] == ["stale"]
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
    assert {(f.code, f.service) for f in analysis.findings()} == {("undocumented", "b"), ("undocumented", "c")}
