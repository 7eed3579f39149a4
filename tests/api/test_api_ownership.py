"""The ownership API end to end: findings, services' ownership fields, teams, catalog reload, scaffold.

A real SQLite store (on disk) is filled through the Aggregator with explicit timestamps; the
catalog is a directory of real files; the app is create_app() with a fixed clock.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote

import pytest
import yaml
from fastapi.testclient import TestClient

from api.app import create_app
from api.config import ApiConfig
from api.state import ApiState
from graph.aggregate import Aggregator
from graph.model import Call, NodeKind, Resource, Span, SpanKind
from graph.store.sqlite import SQLiteStore
from ownership.catalog import load_catalog
from ownership.findings import ALL_CODES
from ownership.source import CatalogSource

T0 = 1_700_000_100
NS = 1_000_000_000
NOW = float(T0 + 3600)
FINDING_FIELDS = {"code", "service", "severity", "detail", "owner", "suggested_owners"}
HOSTILE = "<script>alert(1)</script>"

CATALOG = """\
apiVersion: backstage.io/v1alpha1
kind: Component
metadata:
  name: checkout
  annotations: {pagerduty.com/service-id: P1, backstage.io/techdocs-ref: "dir:."}
  links: [{url: "https://runbooks.example/checkout", title: Runbook}]
