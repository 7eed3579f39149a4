"""`ownermap oncall` through CliRunner: table and JSON, what-if moves, a refused move exits non-zero."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from graph.aggregate import Aggregator
from graph.store.sqlite import SQLiteStore
from ownermap.cli import main
from tests.graph.store_builders import call, write

T = 1793664000  # Tuesday 2026-11-03 00:00 UTC
OWNERS = """\
teams:
  - {name: red, members: [a, b], oncall: {members: [a]}}
  - {name: blue, members: [c, d], timezone: Asia/Tokyo}
services:
  - {name: red-api, owner: red}
  - {name: blue-api, owner: blue}
"""


@pytest.fixture()
def args(tmp_path: Path) -> list[str]:
    store = SQLiteStore(tmp_path / "o.db")
    agg = Aggregator(store.bucket_seconds)
    for offset in (0, 3600, 7200):  # three hours apart: three episodes of red, off-hours in UTC
        call(agg, "web", "red-api", T + offset + 5, count=10, failed=True, trace=f"r{offset}")
    call(agg, "red-api", "blue-api", T + 60, count=4)
    write(store, agg)
    store.close()
    (tmp_path / "owners.yaml").write_text(OWNERS, encoding="utf-8")
    return ["--db", f"sqlite:///{tmp_path / 'o.db'}", "--catalog", str(tmp_path / "owners.yaml"),
            "--window", "6h", "--end", "2026-11-03T06:00:00Z"]


def test_json_and_moves(args: list[str]) -> None:
    result = CliRunner().invoke(main, ["oncall", *args, "--format", "json"])
    assert result.exit_code == 0, result.output
    teams = {t["team"]: t for t in json.loads(result.output)["teams"]}
    assert (teams["red"]["episodes"], teams["red"]["off_hours_episodes"], teams["red"]["per_member"]) == (3, 3, 3.0)
    assert teams["blue"]["depended_on_by"] == ["red"] and teams["blue"]["rotation"] == {"declared": False, "size": 2}
    moved = CliRunner().invoke(main, ["oncall", *args, "--format", "json", "--move", "red-api=blue"])
    body = json.loads(moved.output)
    assert body["moves"] == [{"service": "red-api", "team": "blue"}]
    blue = next(t for t in body["teams"] if t["team"] == "blue")
    assert (blue["episodes"], blue["off_hours_episodes"], blue["per_member"]) == (3, 0, 1.5)  # 09:00-11:00 Tokyo


def test_table_ranks_by_load_per_member(args: list[str]) -> None:
    result = CliRunner().invoke(main, ["oncall", *args])
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert lines[0].split()[:3] == ["team", "services", "rotation"]
    assert lines[1].split()[0] == "red" and lines[2].split()[0] == "blue"


@pytest.mark.parametrize(("move", "words"), [("nope=red", "no service named 'nope'"),
                                             ("red-api=green", "no team named 'green'")])
def test_refused_move_exits_non_zero_naming_it(args: list[str], move: str, words: str) -> None:
    result = CliRunner().invoke(main, ["oncall", *args, "--move", move])
    assert result.exit_code != 0
    assert words in result.output
