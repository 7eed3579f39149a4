"""API test fixtures: a real SQLite store seeded through the Aggregator, a small owners.yaml
catalog, a fixed clock, and a TestClient around create_app."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from api.config import ApiConfig
from api.state import ApiState
from graph.store.interface import Store
from graph.store.sqlite import SQLiteStore
from ownership.source import CatalogSource
from tests.graph.store_builders import T0, seed_shop

NOW = float(T0 + 3600)
SCRIPT = "<script>alert(1)</script>"
EDGE_FIELDS = {
    "source", "target", "connection_type", "calls", "errors", "p50_ms", "p95_ms", "p99_ms", "first_seen",
    "last_seen",
}

OWNERS_YAML = """\
version: 1
teams:
  - name: web
    members: [alice]
  - name: pay
    members: [bob]
services:
  - name: frontend
    owner: web
  - name: checkout
    owner: pay
  - name: payments
    owner: pay
"""


# The API never writes aggregates, so one seeded store and catalog serve a whole test module.


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SQLiteStore]:
    s = SQLiteStore(tmp_path_factory.mktemp("api") / "api.db")
    seed_shop(s)
    yield s
    s.close()


@pytest.fixture(scope="module")
def catalog(tmp_path_factory: pytest.TempPathFactory) -> CatalogSource:
    path = tmp_path_factory.mktemp("catalog") / "owners.yaml"
    path.write_text(OWNERS_YAML, encoding="utf-8")
    source = CatalogSource([path])
    report = source.reload()
    assert not report.errors, report.to_dict()
    return source


MakeClient = Callable[..., TestClient]


@pytest.fixture(scope="module")
def make_client(store: SQLiteStore, catalog: CatalogSource) -> Iterator[MakeClient]:
    clients: list[TestClient] = []

    def make(*, api_token: str | None = None, store_: Store | None = None, with_catalog: bool = True,
             include_api: bool = True, metric_sources: dict[str, Any] | None = None) -> TestClient:
        state = ApiState(config=ApiConfig(api_token=api_token), store=store_ or store,
                         metric_sources=metric_sources or {}, clock=lambda: NOW)
        if with_catalog:
            state.catalog = catalog
        client = TestClient(create_app(state, include_api=include_api), raise_server_exceptions=False)
        clients.append(client)
        return client

    yield make
    for client in clients:
        client.close()


@pytest.fixture(scope="module")
def client(make_client: MakeClient) -> TestClient:
    return make_client()


def assert_problem(response: Any, status: int) -> dict[str, Any]:
    """The response is application/problem+json with status, title and detail."""
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/problem+json"), response.headers
    body = response.json()
    assert body["status"] == status
    assert isinstance(body["title"], str) and body["title"]
    assert isinstance(body["detail"], str) and body["detail"]
    return body
