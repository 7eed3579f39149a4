"""Answers read through the in-memory mirror (as `serve` reads) equal the answers summed in SQL."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient

from graph.store.mirror import MirroredStore
from graph.store.sqlite import SQLiteStore
from tests.api.conftest import NOW, MakeClient

QUERIES = [
    "/api/v1/graph", "/api/v1/graph?include_self=true", "/api/v1/graph?window=1h", "/api/v1/graph?env=prod",
    "/api/v1/services", "/api/v1/findings", "/api/v1/teams", "/api/v1/services/payments",
    "/api/v1/services/payments/dependents", "/api/v1/services/checkout/dependencies?depth=1",
    "/api/v1/graph?format=dot", "/api/v1/graph?format=mermaid",
]


@pytest.fixture(scope="module")
def clients(make_client: MakeClient, store: SQLiteStore) -> tuple[TestClient, TestClient]:
    mirrored = MirroredStore(store, days=8, refresh_seconds=0, clock=lambda: NOW)
    return make_client(), make_client(store_=mirrored)


def _without_exemplars(value: Any) -> Any:
    """Exemplar trace ids are a sample: the mirror shows the latest row's, SQL the greatest text."""
    if isinstance(value, dict):
        return {k: bool(v) if k == "exemplar_trace_ids" else _without_exemplars(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_without_exemplars(v) for v in value]
    return value


@pytest.mark.parametrize("query", QUERIES)
def test_mirrored_answers_equal_sql_answers(clients: tuple[TestClient, TestClient], query: str) -> None:
    by_sql, by_mirror = (client.get(query) for client in clients)
    assert by_sql.status_code == by_mirror.status_code == 200, (by_sql.text, by_mirror.text)
    if by_sql.headers["content-type"].startswith("application/json"):
        assert by_sql.json(), query
        assert _without_exemplars(by_mirror.json()) == _without_exemplars(by_sql.json())
    else:
        assert by_mirror.text == by_sql.text
