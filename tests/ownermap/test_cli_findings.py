"""`ownermap findings` gives what `GET /api/v1/findings` gives for the same window and catalog:
objective findings measured at the window's end and the team finding `oncall_overloaded`, with the
settings' thresholds, filtered by `--code` / `--owner` like the API. Real `ownermap serve` over
OTLP/HTTP and SQLite; the command reads the same database (scenario in findings_scenario.py)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from click.testing import CliRunner

from ownermap.cli import main
from tests.integration.findings_scenario import SETTINGS, running, window
from tests.integration.serve_process import ServeProcess

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def fed(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[ServeProcess, int, Path]]:
    tmp_path = tmp_path_factory.mktemp("findings")
    for server, base in running(tmp_path):
        yield server, base, tmp_path


def cli(fed: tuple[ServeProcess, int, Path], *args: str, env: dict[str, str] | None = None) -> dict[str, Any]:
    server, base, tmp_path = fed
    span = window(base)
    result = CliRunner().invoke(main, ["findings", "--db", server.db_url or "", "--catalog",
                                       str(tmp_path / "owners.yaml"), "--start", span["start"], "--end", span["end"],
                                       "--format", "json", *args], env=SETTINGS if env is None else env)
    assert result.exit_code == 0, result.output
    return json.loads(result.output)


def api(fed: tuple[ServeProcess, int, Path], **params: Any) -> dict[str, Any]:
    server, base, _ = fed
    response = httpx.get(f"{server.api}/api/v1/findings", params={**window(base), **params}, timeout=30)
    assert response.status_code == 200, response.text
    return response.json()


def test_cli_findings_are_the_apis(fed: tuple[ServeProcess, int, Path]) -> None:
    from_cli, from_api = cli(fed), api(fed)
    assert from_cli == from_api
    codes = {(f["code"], f["service"], f.get("team")) for f in from_cli["findings"]}
    assert {("oncall_overloaded", None, "red"), ("objective_breached", "red-api", None)} <= codes


@pytest.mark.parametrize(("args", "params"), [
    (("--code", "oncall_overloaded"), {"code": ["oncall_overloaded"]}),
    (("--owner", "red"), {"owner": "red"}),
    (("--owner", "red", "--code", "objective_breached", "--code", "no_objective"),
     {"owner": "red", "code": ["objective_breached", "no_objective"]}),
])
def test_code_and_owner_filters_like_the_api(fed: tuple[ServeProcess, int, Path], args: tuple[str, ...],
                                             params: dict[str, Any]) -> None:
    from_cli = cli(fed, *args)
    assert from_cli == api(fed, **params) and from_cli["findings"]
    assert all(f["code"] in params.get("code", [f["code"]]) for f in from_cli["findings"])


def test_the_settings_thresholds_decide(fed: tuple[ServeProcess, int, Path]) -> None:
    judged = {"oncall_overloaded", "objective_breached"}
    assert judged <= {f["code"] for f in cli(fed)["findings"]}
    defaults = {f["code"] for f in cli(fed, env={})["findings"]}  # episode_min_failed 10, objective_min_calls 100
    assert "no_objective" in defaults and not defaults & judged


def test_table_names_the_team_of_a_team_finding(fed: tuple[ServeProcess, int, Path]) -> None:
    server, base, tmp_path = fed
    span = window(base)
    result = CliRunner().invoke(main, ["findings", "--db", server.db_url or "", "--catalog",
                                       str(tmp_path / "owners.yaml"), "--start", span["start"], "--end", span["end"],
                                       "--code", "oncall_overloaded"], env=SETTINGS)
    assert result.exit_code == 0, result.output
    row = result.output.splitlines()[1].split()
    assert row[:3] == ["medium", "oncall_overloaded", "red"]
