"""Errors are application/problem+json: bad parameters 400 (never 500), unknown names 404,
missing or wrong bearer token 401."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from graph.model import Window
from graph.store.sqlite import SQLiteStore
from tests.api.conftest import MakeClient, assert_problem

WINDOWED = ["/api/v1/services", "/api/v1/graph"]
ALL_WINDOWED = [*WINDOWED, "/api/v1/services/payments", "/api/v1/services/payments/dependents",
                "/api/v1/services/frontend/dependencies"]

BAD_WINDOW_PARAMS = [
    {"window": "7x"},
    {"window": "0d"},
    {"window": "-1h"},
    {"window": "1.5h"},
    {"window": "9999999w"},
    {"window": "7" * 10_240},
    {"window": "7d", "start": "2023-11-01"},
    {"start": "2023-11-14T23:00:00Z", "end": "2023-11-14T22:00:00Z"},
    {"start": "2023-11-14", "end": "2023-11-14"},
    {"start": "2099-01-01"},
    {"start": "yesterday"},
    {"end": "not-a-date"},
    {"start": "2023-11-01T00:00:00+99:00"},
    {"start": "x" * 10_240},
    {"env": "e" * 10_240},
    {"include_self": "maybe"},
]


@pytest.mark.parametrize("params", BAD_WINDOW_PARAMS, ids=lambda p: ",".join(f"{k}={v[:12]}" for k, v in p.items()))
@pytest.mark.parametrize("path", WINDOWED)
def test_bad_window_parameters_are_400(client: TestClient, path: str, params: dict[str, str]) -> None:
    body = assert_problem(client.get(path, params=params), 400)
    assert body["title"] == "Bad Request"
    assert len(body["detail"]) < 2000  # a 10 KB parameter is not echoed back in full


@pytest.mark.parametrize("path", ALL_WINDOWED)
@pytest.mark.parametrize("params", [{"window": "7x"}, {"start": "2023-11-15", "end": "2023-11-14"},
                                    {"window": "7" * 10_240}, {"include_self": "maybe"}],
                         ids=["7x", "reversed", "10kb", "maybe"])
def test_every_windowed_route_rejects_bad_windows(client: TestClient, path: str, params: dict[str, str]) -> None:
    assert_problem(client.get(path, params=params), 400)


@pytest.mark.parametrize(
    ("params", "words"),
    [({"window": "7x"}, "7x"), ({"start": "2023-11-14T23:00:00Z", "end": "2023-11-14T22:00:00Z"}, "before end"),
     ({"window": "7d", "start": "2023-11-01"}, "either window or start"), ({"end": "garbage"}, "ISO 8601"),
     ({"window": "7" * 10_240}, "window")],
)
def test_bad_window_detail_is_clear(client: TestClient, params: dict[str, str], words: str) -> None:
    assert words in assert_problem(client.get("/api/v1/services", params=params), 400)["detail"]


@pytest.mark.parametrize("depth", ["0", "-1", "51", "1000", "abc", "1.5", "", "9" * 5000])
@pytest.mark.parametrize("direction", ["dependents", "dependencies"])
def test_bad_depth_is_400(client: TestClient, direction: str, depth: str) -> None:
    body = assert_problem(client.get(f"/api/v1/services/checkout/{direction}", params={"depth": depth}), 400)
    assert "depth" in body["detail"]


@pytest.mark.parametrize("fmt", ["xml", "JSON", "png", "", "dot;rm -rf", "x" * 10_240])
def test_bad_graph_format_is_400(client: TestClient, fmt: str) -> None:
    body = assert_problem(client.get("/api/v1/graph", params={"format": fmt}), 400)
    assert "format" in body["detail"]


def test_unknown_route_is_problem_404(client: TestClient) -> None:
    assert_problem(client.get("/api/v1/nothing-here"), 404)


def test_wrong_method_is_problem_405(client: TestClient) -> None:
    assert_problem(client.post("/api/v1/services"), 405)
    assert_problem(client.delete("/api/v1/graph"), 405)


def test_hostile_name_in_404_detail_is_json_not_markup(client: TestClient) -> None:
    response = client.get("/api/v1/services/%3Cimg%20src%3Dx%20onerror%3Dalert(1)%3E")
    body = assert_problem(response, 404)
    assert "<img src=x onerror=alert(1)>" in body["detail"]
    assert "html" not in response.headers["content-type"]


@pytest.mark.parametrize("params", [{"end": "0001-01-01"}, {"start": "0001-01-01T00:00:00+14:00"},
                                    {"end": "9999-12-31T23:59:59-14:00", "window": "1m"}])
def test_extreme_dates_are_400_not_500(client: TestClient, params: dict[str, str]) -> None:
    assert_problem(client.get("/api/v1/services", params=params), 400)


# ------------------------------------------------------------------ unexpected errors


class FailingStore(SQLiteStore):
    """A store that breaks while reading."""

    def edges(self, window: Window, env: str | None = None) -> list:  # type: ignore[override]
        raise sqlite3.DatabaseError("database disk image is malformed /secret/path")


def test_unauthenticated_requests_never_reach_the_routes(make_client: MakeClient) -> None:
    client = make_client(api_token="s3cret")
    for path in ("/api/v1/services/payments", "/api/v1/services/frontend/dependencies", "/api/v1/graph?format=xml",
                 "/api/v1/services?window=7x"):
        assert_problem(client.get(path), 401)


def test_store_failure_is_a_500_problem_without_internals(make_client: MakeClient, tmp_path: Path) -> None:
    failing = FailingStore(tmp_path / "f.db")
    try:
        response = make_client(store_=failing).get("/api/v1/services")
    finally:
        failing.close()
    body = assert_problem(response, 500)
    assert "secret" not in response.text
    assert "Traceback" not in response.text
    assert body["title"] == "Internal Server Error"


SECURITY_HEADER_NAMES = ("content-security-policy", "x-content-type-options", "referrer-policy", "x-frame-options")


def test_unhandled_error_500_carries_the_security_headers(make_client: MakeClient) -> None:
    """Issue #14 item 9: Starlette answers an unhandled exception outside the user middleware."""
    client = make_client()

    def boom() -> None:
        raise RuntimeError("secret internals")

    client.app.add_api_route("/api/v1/test-boom", boom)  # type: ignore[attr-defined]
    normal = client.get("/healthz")
    response = client.get("/api/v1/test-boom")
    body = assert_problem(response, 500)
    assert "secret" not in response.text and body["title"] == "Internal Server Error"
    for name in SECURITY_HEADER_NAMES:
        assert normal.headers.get(name), name
        assert response.headers.get(name) == normal.headers[name], name


