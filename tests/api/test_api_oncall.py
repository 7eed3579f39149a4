"""`GET /api/v1/oncall`: the exact JSON of DESIGN §3b over a real SQLite store, what-if moves, 400s.

The window is Tuesday 2026-11-03 00:00-06:00 UTC. red (UTC, 4 members, a rotation of 1) has red-api
failing at 00:00, 01:00 and 02:00; blue (2 members) blue-api at 00:10; green (Asia/Tokyo, 1 member)
green-api at 02:00 (11:00 in Tokyo). blue-api calls red-api. Every failing bucket: 20 calls, 12 failed.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from api.config import ApiConfig
from api.state import ApiState
from graph.aggregate import Aggregator
from graph.model import Window
from graph.store.sqlite import SQLiteStore
from ownership.source import CatalogSource
from tests.graph.store_builders import call, write

T = 1793664000
NOW = float(T + 6 * 3600)
OWNERS_YAML = """\
teams:
  - {name: red, members: [a, b, c, d], oncall: {url: https://pd.example/R, members: [a]}}
  - {name: blue, members: [e, f]}
  - {name: green, members: [g], timezone: Asia/Tokyo}
services:
  - {name: red-api, owner: red}
  - {name: blue-api, owner: blue}
  - {name: green-api, owner: green}
"""
FAILING = [("red-api", 0), ("red-api", 3600), ("red-api", 7200), ("blue-api", 600), ("green-api", 7200)]


@pytest.fixture(scope="module")
def client(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TestClient]:
    root = tmp_path_factory.mktemp("oncall")
    store = SQLiteStore(root / "oncall.db")
    agg = Aggregator(store.bucket_seconds)
    for service, offset in FAILING:
        call(agg, "web", service, T + offset + 10, count=8, trace=f"{service}{offset}ok")
        call(agg, "web", service, T + offset + 20, count=12, failed=True, trace=f"{service}{offset}bad")
    call(agg, "blue-api", "red-api", T + 4 * 3600, count=5)
    write(store, agg)
    (root / "owners.yaml").write_text(OWNERS_YAML, encoding="utf-8")
    catalog = CatalogSource([root / "owners.yaml"])
    assert not catalog.reload().errors
    state = ApiState(config=ApiConfig(), store=store, catalog=catalog, clock=lambda: NOW)
    with TestClient(create_app(state), raise_server_exceptions=False) as test_client:
        yield test_client
    store.close()


def teams(client: TestClient, *moves: str) -> dict[str, dict[str, object]]:
    response = client.get("/api/v1/oncall", params={"window": "6h", "move": list(moves)})
    assert response.status_code == 200, response.text
    return {t["team"]: t for t in response.json()["teams"]}


def test_exact_json(client: TestClient) -> None:
    body = client.get("/api/v1/oncall?window=6h").json()
    assert body["window"] == {"start": "2026-11-03T00:00:00Z", "end": "2026-11-03T06:00:00Z"}
    assert body["moves"] == []
    red, blue, green = (next(t for t in body["teams"] if t["team"] == name) for name in ("red", "blue", "green"))
    assert red == {
        "team": "red", "services": ["red-api"], "members": 4, "rotation": {"declared": True, "size": 1},
        "calls": 65, "failed": 36, "episodes": 3, "off_hours_episodes": 3, "burn_events": 0, "per_member": 3.0,
        "depended_on_by": ["blue"], "overloaded": True,
    }
    assert (blue["episodes"], blue["per_member"], blue["rotation"], blue["overloaded"]) == (
        1, 0.5, {"declared": False, "size": 2}, False)
    assert (green["episodes"], green["off_hours_episodes"], green["per_member"]) == (1, 0, 1.0)


def test_a_move_removes_the_overload(client: TestClient) -> None:
    body = client.get("/api/v1/oncall", params={"window": "6h", "move": "red-api=blue"}).json()
    assert body["moves"] == [{"service": "red-api", "team": "blue"}]
    got = {t["team"]: t for t in body["teams"]}
    assert (got["red"]["episodes"], got["red"]["services"]) == (0, [])
    assert (got["blue"]["episodes"], got["blue"]["per_member"]) == (4, 2.0)  # 00:00, 00:10, 01:00, 02:00
    assert not any(t["overloaded"] for t in got.values())  # 2.0 is not above 2 x median(2.0, 1.0)
    assert teams(client)["red"]["overloaded"] is True  # nothing was written


@pytest.mark.parametrize(
    ("moves", "words"),
    [
        (["nope=blue"], "no service named 'nope'"),
        (["red-api=nobody"], "no team named 'nobody'"),
        (["red-api=blue", "red-api=green"], "'red-api' is moved twice"),
        (["red-api"], "must be SERVICE=TEAM"),
    ],
)
def test_bad_moves_are_400_naming_them(client: TestClient, moves: list[str], words: str) -> None:
    response = client.get("/api/v1/oncall", params={"window": "6h", "move": moves})
    assert response.status_code == 400
    assert response.headers["content-type"].startswith("application/problem+json")
    assert words in response.json()["detail"]


def test_bad_window_is_400(client: TestClient) -> None:
    assert client.get("/api/v1/oncall?window=forever").status_code == 400


def test_findings_carry_the_team_finding(client: TestClient) -> None:
    body = client.get("/api/v1/findings?window=6h").json()
    overloaded = [f for f in body["findings"] if f["code"] == "oncall_overloaded"]
    assert [(f["service"], f["team"], f["owner"], f["severity"]) for f in overloaded] == [
        (None, "red", "red", "medium")]
    assert all("team" not in f for f in body["findings"] if f["code"] != "oncall_overloaded")
    only = client.get("/api/v1/findings?window=6h&code=oncall_overloaded").json()["findings"]
    assert [f["team"] for f in only] == ["red"]
    assert client.get("/api/v1/findings?window=6h&code=no_docs").json()["findings"][0]["code"] == "no_docs"


def test_team_facts_for_findings_decide_as_the_full_load_does(client: TestClient) -> None:
    state: ApiState = client.app.state.ownermap  # type: ignore[attr-defined]
    graph = state.graph(Window(NOW - 6 * 3600, NOW), None, False)
    full = {t.team: t for t in state.oncall(graph, None).teams}
    lean = {t.team: t for t in state.team_facts(graph, None).loads}
    assert set(lean) == set(full) == {"red", "blue", "green"}
    for name, load in lean.items():
        decided = (load.episodes, load.off_hours_episodes, load.per_member, load.rotation_size, load.services,
                   load.overloaded)
        assert decided == (full[name].episodes, full[name].off_hours_episodes, full[name].per_member,
                           full[name].rotation_size, full[name].services, full[name].overloaded)
    assert full["red"].depended_on_by == ["blue"] and lean["red"].depended_on_by == []  # not worked out


def test_team_view_shows_the_load_and_a_chart(client: TestClient) -> None:
    page = client.get("/?window=6h&team=red")
    assert page.status_code == 200
    html = page.text
    section = html[html.index('id="oncall"'):html.index('id="panel"')]
    assert "On-call load of red" in section and 'id="oncall-overloaded"' in section
    assert "3 episodes (3 off-hours) over a rotation of 1" in section and "3.00 per member" in section
    assert section.count("<rect") == 3
    assert 'id="oncall"' not in client.get("/?window=6h").text
