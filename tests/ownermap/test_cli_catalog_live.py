"""`ownermap catalog validate` syncs live sources too: a Backstage that cannot be read whole is an error."""

from __future__ import annotations

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
