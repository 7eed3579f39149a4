"""Answers read through the in-memory mirror (as `serve` reads) equal the answers summed in SQL."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from typing import Any

import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from api.config import ApiConfig
from api.state import ApiState
from graph.model import Window
from graph.store.mirror import QueryMirror
from graph.store.sqlite import SQLiteStore
from ownership.source import CatalogSource
from tests.api.conftest import NOW, MakeClient
from tests.graph.test_mirror import _exemplar_pool

QUERIES = [
    "/api/v1/graph", "/api/v1/graph?include_self=true", "/api/v1/graph?window=1h", "/api/v1/graph?env=prod",
    "/api/v1/services", "/api/v1/findings", "/api/v1/teams", "/api/v1/services/payments",
    "/api/v1/services/payments/dependents", "/api/v1/services/checkout/dependencies?depth=1",
    "/api/v1/graph?format=dot", "/api/v1/graph?format=mermaid",
]


@pytest.fixture(scope="module")
def clients(
    make_client: MakeClient, store: SQLiteStore, catalog: CatalogSource,
) -> Iterator[tuple[TestClient, TestClient]]:
    mirrored = QueryMirror(store, days=8, refresh_seconds=0, clock=lambda: NOW)
    state = ApiState(config=ApiConfig(), store=store, reads=mirrored, catalog=catalog, clock=lambda: NOW)
    with TestClient(create_app(state), raise_server_exceptions=False) as by_mirror:
        yield make_client(), by_mirror


def _exemplars_by_rule(value: Any, pool: dict[tuple[str, str, str], set[str]]) -> Any:
    """The answer with each edge's exemplar ids checked against the rule (at most five distinct ids, all
    held by the edge's rows in the window, some whenever those hold some) and then replaced by True."""
    if isinstance(value, dict):
        if "exemplar_trace_ids" in value and "source" in value:
            ids = value["exemplar_trace_ids"]
            held = pool.get((value["source"], value["target"], value["connection_type"]), set())
            assert len(ids) == len(set(ids)) <= 5 and set(ids) <= held and bool(ids) == bool(held), (value, held)
        return {k: True if k == "exemplar_trace_ids" else _exemplars_by_rule(v, pool) for k, v in value.items()}
    if isinstance(value, list):
        return [_exemplars_by_rule(v, pool) for v in value]
    return value


def _pool(store: SQLiteStore, body: dict[str, Any], query: str) -> dict[tuple[str, str, str], set[str]]:
    seconds = [datetime.fromisoformat(body["window"][k].replace("Z", "+00:00")).timestamp() for k in ("start", "end")]
    return _exemplar_pool(store, Window(*seconds), "prod" if "env=prod" in query else None)


@pytest.mark.parametrize("query", QUERIES)
def test_mirrored_answers_equal_sql_answers(clients: tuple[TestClient, TestClient], store: SQLiteStore,
                                            query: str) -> None:
    by_sql, by_mirror = (client.get(query) for client in clients)
    assert by_sql.status_code == by_mirror.status_code == 200, (by_sql.text, by_mirror.text)
    if by_sql.headers["content-type"].startswith("application/json"):
        assert by_sql.json(), query
        body = by_sql.json()
        pool = _pool(store, body, query) if "window" in body else {}
        assert _exemplars_by_rule(by_mirror.json(), pool) == _exemplars_by_rule(body, pool)
    else:
        assert by_mirror.text == by_sql.text
