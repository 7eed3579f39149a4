"""Property-based run of schemathesis against the app's own OpenAPI schema: no request, however
malformed, gets a 5xx, and every error is problem+json."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi import FastAPI
from hypothesis import HealthCheck, settings

from api.app import create_app
from api.config import ApiConfig
from api.state import ApiState
from graph.store.sqlite import SQLiteStore
from tests.conftest import skip_or_fail
from tests.graph.store_builders import T0, seed_shop

try:
    import schemathesis
except ImportError:  # pragma: no cover - the test extra installs it
    schemathesis = None

NOW = float(T0 + 3600)


def _app_with_store(path: Path) -> tuple[FastAPI, SQLiteStore]:
    store = SQLiteStore(path)
    seed_shop(store)
    return create_app(ApiState(config=ApiConfig(), store=store, clock=lambda: NOW)), store


@pytest.fixture(scope="module")
def seeded_app(tmp_path_factory: pytest.TempPathFactory) -> Iterator[FastAPI]:
    app, store = _app_with_store(tmp_path_factory.mktemp("schemathesis") / "s.db")
    yield app
    store.close()


if schemathesis is None:

    def test_schemathesis_available() -> None:
        skip_or_fail("schemathesis is not installed (pip install schemathesis)")

else:
    # The schema is read from a throwaway app (same routes); each case runs against `seeded_app`.
    _schema_app, _schema_store = _app_with_store(Path(":memory:"))
    schema = schemathesis.openapi.from_asgi("/openapi.json", _schema_app)

    @schema.parametrize()
    @settings(max_examples=10, deadline=None, derandomize=True,
              suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much,
                                     HealthCheck.function_scoped_fixture])
    def test_no_server_errors(case: schemathesis.Case, seeded_app: FastAPI) -> None:
        response = case.call(app=seeded_app)
        assert response.status_code < 500, (case.method, case.formatted_path, case.query, response.text)
        if response.status_code >= 400:
            assert response.headers["content-type"][0].startswith("application/problem+json")
            body = response.json()
            assert body["status"] == response.status_code
            assert body["title"] and body["detail"]
