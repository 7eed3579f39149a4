"""The teams view end to end: `/api/v1/teams` and `/api/v1/teams/{team}` show each team's on-call load,
its objectives summary and its team findings (`oncall_overloaded`), judged with the server's settings.
Real `ownermap serve` fed over OTLP/HTTP (scenario in tests/integration/findings_scenario.py)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from tests.integration.findings_scenario import running, window
from tests.integration.serve_process import ServeProcess

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def fed(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[ServeProcess, int]]:
    yield from running(tmp_path_factory.mktemp("teams"))


def get(fed: tuple[ServeProcess, int], path: str) -> dict[str, Any]:
    server, base = fed
    response = httpx.get(f"{server.api}{path}", params=window(base), timeout=30)
    assert response.status_code == 200, response.text
    return response.json()


def test_teams_show_load_objectives_and_team_findings(fed: tuple[ServeProcess, int]) -> None:
    teams = {t["team"]: t for t in get(fed, "/api/v1/teams")["teams"]}
    load = {name: (t["oncall"]["episodes"], t["oncall"]["off_hours_episodes"], t["oncall"]["per_member"],
                   t["oncall"]["burn_events"], t["oncall"]["overloaded"]) for name, t in teams.items()}
    assert load == {"red": (3, 3, 3.0, 1, True), "blue": (1, 1, 0.5, 0, False), "green": (0, 0, 0.0, 0, False)}
    assert teams["red"]["oncall"]["rotation"] == {"declared": True, "size": 1}
    summaries = {name: t["objectives_summary"] for name, t in teams.items()}
    assert summaries["red"] == {"met": 0, "burning": 0, "breached": 1, "missing": 0, "other": 0}
    assert summaries["blue"] == summaries["green"] == {"met": 0, "burning": 0, "breached": 0, "missing": 1, "other": 0}
    overloaded = [(name, f["service"], f["team"]) for name, t in teams.items() for f in t["findings"]
                  if f["code"] == "oncall_overloaded"]
    assert overloaded == [("red", None, "red")]
    assert teams["red"]["services"] == ["red-api"] and teams["red"]["objectives"][0]["status"] == "breached"


def test_one_team_is_as_in_the_list(fed: tuple[ServeProcess, int]) -> None:
    listed = next(t for t in get(fed, "/api/v1/teams")["teams"] if t["team"] == "red")
    one = get(fed, "/api/v1/teams/red")
    assert {k: v for k, v in one.items() if k != "window"} == listed
    codes = [f["code"] for f in one["findings"]]
    assert codes.index("objective_breached") < codes.index("oncall_overloaded")  # most severe first
