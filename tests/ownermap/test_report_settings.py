"""The weekly report judges on-call load and objectives with the user's settings, whether `ownermap
report weekly` builds it or `serve`'s schedule does: with `episode_min_failed` 5 and
`objective_min_calls` 20 the scenario's red team is overloaded and its objective breached, with the
defaults neither. Real `ownermap serve` fed over OTLP/HTTP (tests/integration/findings_scenario.py)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from click.testing import CliRunner

from ownermap.cli import main
from tests.integration.findings_scenario import SETTINGS, day_start, send, settled, start_server, window
from tests.integration.serve_process import ServeProcess, wait_for

pytestmark = pytest.mark.slow
RED_LOADED = "- **red**: 3.00 per member; 3 episodes (3 off-hours), rotation of 1"


@pytest.fixture(scope="module")
def fed(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[ServeProcess, int, Path]]:
    tmp_path = tmp_path_factory.mktemp("report")
    reports = tmp_path / "reports"
    server = start_server(tmp_path, OWNERMAP_REPORT_SCHEDULE="* * * * * */2", OWNERMAP_REPORT_DIR=str(reports))
    try:
        base = day_start()
        send(server, base)
        settled(server, base)
        yield server, base, tmp_path
    finally:
        server.stop()


def report(fed: tuple[ServeProcess, int, Path], env: dict[str, str]) -> dict[str, Any]:
    server, base, tmp_path = fed
    result = CliRunner().invoke(main, ["report", "weekly", "--db", server.db_url or "", "--catalog",
                                       str(tmp_path / "owners.yaml"), "--end", window(base)["end"], "--format", "json",
                                       "--no-record"], env=env)
    assert result.exit_code == 0, result.output
    return json.loads(result.output)


def red(section: list[dict[str, Any]]) -> dict[str, Any]:
    return next(t for t in section if t["team"] == "red")


def test_cli_report_uses_the_settings_thresholds(fed: tuple[ServeProcess, int, Path]) -> None:
    judged, defaults = report(fed, SETTINGS), report(fed, {})
    assert (red(judged["oncall_load"])["episodes"], red(judged["oncall_load"])["overloaded"]) == (3, True)
    assert (red(defaults["oncall_load"])["episodes"], red(defaults["oncall_load"])["overloaded"]) == (0, False)
    assert judged["oncall_load"][0]["team"] == "red"  # most episodes per member first
    assert (red(judged["objectives"])["breached"], red(defaults["objectives"])["breached"]) == (1, 0)
    assert red(defaults["objectives"])["other"] == 1  # insufficient_data under objective_min_calls 100


def test_scheduled_report_uses_the_servers_settings(fed: tuple[ServeProcess, int, Path]) -> None:
    tmp_path = fed[2]

    def written() -> str | None:
        texts = [p.read_text(encoding="utf-8") for p in (tmp_path / "reports").glob("weekly-*.md")]
        return next((t for t in texts if RED_LOADED in t), None)

    text = wait_for(written, timeout=30, interval=0.5)
    assert text, "no scheduled report showed red's load"
    assert "| red | 1 | 0 | 0 | - | red-api red-up (breached) |" in text  # objective_min_calls 20, not 100


def test_report_over_http_uses_the_servers_objective_limits(fed: tuple[ServeProcess, int, Path]) -> None:
    server, base, _ = fed
    response = httpx.get(f"{server.api}/api/v1/reports/weekly", params={"end": window(base)["end"]}, timeout=30)
    assert response.status_code == 200, response.text
    body = response.json()
    assert (red(body["objectives"])["breached"], red(body["oncall_load"])["overloaded"]) == (1, True)
