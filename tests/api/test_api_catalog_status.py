"""A live Backstage source seen through the API: `GET /api/v1/catalog/status`, `catalog_complete` in findings
and the weekly report, the sync metrics, and findings that do not change when a sync fails."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from api.config import ApiConfig
from api.state import ApiState
from graph.store.sqlite import SQLiteStore
from ownermap.metrics import build_registry
from ownership.catalog.live import LiveOptions
from ownership.source import CatalogSource
from tests.api.conftest import NOW
from tests.ownership.catalog.backstage_server import TOKEN, BackstageServer, FakeBackstage, Fault, entity

OPTIONS = LiveOptions(backstage_token=TOKEN, backstage_timeout=0.5, backstage_initial_wait=0.01)


def shop_entities() -> list[dict[str, Any]]:
    return [
        entity("Group", "web", type="team", children=[], members=["alice"]),
        entity("Group", "pay", type="team", children=[], members=["bob"]),
        entity("User", "alice", memberOf=["web"]),
        entity("User", "bob", memberOf=["pay"]),
        *(entity("Component", name, type="service", lifecycle="production", owner=owner)
          for name, owner in (("frontend", "web"), ("checkout", "pay"), ("payments", "pay"))),
    ]


@pytest.fixture
def fake() -> FakeBackstage:
    return FakeBackstage(shop_entities(), page_size=2)  # 7 entities, 4 pages


@pytest.fixture
def server(fake: FakeBackstage) -> Iterator[BackstageServer]:
    with BackstageServer(fake) as running:
        yield running


def make_client(store: SQLiteStore, catalog: CatalogSource) -> TestClient:
    state = ApiState(config=ApiConfig(), store=store, catalog=catalog, clock=lambda: NOW,
                     metric_sources={"registry": build_registry(None, None, None, catalog.status)})
    return TestClient(create_app(state), raise_server_exceptions=False)


def findings(client: TestClient) -> dict[str, Any]:
    response = client.get("/api/v1/findings")
    assert response.status_code == 200, response.text
    return response.json()


def metric(client: TestClient, name: str, source: str) -> float | None:
    for line in client.get("/metrics").text.splitlines():
        if line.startswith(f'{name}{{source="{source}"}}'):
            return float(line.rsplit(" ", 1)[1])
    return None


def test_status_findings_and_metrics_through_a_failed_sync_and_a_good_one(
        store: SQLiteStore, fake: FakeBackstage, server: BackstageServer) -> None:
    catalog = CatalogSource([server.url], live=OPTIONS)
    client = make_client(store, catalog)
    reloaded = client.post("/api/v1/catalog/reload").json()
    assert reloaded["catalog_complete"] is True and reloaded["counts"]["Component"] == 3
    good = findings(client)
    assert good["catalog_complete"] is True
    assert not any(f["code"] == "undocumented" and f["service"] == "checkout" for f in good["findings"])
    base = server.url.removeprefix("backstage+")
    [status] = client.get("/api/v1/catalog/status").json()["sources"]
    assert status["source"] == base and status["kind"] == "backstage" and status["entities"] == 7
    assert status["errors"] == [] and status["last_success"].endswith("+00:00")
    synced_at = metric(client, "ownermap_catalog_sync_success_timestamp_seconds", base)
    assert synced_at is not None and metric(client, "ownermap_catalog_entities", base) == 7

    fake.faults[3] = Fault("500")
    fake.entities.pop()  # payments leaves the catalog: the failed sync must not half-apply that
    client.post("/api/v1/catalog/reload")
    assert findings(client) == good
    [status] = client.get("/api/v1/catalog/status").json()["sources"]
    assert "page 3: HTTP 500" in status["errors"][0] and status["entities"] == 7
    assert metric(client, "ownermap_catalog_sync_failures_total", base) == 1
    assert metric(client, "ownermap_catalog_sync_success_timestamp_seconds", base) == synced_at

    del fake.faults[3]
    client.post("/api/v1/catalog/reload")
    after = findings(client)
    assert any(f["code"] == "undocumented" and f["service"] == "payments" for f in after["findings"])
    [status] = client.get("/api/v1/catalog/status").json()["sources"]
    assert status["errors"] == [] and status["entities"] == 6
    assert metric(client, "ownermap_catalog_entities", base) == 6


def test_a_token_refused_at_start_up_marks_findings_and_the_report_incomplete(
        store: SQLiteStore, server: BackstageServer) -> None:
    catalog = CatalogSource([server.url], live=LiveOptions(backstage_token="wrong", backstage_initial_wait=0.01))
    catalog.reload()
    client = make_client(store, catalog)
    assert findings(client)["catalog_complete"] is False
    report = client.get("/api/v1/reports/weekly", params={"format": "json"}).json()
    assert report["catalog_complete"] is False
    body = client.get("/api/v1/catalog/status").json()
    assert body["catalog_complete"] is False
    assert body["sources"][0]["last_success"] is None and "HTTP 401" in body["sources"][0]["errors"][0]
    assert "wrong" not in client.get("/api/v1/catalog/status").text + client.get("/metrics").text
