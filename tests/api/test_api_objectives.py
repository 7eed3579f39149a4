"""GET /api/v1/objectives over a real SQLite store and a catalog with owners.yaml objectives and an
OpenSLO file; filters, 400s, and objectives in findings and the team view."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from api.config import ApiConfig
from api.state import ApiState
from graph.aggregate import Aggregator
from graph.model import Call, NodeKind
from graph.store.sqlite import SQLiteStore
from ownership.source import CatalogSource
from tests.api.conftest import assert_problem

NOW = 1_790_000_000.0 // 3600 * 3600 + 100

OWNERS = """\
teams: [{name: pay, members: [bob]}, {name: web, members: [alice]}]
services:
  - name: frontend
    owner: web
  - name: checkout
    owner: pay
    objectives:
      - {name: checkout-up, sli: availability, target: 0.9}
      - {name: checkout-strict, sli: availability, target: 0.99}
  - name: payments
    owner: pay
    objectives:
      - {name: payments-fast, sli: latency, target: 0.9, threshold_ms: 50}
"""

GHOST = """\
apiVersion: openslo/v1
kind: SLO
metadata: {name: ghost-up}
spec:
  service: <ghost>
  indicator:
    spec:
      ratioMetric:
        good: {metricSource: {type: ownermap, spec: {signal: availability}}}
        total: {metricSource: {type: ownermap, spec: {signal: availability}}}
  timeWindow: [{duration: 7d}]
  budgetingMethod: Occurrences
  objectives: [{target: 0.99}]
"""


def _seed(store: SQLiteStore) -> None:
    agg = Aggregator(store.bucket_seconds)
    for i in range(200):  # one call every 18 s over the last hour; every 20th failed
        ts = NOW - 3600 + i * 18
        agg.call(Call(int(ts * 1e9), "frontend", NodeKind.SERVICE, "checkout", NodeKind.SERVICE, "rpc", "prod",
                      i % 20 == 0, 0.02, 0.01, bytes(16)))
        if i < 150:
            agg.call(Call(int(ts * 1e9), "checkout", NodeKind.SERVICE, "payments", NodeKind.SERVICE, "rpc", "prod",
                          False, 0.06, 0.05, bytes(16)))
    store.write(agg.drain())


@pytest.fixture(scope="module")
def client(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TestClient]:
    root = tmp_path_factory.mktemp("objectives")
    catalog_dir = root / "catalog"
    catalog_dir.mkdir()
    (catalog_dir / "owners.yaml").write_text(OWNERS, encoding="utf-8")
    (catalog_dir / "ghost.yaml").write_text(GHOST, encoding="utf-8")
    store = SQLiteStore(Path(root / "om.db"))
    _seed(store)
    source = CatalogSource([catalog_dir])
    assert not source.reload().errors
    state = ApiState(config=ApiConfig(), store=store, catalog=source, clock=lambda: NOW)
    with TestClient(create_app(state), raise_server_exceptions=False) as test_client:
        yield test_client
    store.close()


def _by_name(body: dict) -> dict[str, dict]:  # type: ignore[type-arg]
    return {o["name"]: o for o in body["objectives"]}


def test_objectives_measured_with_status(client: TestClient) -> None:
    found = _by_name(client.get("/api/v1/objectives").json())
    up = found["checkout-up"]
    assert (up["observed"], up["good"], up["total"], up["status"], up["owner"]) == (0.95, 190, 200, "met", "pay")
    assert up["budget_remaining"] == pytest.approx(0.5)  # 10 bad of a budget of 20
    assert set(up["burn_rates"]) == {"5m", "30m", "1h", "6h"}
    assert up["burn_rates"]["1h"] == pytest.approx(0.5)
    assert found["checkout-strict"]["status"] == "breached"
    assert found["checkout-strict"]["budget_remaining"] == pytest.approx(1 - 10 / 2)
    fast = found["payments-fast"]  # every server duration is 50 ms: on the bucket bound, exact
    assert (fast["observed"], fast["status"], fast["approximate"], fast["threshold_ms"]) == (1.0, "met", False, 50)
    assert found["ghost-up"]["status"] == "unmatched"
    assert up["window"]["end"].startswith("2026-") and up["target"] == 0.9 and up["estimated"] is False


def test_filters(client: TestClient) -> None:
    assert set(_by_name(client.get("/api/v1/objectives?service=CHECKOUT").json())) == {"checkout-up",
                                                                                       "checkout-strict"}
    assert set(_by_name(client.get("/api/v1/objectives?owner=pay&status=met").json())) == {"checkout-up",
                                                                                           "payments-fast"}
    assert client.get("/api/v1/objectives?env=staging").json()["objectives"][0]["total"] == 0
    past = _by_name(client.get("/api/v1/objectives", params={"end": "2020-01-01"}).json())
    assert past["checkout-up"]["status"] == "insufficient_data"


@pytest.mark.parametrize("query", ["status=bogus", "end=yesterday-ish", "service=" + "x" * 300])
def test_bad_values_are_400(client: TestClient, query: str) -> None:
    assert_problem(client.get(f"/api/v1/objectives?{query}"), 400)


def test_objective_findings_and_team_view(client: TestClient) -> None:
    findings = client.get("/api/v1/findings?window=24h").json()["findings"]
    pairs = {(f["code"], f["service"]) for f in findings if "objective" in f["code"]}
    assert pairs == {("objective_breached", "checkout"), ("objective_unmatched", "<ghost>")}
    # A breached objective's finding carries its answer's values, as /api/v1/objectives shows them.
    breached = next(f for f in findings if f["code"] == "objective_breached")
    shown = _by_name(client.get("/api/v1/objectives?service=checkout").json())[breached["data"]["objective"]]
    assert breached["data"] == {"objective": shown["name"], **{k: shown[k] for k in (
        "sli", "target", "observed", "budget_remaining", "burn_rates", "source")}}
    team = client.get("/api/v1/teams/pay?window=24h").json()
    assert {o["name"] for o in team["objectives"]} == {"checkout-up", "checkout-strict", "payments-fast"}