# ------------------------------------------------------------------ bearer token

API_PATHS = ["/api/v1/services", "/api/v1/services/payments/dependents", "/api/v1/graph?format=dot",
             "/api/v1/services/nope"]


@pytest.mark.parametrize("path", API_PATHS)
@pytest.mark.parametrize(
    "headers",
    [{}, {"Authorization": "Bearer wrong"}, {"Authorization": "Bearer s3cret-but-longer"},
     {"Authorization": "Bearer S3CRET"}, {"Authorization": "Basic czNjcmV0"}, {"Authorization": "s3cret"},
     {"Authorization": "Bearer "}],
    ids=["none", "wrong", "prefix", "case", "basic", "no-scheme", "empty"],
)
def test_api_token_required(make_client: MakeClient, path: str, headers: dict[str, str]) -> None:
    client = make_client(api_token="s3cret")
    response = client.get(path, headers=headers)
    assert_problem(response, 401)
    assert response.headers["www-authenticate"] == "Bearer"


@pytest.mark.parametrize("path", ["/api/v1/services", "/api/v1/graph?format=mermaid",
                                  "/api/v1/services/frontend/dependencies?depth=1"])
def test_api_token_accepted(make_client: MakeClient, path: str) -> None:
    client = make_client(api_token="s3cret")
    response = client.get(path, headers={"Authorization": "Bearer s3cret"})
    assert response.status_code == 200, response.text
    lower = client.get(path, headers={"authorization": "bearer s3cret"})
    assert lower.status_code == 200  # the scheme is case-insensitive (RFC 7235)


def test_token_is_checked_before_parameters(make_client: MakeClient) -> None:
    client = make_client(api_token="s3cret")
    assert_problem(client.get("/api/v1/graph", params={"format": "xml", "window": "7x"}), 401)
    authed = client.get("/api/v1/graph", params={"format": "xml"}, headers={"Authorization": "Bearer s3cret"})
    assert_problem(authed, 400)


def test_no_token_configured_means_open(make_client: MakeClient) -> None:
    client = make_client(api_token=None)
    assert client.get("/api/v1/services").status_code == 200
    assert client.get("/api/v1/services", headers={"Authorization": "Bearer anything"}).status_code == 200
