"""GET /api/v1/services, /services/{name}, and its dependents/dependencies (DESIGN §4)."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

import pytest
from fastapi.testclient import TestClient

from tests.api.conftest import EDGE_FIELDS, SCRIPT, assert_problem

SUMMARY_FIELDS = {
    "name", "kind", "owner", "owner_status", "catalog_ref", "first_seen", "last_seen", "calls_in", "calls_out",
    "errors_in", "dependents", "dependencies", "findings",
}
OWNER_STATUSES = {None, "ok", "undocumented", "unowned", "owner_not_found", "owner_inactive", "virtual"}
WINDOW_7D = {"start": "2023-11-07T23:15:00Z", "end": "2023-11-14T23:15:00Z"}


def _services(client: TestClient, **params: Any) -> dict[str, dict[str, Any]]:
    response = client.get("/api/v1/services", params=params)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "application/json"
    return {s["name"]: s for s in response.json()["services"]}


def url(name: str, suffix: str = "") -> str:
    return f"/api/v1/services/{quote(name, safe='')}{suffix}"


# ------------------------------------------------------------------ list


def test_services_list_has_exactly_the_contract_fields(client: TestClient) -> None:
    body = client.get("/api/v1/services").json()
    assert set(body) == {"window", "services"}
    assert body["window"] == WINDOW_7D
    names = [s["name"] for s in body["services"]]
    assert names == sorted(names)
    assert set(names) == {SCRIPT, "checkout", "frontend", "legacy", "old-caller", "payments", "postgres",
                          "stripe-api", "team/a b", "user"}
    for service in body["services"]:
        assert set(service) == SUMMARY_FIELDS, service
        assert service["owner_status"] in OWNER_STATUSES
        assert isinstance(service["findings"], list)
        assert all(isinstance(code, str) for code in service["findings"])


def test_services_list_values(client: TestClient) -> None:
    services = _services(client)
    frontend = services["frontend"]
    assert frontend["kind"] == "service"
    assert frontend["owner"] == "web"
    assert frontend["owner_status"] == "ok"
    assert frontend["catalog_ref"] == "component:default/frontend"
    assert (frontend["calls_in"], frontend["calls_out"], frontend["errors_in"]) == (18, 8, 0)
    assert frontend["first_seen"] == "2023-11-14T22:16:00.000Z"
    checkout = services["checkout"]
    assert (checkout["calls_in"], checkout["calls_out"], checkout["errors_in"]) == (9, 8, 2)  # self-calls left out
    assert checkout["last_seen"] == "2023-11-14T22:16:01.000Z"
    assert checkout["dependencies"] == 3  # payments, postgres, stripe-api
    payments = services["payments"]
    assert payments["kind"] == "service"  # a virtual peer named `payments` is the service (rule 7)
    assert payments["calls_in"] == 5
    assert payments["dependents"] == 7
    assert services["postgres"]["kind"] == "database"
    assert services["postgres"]["owner_status"] == "virtual"
    assert services["stripe-api"]["kind"] == "external"
    assert services["stripe-api"]["errors_in"] == 1
    assert services["user"]["kind"] == "user"
    assert services["legacy"]["owner_status"] == "undocumented"
    assert "undocumented" in services["legacy"]["findings"]
    assert services[SCRIPT]["owner"] is None


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        ({"window": "1d"}, {SCRIPT, "checkout", "frontend", "legacy", "payments", "postgres", "stripe-api",
                            "team/a b", "user"}),
        ({"window": "7d"}, {SCRIPT, "checkout", "frontend", "legacy", "old-caller", "payments", "postgres",
                            "stripe-api", "team/a b", "user"}),
        ({"window": "30m"}, set()),  # everything happened more than 30 minutes before the fixed clock
        ({"env": "staging"}, {"legacy", "frontend"}),
        ({"env": "prod", "window": "1h"}, {SCRIPT, "checkout", "frontend", "payments", "postgres", "stripe-api",
                                            "team/a b", "user"}),
        ({"env": "nowhere"}, set()),
        ({"env": ""}, {SCRIPT, "checkout", "frontend", "legacy", "old-caller", "payments", "postgres",
                       "stripe-api", "team/a b", "user"}),  # an empty filter box means every environment
        ({"start": "2023-11-12T00:00:00Z", "end": "2023-11-13T00:00:00Z"}, {"old-caller", "frontend"}),
    ],
)
def test_services_window_and_env(client: TestClient, params: dict[str, str], expected: set[str]) -> None:
    assert set(_services(client, **params)) == expected


def test_services_window_is_echoed(client: TestClient) -> None:
    body = client.get("/api/v1/services", params={"start": "2023-11-14T22:15:00+01:00", "end": "2023-11-15"}).json()
    assert body["window"] == {"start": "2023-11-14T21:15:00Z", "end": "2023-11-15T00:00:00Z"}
    body = client.get("/api/v1/services", params={"window": "1h"}).json()
    assert body["window"] == {"start": "2023-11-14T22:15:00Z", "end": "2023-11-14T23:15:00Z"}


def test_start_end_select_buckets(client: TestClient) -> None:
    # [22:15, 22:20) holds the 6 calls at 22:16 but not the 2 failed ones at 22:21
    narrow = _services(client, start="2023-11-14T22:15:00Z", end="2023-11-14T22:20:00Z")
    assert narrow["checkout"]["calls_in"] == 6 + 1
    assert narrow["checkout"]["errors_in"] == 0
    wide = _services(client, start="2023-11-14T22:15:00Z", end="2023-11-14T22:25:00Z")
    assert wide["checkout"]["calls_in"] == 8 + 1
    assert wide["checkout"]["errors_in"] == 2


def test_include_self(client: TestClient) -> None:
    assert _services(client)["checkout"]["calls_in"] == 9
    with_self = _services(client, include_self="true")
    assert with_self["checkout"]["calls_in"] == 11
    assert with_self["checkout"]["calls_out"] == 10
    assert with_self["checkout"]["dependents"] == _services(client)["checkout"]["dependents"]


def test_services_without_catalog(make_client: Any) -> None:
    services = _services(make_client(with_catalog=False))
    assert services["frontend"]["owner"] is None
    assert services["frontend"]["owner_status"] == "undocumented"
    assert services["postgres"]["owner_status"] == "virtual"


# ------------------------------------------------------------------ one service


def test_service_detail(client: TestClient) -> None:
    response = client.get("/api/v1/services/payments")
    assert response.status_code == 200
    body = response.json()
    assert SUMMARY_FIELDS | {"window", "catalog", "hints", "upstream", "downstream", "suggested_owners"} <= set(body)
    summary = _services(client)["payments"]
    assert {k: body[k] for k in SUMMARY_FIELDS} == summary
    assert body["window"] == WINDOW_7D
    assert body["hints"] == {"service.namespace": "shop"}
    assert body["catalog"]["name"] == "payments"
    assert isinstance(body["suggested_owners"], list)
    upstream = {(e["source"], e["connection_type"]): e for e in body["upstream"]}
    assert set(upstream) == {("checkout", "rpc"), ("checkout", "virtual")}
    for e in body["upstream"] + body["downstream"]:
        assert set(e) >= EDGE_FIELDS
    rpc = upstream[("checkout", "rpc")]
    assert (rpc["target"], rpc["calls"], rpc["errors"]) == ("payments", 4, 0)
    assert rpc["p50_ms"] == pytest.approx(75.0)  # 4 calls of 0.1 s: bucket (0.05, 0.1]
    assert [(e["target"], e["errors"]) for e in body["downstream"]] == [("stripe-api", 1)]


def test_service_detail_of_virtual_node(client: TestClient) -> None:
    body = client.get("/api/v1/services/postgres").json()
    assert body["kind"] == "database"
    assert body["owner_status"] == "virtual"
    assert body["downstream"] == []
    assert [e["source"] for e in body["upstream"]] == ["checkout"]
    assert body["upstream"][0]["connection_type"] == "database"


def test_service_detail_self_edges(client: TestClient) -> None:
    plain = client.get("/api/v1/services/checkout").json()
    assert all(e["source"] != "checkout" for e in plain["upstream"])
    with_self = client.get("/api/v1/services/checkout", params={"include_self": "true"}).json()
    assert any(e["source"] == e["target"] == "checkout" for e in with_self["upstream"])


@pytest.mark.parametrize("name", ["team/a b", SCRIPT])
@pytest.mark.parametrize("encode_slash", [True, False])
def test_names_with_slashes_spaces_and_markup(client: TestClient, name: str, encode_slash: bool) -> None:
    path = quote(name, safe="" if encode_slash else "/")
    response = client.get(f"/api/v1/services/{path}")
    assert response.status_code == 200, response.text
    assert response.json()["name"] == name
    assert response.headers["content-type"] == "application/json"


def test_dependencies_of_a_name_with_a_slash(client: TestClient) -> None:
    body = client.get(url("team/a b", "/dependencies")).json()
    assert body["service"] == "team/a b"
    assert [(d["name"], d["depth"]) for d in body["dependencies"]] == [
        (SCRIPT, 1), ("checkout", 2), ("payments", 3), ("postgres", 3), ("stripe-api", 4),
    ]
    body = client.get("/api/v1/services/team/a b/dependencies").json()
    assert body["service"] == "team/a b"


@pytest.mark.parametrize("path", ["/api/v1/services/nope", "/api/v1/services/nope/dependents",
                                  "/api/v1/services/nope/dependencies", "/api/v1/services/a/b/c",
                                  url("<img src=x onerror=alert(1)>")])
def test_unknown_service_is_404_problem(client: TestClient, path: str) -> None:
    body = assert_problem(client.get(path), 404)
    assert body["title"] == "Not Found"


def test_service_outside_window_is_404(client: TestClient) -> None:
    assert client.get("/api/v1/services/old-caller").status_code == 200
    assert_problem(client.get("/api/v1/services/old-caller", params={"window": "1d"}), 404)
    assert_problem(client.get("/api/v1/services/legacy", params={"env": "prod"}), 404)


# ------------------------------------------------------------------ blast radius


def _reach(client: TestClient, name: str, direction: str, **params: Any) -> dict[str, Any]:
    response = client.get(url(name, f"/{direction}"), params=params)
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["service"] == name
    assert {"service", direction, "owners_to_notify"} <= set(body)
    for item in body[direction]:
        assert {"name", "owner", "depth"} <= set(item)
    return body


def test_dependents_with_owners_to_notify(client: TestClient) -> None:
    body = _reach(client, "payments", "dependents")
    assert [(d["name"], d["depth"], d["owner"]) for d in body["dependents"]] == [
        ("checkout", 1, "pay"), (SCRIPT, 2, None), ("frontend", 2, "web"), ("legacy", 3, None),
        ("old-caller", 3, None), ("team/a b", 3, None), ("user", 3, None),
    ]
    assert body["owners_to_notify"] == ["pay", "web"]


@pytest.mark.parametrize(
    ("depth", "names", "owners"),
    [(1, ["checkout"], ["pay"]), (2, ["checkout", SCRIPT, "frontend"], ["pay", "web"]), (50, None, ["pay", "web"])],
)
def test_dependents_depth(client: TestClient, depth: int, names: list[str] | None, owners: list[str]) -> None:
    body = _reach(client, "payments", "dependents", depth=depth)
    if names is not None:
        assert [d["name"] for d in body["dependents"]] == names
    else:
        assert len(body["dependents"]) == 7
    assert body["owners_to_notify"] == owners


def test_dependencies_with_depth(client: TestClient) -> None:
    body = _reach(client, "frontend", "dependencies")
    assert [(d["name"], d["depth"]) for d in body["dependencies"]] == [
        ("checkout", 1), ("payments", 2), ("postgres", 2), ("stripe-api", 3),
    ]
    assert body["owners_to_notify"] == ["pay"]
    shallow = _reach(client, "frontend", "dependencies", depth=1)
    assert [d["name"] for d in shallow["dependencies"]] == ["checkout"]


def test_reach_follows_window_and_env(client: TestClient) -> None:
    body = _reach(client, "frontend", "dependents", window="1d")
    assert {d["name"] for d in body["dependents"]} == {"user", "legacy"}
    body = _reach(client, "frontend", "dependents", env="prod")
    assert {d["name"] for d in body["dependents"]} == {"user", "old-caller"}
    assert body["owners_to_notify"] == []


def test_leaf_has_no_dependencies(client: TestClient) -> None:
    body = _reach(client, "postgres", "dependencies")
    assert body["dependencies"] == []
    assert body["owners_to_notify"] == []