spec: {type: service, lifecycle: production, owner: payments, dependsOn: ["resource:orders-db"]}
---
apiVersion: backstage.io/v1alpha1
kind: Component
metadata: {name: legacy}
spec: {type: service, lifecycle: deprecated, owner: payments}
---
apiVersion: backstage.io/v1alpha1
kind: Component
metadata: {name: retired}
spec: {type: service, lifecycle: production, owner: search}
---
apiVersion: backstage.io/v1alpha1
kind: Component
metadata: {name: checkout-service}
spec: {type: service, lifecycle: production, owner: search}
---
apiVersion: backstage.io/v1alpha1
kind: Resource
metadata: {name: orders-db}
spec: {type: database, owner: payments}
---
apiVersion: backstage.io/v1alpha1
kind: Group
metadata: {name: payments, annotations: {opsgenie.com/team: payments}}
spec: {type: team, children: [], members: [alice]}
---
apiVersion: backstage.io/v1alpha1
kind: Group
metadata: {name: search}
spec: {type: team, children: []}
---
apiVersion: backstage.io/v1alpha1
kind: User
metadata: {name: alice}
spec: {memberOf: [payments]}
"""


class Telemetry:
    def __init__(self) -> None:
        self.agg = Aggregator(bucket_seconds=300)
        self._n = 0

    def seen(self, service: str, hints: dict[str, str] | None = None, ts: float = T0 + 60) -> Telemetry:
        self._n += 1
        self.agg.sighting(Span(self._n.to_bytes(16, "big"), self._n.to_bytes(8, "big"), b"",
                               Resource(service, "prod", dict(hints or {})), SpanKind.SERVER,
                               int(ts * NS), int(ts * NS) + 1))
        return self

    def call(self, client: str, server: str, count: int = 1, failed: int = 0, server_kind: str = NodeKind.SERVICE,
             ctype: str = "rpc", ts: float = T0 + 60) -> Telemetry:
        for i in range(count):
            self.agg.call(Call(int(ts * NS), client, NodeKind.SERVICE, server, server_kind, ctype, "prod", i < failed,
                          0.01, 0.01, b"\x04" * 16))
        return self


@dataclass
class World:
    client: TestClient
    catalog_file: Path
    state: ApiState


@pytest.fixture
def world(tmp_path: Path) -> Iterator[World]:
    store = SQLiteStore(tmp_path / "ownermap.db")
    telemetry = (
        Telemetry()
        .seen("checkout").seen("legacy").seen("checkout_service")
        .seen("mystery", {"team": "payments", "service.namespace": "shop"})
        .seen("unknown_service:java").seen(HOSTILE)
        .call("checkout", "legacy", count=2)
        .call("mystery", "checkout", count=5, failed=1)
        .call("checkout", "orders-db", count=3, server_kind=NodeKind.DATABASE, ctype="database")
        .call("checkout", "cache", server_kind=NodeKind.DATABASE, ctype="database")
        .call(HOSTILE, "mystery")
    )
    store.write(telemetry.agg.drain())
    catalog_file = tmp_path / "catalog" / "catalog-info.yaml"
    catalog_file.parent.mkdir()
    catalog_file.write_text(CATALOG, encoding="utf-8")
    source = CatalogSource([catalog_file.parent])
    assert source.reload().errors == []
    state = ApiState(config=ApiConfig(catalog_paths=[str(catalog_file.parent)]), store=store, catalog=source,
                     clock=lambda: NOW)
    with TestClient(create_app(state), raise_server_exceptions=False) as client:
        yield World(client, catalog_file, state)
    store.close()


def problem(response, status: int) -> dict:  # type: ignore[no-untyped-def]
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    body = response.json()
    assert body["status"] == status and body["title"] and body["detail"]
    return body


def pairs(body: dict) -> set[tuple[str, str]]:
    return {(f["code"], f["service"]) for f in body["findings"]}


# ------------------------------------------------------------------------------------ /findings


def test_findings_shape_and_content(world: World) -> None:
    response = world.client.get("/api/v1/findings")
    assert response.status_code == 200
    body = response.json()
    assert set(body) == {"window", "catalog_complete", "findings"}
    assert body["catalog_complete"] is True  # a file catalog is complete
    assert set(body["window"]) == {"start", "end"}
    assert body["window"]["end"].startswith("2023-11-14T23:15:00")
    for f in body["findings"]:
        assert set(f) >= FINDING_FIELDS, f
        assert f["code"] in ALL_CODES and f["severity"] in ("high", "medium", "low")
        assert isinstance(f["suggested_owners"], list)
    assert pairs(body) == {
        ("undocumented", "mystery"), ("undocumented", HOSTILE), ("undocumented", "unknown_service:java"),
        ("unnamed_service", "unknown_service:java"), ("undocumented", "checkout_service"),
        ("name_mismatch", "checkout_service"), ("deprecated_in_use", "legacy"), ("no_runbook", "legacy"),
        ("no_docs", "legacy"), ("stale", "retired"),  # the near-matched checkout-service is not stale (issue 15)
        ("undeclared_dependency", "checkout"),  # calls legacy and cache; dependsOn lists only orders-db
        ("no_objective", "legacy"), ("no_objective", "mystery"), ("no_objective", "checkout"),  # called, no SLO
    }
    targets = sorted(f["data"]["target"] for f in body["findings"] if f["code"] == "undeclared_dependency")
    assert targets == ["cache", "legacy"]
    severities = [{"high": 0, "medium": 1, "low": 2}[f["severity"]] for f in body["findings"]]
    assert severities == sorted(severities)


def test_findings_details(world: World) -> None:
    body = world.client.get("/api/v1/findings").json()
    by = {(f["code"], f["service"]): f for f in body["findings"]}
    deprecated = by[("deprecated_in_use", "legacy")]
    assert deprecated["data"]["callers"] == ["checkout"] and deprecated["owner"] == "payments"
    mismatch = by[("name_mismatch", "checkout_service")]
    assert mismatch["data"]["suggested_alias"] == "checkout_service"
    assert mismatch["data"]["entity"] == "component:default/checkout-service"
    mystery = by[("undocumented", "mystery")]
    assert mystery["owner"] is None
    assert mystery["suggested_owners"][0]["team"] == "payments"
    assert 0 < mystery["suggested_owners"][0]["confidence"] <= 1


def test_findings_code_filter(world: World) -> None:
    body = world.client.get("/api/v1/findings", params={"code": "undocumented"}).json()
    assert {f["code"] for f in body["findings"]} == {"undocumented"}
    assert {f["service"] for f in body["findings"]} == {"mystery", HOSTILE, "unknown_service:java",
                                                         "checkout_service"}
    body = world.client.get("/api/v1/findings?code=stale&code=unnamed_service").json()
    # the near-matched checkout-service is not stale: its gap is checkout_service's name_mismatch (issue 15)
    assert pairs(body) == {("stale", "retired"), ("unnamed_service", "unknown_service:java")}


@pytest.mark.parametrize("query", ["code=bogus", "code=undocumented&code=bogus", "code="])
def test_findings_unknown_code_is_400(world: World, query: str) -> None:
    body = problem(world.client.get(f"/api/v1/findings?{query}"), 400)
    assert "code" in body["detail"]


def test_findings_owner_filter(world: World) -> None:
    body = world.client.get("/api/v1/findings", params={"owner": "payments"}).json()
    assert body["findings"] and {f["owner"] for f in body["findings"]} == {"payments"}
    assert ("deprecated_in_use", "legacy") in pairs(body)
    search = world.client.get("/api/v1/findings", params={"owner": "SEARCH"}).json()
    assert ("stale", "retired") in pairs(search)
    assert world.client.get("/api/v1/findings", params={"owner": "nobody"}).json()["findings"] == []


def test_findings_follow_the_window(world: World) -> None:
    recent = world.client.get("/api/v1/findings", params={"window": "15m"}).json()
    # nothing was seen in the last 15 minutes: every service entry is stale, nothing is undocumented
    assert {c for c, _ in pairs(recent)} == {"stale"}
    assert {s for _, s in pairs(recent)} == {"checkout", "legacy", "retired", "checkout-service"}
    problem(world.client.get("/api/v1/findings", params={"window": "7 days"}), 400)


# ------------------------------------------------------------------------------------ /services


def test_services_carry_ownership_fields(world: World) -> None:
    body = world.client.get("/api/v1/services").json()
    by = {s["name"]: s for s in body["services"]}
    checkout = by["checkout"]
    assert (checkout["owner"], checkout["owner_status"], checkout["catalog_ref"]) == (
        "payments", "ok", "component:default/checkout")
    assert checkout["findings"] == ["undeclared_dependency", "undeclared_dependency",  # cache and legacy
                                    "no_objective"]
    mystery = by["mystery"]
    assert (mystery["owner"], mystery["owner_status"], mystery["catalog_ref"]) == (None, "undocumented", None)
    assert mystery["findings"] == ["undocumented", "no_objective"]
    # on-call comes from the owning team's opsgenie.com/team annotation
    assert sorted(by["legacy"]["findings"]) == ["deprecated_in_use", "no_docs", "no_objective", "no_runbook"]
    assert by["orders-db"]["owner_status"] == "virtual" and by["orders-db"]["owner"] == "payments"
    assert by["orders-db"]["catalog_ref"] == "resource:default/orders-db"
    assert (by["cache"]["owner_status"], by["cache"]["owner"], by["cache"]["findings"]) == ("virtual", None, [])
    assert set(by["unknown_service:java"]["findings"]) == {"unnamed_service", "undocumented"}
    statuses = {"ok", "undocumented", "unowned", "owner_not_found", "owner_inactive", "virtual"}
    assert {s["owner_status"] for s in body["services"]} <= statuses


def test_service_detail_has_catalog_and_suggestions(world: World) -> None:
    mystery = world.client.get("/api/v1/services/mystery").json()
    assert mystery["catalog"] is None
    assert mystery["hints"]["team"] == "payments"
    (best, *_) = mystery["suggested_owners"]
    assert best["team"] == "payments" and 0 < best["confidence"] <= 1 and best["evidence"]
    checkout = world.client.get("/api/v1/services/checkout").json()
    assert checkout["catalog"]["ref"] == "component:default/checkout"
    assert checkout["catalog"]["owner"] == "group:default/payments"
    assert checkout["suggested_owners"] == []
    hostile = world.client.get("/api/v1/services/" + quote(HOSTILE, safe="")).json()
    assert hostile["name"] == HOSTILE and hostile["owner_status"] == "undocumented"


def test_dependents_list_owners_to_notify(world: World) -> None:
    body = world.client.get("/api/v1/services/legacy/dependents").json()
    assert [d["name"] for d in body["dependents"]] == ["checkout", "mystery", HOSTILE]
    assert body["owners_to_notify"] == ["payments"]


def test_reach_owners_equal_the_analysis_owners_and_follow_a_catalog_reload(world: World) -> None:
    def owners_by_analysis() -> dict[str, str | None]:
        return {s["name"]: s["owner"] for s in world.client.get("/api/v1/services").json()["services"]}

    def owners_by_reach() -> dict[str, str | None]:
        out = {}
        for name in owners_by_analysis():
            for direction in ("dependents", "dependencies"):
                body = world.client.get(f"/api/v1/services/{quote(name, safe='')}/{direction}").json()
                out.update({d["name"]: d["owner"] for d in body[direction]})
        return out

    by_reach = owners_by_reach()
    assert len(by_reach) >= 6 and any(by_reach.values())
    assert by_reach == {n: o for n, o in owners_by_analysis().items() if n in by_reach}
    world.catalog_file.write_text(CATALOG.replace("owner: payments", "owner: search"), encoding="utf-8")
    world.state.catalog.reload()
    assert owners_by_reach() == {n: o for n, o in owners_by_analysis().items() if n in by_reach}
    assert "search" in owners_by_reach().values()


def test_map_owners_and_statuses_equal_the_analysis_and_follow_a_catalog_reload(world: World) -> None:
    def by_map() -> dict[str, tuple[str | None, str | None]]:
        return {n["id"]: (n["owner"], n["owner_status"]) for n in world.client.get("/api/v1/graph").json()["nodes"]}

    def by_analysis() -> dict[str, tuple[str | None, str | None]]:
        return {s["name"]: (s["owner"], s["owner_status"])
                for s in world.client.get("/api/v1/services").json()["services"]}

    statuses = {status for _, status in by_map().values()}
    assert {"ok", "undocumented", "virtual"} <= statuses
    assert by_map() == by_analysis()
    world.catalog_file.write_text(CATALOG.replace("owner: payments", "owner: nobody"), encoding="utf-8")
    world.state.catalog.reload()
    assert "owner_not_found" in {status for _, status in by_map().values()}
    assert by_map() == by_analysis()


def test_cached_map_follows_every_catalog_reload(world: World) -> None:
    world.state.cache_seconds = 3600.0  # one graph object answers every request below

    def checkout_owner() -> str | None:
        nodes = world.client.get("/api/v1/graph").json()["nodes"]
        return next(n["owner"] for n in nodes if n["id"] == "checkout")

    assert checkout_owner() == "payments"
    # The map's JSON body is kept with the cached graph: it must be kept per catalog, and each reload
    # makes a new one (keying by a freed lens's id() could even bring back an older catalog's body).
    for _ in range(3):
        for team in ("search", "nobody", "payments"):
            world.catalog_file.write_text(CATALOG.replace("owner: payments", f"owner: {team}"), encoding="utf-8")
            world.state.catalog.reload()
            assert checkout_owner() == team


# ------------------------------------------------------------------------------------ /teams


def test_teams(world: World) -> None:
    body = world.client.get("/api/v1/teams").json()
    assert set(body) == {"window", "teams"}
    teams = {t["team"]: t for t in body["teams"]}
    assert set(teams) == {"payments", "search"}
    payments = teams["payments"]
    assert payments["services"] == ["checkout", "legacy"]
    assert payments["members"] == ["user:default/alice"] and payments["active"] is True
    assert teams["search"]["active"] is False
    assert teams["search"]["declared_services"] == ["checkout-service", "retired"]
    assert {(f["code"], f["service"]) for f in teams["search"]["findings"]} == {
        ("stale", "retired"), ("name_mismatch", "checkout_service")}  # checkout-service is near-matched


def test_one_team(world: World) -> None:
    body = world.client.get("/api/v1/teams/payments").json()
    assert body["team"] == "payments" and set(body["window"]) == {"start", "end"}
    assert body["services"] == ["checkout", "legacy"]
    assert all(f["owner"] == "payments" for f in body["findings"])
    assert world.client.get("/api/v1/teams/group:default/payments").json()["team"] == "payments"


def test_unknown_team_is_404(world: World) -> None:
    body = problem(world.client.get("/api/v1/teams/nobody"), 404)
    assert "nobody" in body["detail"]
    problem(world.client.get("/api/v1/teams/alice"), 404)  # a User is not a team


# ------------------------------------------------------------------------------------ reload


def test_reload_reflects_an_edited_file_without_restart(world: World) -> None:
    before = world.client.get("/api/v1/services/mystery").json()
    assert before["owner_status"] == "undocumented"
    world.catalog_file.write_text(CATALOG + """\
