"""`ownermap objectives` against a real SQLite database and catalog directory."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from graph.model import Window
from graph.store.sqlite import SQLiteStore
from ownermap.cli import main
from tests.api.test_api_objectives import GHOST, NOW, OWNERS, _seed


@pytest.fixture
def setup(tmp_path: Path) -> list[str]:
    (tmp_path / "catalog").mkdir()
    (tmp_path / "catalog" / "owners.yaml").write_text(OWNERS.replace("name: checkout\n", "name: '=checkout'\n"
                                                                     "    aliases: [checkout]\n"), encoding="utf-8")
    (tmp_path / "catalog" / "ghost.yaml").write_text(GHOST, encoding="utf-8")
    store = SQLiteStore(tmp_path / "om.db")
    _seed(store)
    store.close()
    end = Window(NOW, NOW).as_dict()["end"]
    return ["--db", f"sqlite:///{tmp_path / 'om.db'}", "--catalog", str(tmp_path / "catalog"), "--end", end]


def _run(*args: str) -> str:
    result = CliRunner().invoke(main, ["objectives", *args])
    assert result.exit_code == 0, result.output
    return result.stdout


def test_json(setup: list[str]) -> None:
    found = {o["name"]: o for o in json.loads(_run(*setup, "--format", "json"))["objectives"]}
    assert found["checkout-up"]["status"] == "met" and found["checkout-up"]["observed"] == 0.95
    assert found["checkout-strict"]["status"] == "breached"
    assert found["ghost-up"]["status"] == "unmatched"


def test_csv_neutralises_formula_cells_and_table_lists_every_objective(setup: list[str]) -> None:
    rows = list(csv.DictReader(io.StringIO(_run(*setup, "--format", "csv"))))
    assert {r["name"] for r in rows} == {"checkout-up", "checkout-strict", "payments-fast", "ghost-up"}
    assert {r["service"] for r in rows if r["name"] == "checkout-up"} == {"'=checkout"}
    table = _run(*setup)
    assert "checkout-strict" in table and "breached" in table


def test_bad_end_is_a_usage_error(setup: list[str]) -> None:
    result = CliRunner().invoke(main, ["objectives", *setup[:4], "--end", "soon"])
    assert result.exit_code == 2 and "--end" in result.output
