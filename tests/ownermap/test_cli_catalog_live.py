"""`ownermap catalog validate` syncs live sources too: a Backstage that cannot be read whole is an error."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from ownermap.cli import main
from tests.ownership.catalog.backstage_server import TOKEN, BackstageServer, FakeBackstage, entity


@pytest.mark.parametrize(("token", "code"), [(TOKEN, 0), ("wrong", 1)])
def test_catalog_validate_syncs_a_backstage(monkeypatch: pytest.MonkeyPatch, token: str, code: int) -> None:
    monkeypatch.setenv("OWNERMAP_BACKSTAGE_TOKEN", token)
    fake = FakeBackstage([entity("Group", "platform", type="team", children=[], members=[])])
    with BackstageServer(fake) as server:
        result = CliRunner().invoke(main, ["catalog", "validate", server.url], catch_exceptions=False)
    assert result.exit_code == code, result.output
    if code:
        assert "HTTP 401" in result.stderr and "1 error(s)" in result.output
    else:
        assert "1 Group" in result.output and "0 error(s)" in result.output
    assert "wrong" not in result.output


@pytest.mark.parametrize(("token", "complete"), [(TOKEN, True), ("wrong", False)])
def test_findings_say_whether_the_catalog_is_complete(monkeypatch: pytest.MonkeyPatch, tmp_path: Path, token: str,
                                                       complete: bool) -> None:
    monkeypatch.setenv("OWNERMAP_BACKSTAGE_TOKEN", token)
    monkeypatch.setenv("OWNERMAP_BACKSTAGE_TIMEOUT", "5")
    fake = FakeBackstage([entity("Group", "platform", type="team", children=[], members=[])])
    with BackstageServer(fake) as server:
        args = ["findings", "--db", f"sqlite:///{tmp_path / 'o.db'}", "--catalog", server.url, "--format", "json"]
        result = CliRunner().invoke(main, args, catch_exceptions=False)
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["catalog_complete"] is complete
    assert ("catalog incomplete" in result.stderr) is not complete


@pytest.mark.parametrize("command", [["objectives"], ["oncall"], ["findings"], ["graph"]])
def test_every_command_reads_a_backstage_with_its_token(monkeypatch: pytest.MonkeyPatch, tmp_path: Path,
                                                         command: list[str]) -> None:
    monkeypatch.setenv("OWNERMAP_BACKSTAGE_TOKEN", TOKEN)
    fake = FakeBackstage([entity("Group", "platform", type="team", children=[], members=[])])
    with BackstageServer(fake) as server:
        args = [*command, "--db", f"sqlite:///{tmp_path / 'o.db'}", "--catalog", server.url]
        result = CliRunner().invoke(main, args, catch_exceptions=False)
    assert result.exit_code == 0, result.output
    assert fake.requests and all(r["auth"] == f"Bearer {TOKEN}" for r in fake.requests)
    assert "catalog" not in result.stderr  # synced whole: no catalog error, not incomplete