---
apiVersion: backstage.io/v1alpha1
kind: Component
metadata: {name: mystery}
spec: {type: service, lifecycle: production, owner: payments}
""", encoding="utf-8")
    # not reloaded yet: the API still answers from the old catalog
    assert world.client.get("/api/v1/services/mystery").json()["owner_status"] == "undocumented"
    response = world.client.post("/api/v1/catalog/reload")
    assert response.status_code == 200
    report = response.json()
    assert report["counts"] == {"Component": 5, "Resource": 1, "Group": 2, "User": 1}
    assert report["errors"] == [] and report["files"] == 1
    after = world.client.get("/api/v1/services/mystery").json()
    assert (after["owner"], after["owner_status"]) == ("payments", "ok")
    findings = world.client.get("/api/v1/findings", params={"code": "undocumented"}).json()
    assert "mystery" not in {f["service"] for f in findings["findings"]}


def test_reload_reports_errors_with_file_and_field(world: World) -> None:
    world.catalog_file.write_text(CATALOG + """\
---
apiVersion: backstage.io/v1alpha1
kind: Component
metadata: {name: mystery}
spec: {type: service, owner: payments}
""", encoding="utf-8")
    report = world.client.post("/api/v1/catalog/reload").json()
    (error,) = report["errors"]
    assert error["file"].endswith("catalog-info.yaml") and error["field"] == "spec.lifecycle"
    assert report["counts"]["Component"] == 5  # every entity is kept, the broken one with its error (issue 15)
    assert world.client.get("/api/v1/services/checkout").json()["owner_status"] == "ok"


def test_reload_is_a_post(world: World) -> None:
    assert world.client.get("/api/v1/catalog/reload").status_code == 405


# ------------------------------------------------------------------------------------ scaffold


def test_scaffold_is_yaml_and_a_valid_component(world: World, tmp_path: Path) -> None:
    response = world.client.get("/api/v1/catalog/scaffold/mystery")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/yaml")
    assert 'filename="catalog-info-mystery.yaml"' in response.headers["content-disposition"]
    data = yaml.safe_load(response.text)
    assert data["kind"] == "Component" and data["metadata"]["name"] == "mystery"
    assert data["spec"]["owner"] == "group:default/payments"
    assert data["spec"]["dependsOn"] == ["component:default/checkout"]
    file = tmp_path / "claim" / "catalog-info.yaml"
    file.parent.mkdir()
    file.write_text(response.text, encoding="utf-8")
    assert load_catalog([file]).errors == []


def test_scaffold_of_a_hostile_name(world: World, tmp_path: Path) -> None:
    response = world.client.get("/api/v1/catalog/scaffold/" + quote(HOSTILE, safe=""))
    assert response.status_code == 200
    disposition = response.headers["content-disposition"]
    assert "<" not in disposition and "/" not in disposition.split("filename=")[1]
    data = yaml.safe_load(response.text)
    assert data["metadata"]["annotations"]["opentelemetry.io/service-name"] == HOSTILE
    assert data["metadata"]["name"] == "script-alert-1-script"
    file = tmp_path / "claim" / "catalog-info.yaml"
    file.parent.mkdir()
    file.write_text(response.text, encoding="utf-8")
    assert load_catalog([file]).errors == []


def test_scaffold_unknown_service_is_404(world: World) -> None:
    body = problem(world.client.get("/api/v1/catalog/scaffold/nobody"), 404)
    assert "nobody" in body["detail"]


def test_scaffold_outside_the_window_is_404(world: World) -> None:
    problem(world.client.get("/api/v1/catalog/scaffold/mystery", params={"window": "15m"}), 404)


# ------------------------------------------------------------------------------------ auth


def test_ownership_routes_need_the_token_when_set(world: World) -> None:
    world.state.config.api_token = "s3cret"
    for method, path in (("GET", "/api/v1/findings"), ("GET", "/api/v1/teams"), ("GET", "/api/v1/teams/payments"),
                         ("POST", "/api/v1/catalog/reload"), ("GET", "/api/v1/catalog/scaffold/mystery")):
        problem(world.client.request(method, path), 401)
        ok = world.client.request(method, path, headers={"Authorization": "Bearer s3cret"})
        assert ok.status_code == 200, (path, ok.text)
