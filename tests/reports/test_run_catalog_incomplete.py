"""`ownermap report weekly` refuses to send while a live catalog source has never synced (DESIGN §3c)."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from tests.ownership.catalog.backstage_server import TOKEN, BackstageServer, FakeBackstage, entity
from tests.reports.test_deliver import Webhook, cli_env, run_cli, webhook  # noqa: F401 - fixtures


@pytest.mark.parametrize(("token", "sent"), [("wrong", False), (TOKEN, True)])
def test_weekly_report_is_not_sent_from_an_incomplete_catalog(
        cli_env: list[str], webhook: Callable[..., Webhook], monkeypatch: pytest.MonkeyPatch,  # noqa: F811
        token: str, sent: bool) -> None:
    hook = webhook()
    fake = FakeBackstage([entity("Group", "platform", type="team", children=[], members=[])])
    monkeypatch.setenv("OWNERMAP_BACKSTAGE_TOKEN", token)
    with BackstageServer(fake) as server:
        result = run_cli([*cli_env, "--catalog", server.url, "--end", "2026-11-23", "--webhook", hook.url])
    if sent:
        assert result.exit_code == 0, result.output
        assert len(hook.requests) == 1
        return
    assert result.exit_code != 0
    assert "the catalog is incomplete" in result.stderr and "not sent" in result.stderr
    assert hook.requests == []
    assert result.stdout == ""
    assert "wrong" not in result.output
