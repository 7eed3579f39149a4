"""GET /healthz, /readyz, /metrics: open endpoints, readiness follows the store."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from prometheus_client import CollectorRegistry, Counter

from graph.store.sqlite import SQLiteStore
from tests.api.conftest import MakeClient, assert_problem


class UnreachableStore(SQLiteStore):
    """A store whose database has gone away."""

    def ping(self) -> None:
        raise sqlite3.OperationalError("unable to open database file")


def test_healthz(make_client: MakeClient) -> None:
    response = make_client().get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


def test_readyz_when_store_reachable(make_client: MakeClient) -> None:
    response = make_client().get("/readyz")
    assert response.status_code == 200
    assert response.json() == {"status": "ready"}


def test_readyz_503_when_store_ping_fails(make_client: MakeClient, tmp_path: Path) -> None:
    broken = UnreachableStore(tmp_path / "broken.db")
    try:
        client = make_client(store_=broken)
        body = assert_problem(client.get("/readyz"), 503)
        assert "store unreachable" in body["detail"]
        assert "unable to open database file" in body["detail"]
        assert client.get("/healthz").status_code == 200  # liveness does not depend on the store
    finally:
        broken.close()


def test_metrics_exposition(make_client: MakeClient) -> None:
    registry = CollectorRegistry()
    counter = Counter("ownermap_test_things", "Things counted by the test", registry=registry)
    counter.inc(3)
    response = make_client(metric_sources={"registry": registry}).get("/metrics")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    assert "version=" in response.headers["content-type"]
    assert "ownermap_test_things_total 3.0" in response.text
    assert "# TYPE ownermap_test_things_total counter" in response.text


def test_metrics_without_registry_is_empty(make_client: MakeClient) -> None:
    response = make_client().get("/metrics")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    assert response.text == ""


def test_health_stays_open_with_a_token(make_client: MakeClient) -> None:
    client = make_client(api_token="s3cret")
    for path in ("/healthz", "/readyz", "/metrics"):
        assert client.get(path).status_code == 200, path


def test_ingest_role_serves_only_health_and_metrics(make_client: MakeClient) -> None:
    client = make_client(include_api=False)
    for path in ("/healthz", "/readyz", "/metrics"):
        assert client.get(path).status_code == 200, path
    assert_problem(client.get("/api/v1/services"), 404)
    assert_problem(client.get("/api/v1/graph"), 404)
