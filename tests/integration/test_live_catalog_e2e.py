"""`ownermap serve --catalog backstage+http://…` as a real process: it syncs at start-up and every
`catalog_refresh` seconds, keeps its snapshot when Backstage goes away, and says so in status and metrics."""

from __future__ import annotations

import socket
import time
from pathlib import Path

import httpx

from tests.integration.serve_process import ServeProcess, sqlite_url, wait_for
from tests.ownership.catalog.backstage_server import TOKEN, BackstageServer, FakeBackstage, sample_entities


def status(serve: ServeProcess) -> dict:
    [source] = httpx.get(f"{serve.api}/api/v1/catalog/status", timeout=10).json()["sources"]
    return source


def test_serve_syncs_refreshes_and_survives_backstage_going_away(tmp_path: Path) -> None:
    fake = FakeBackstage(sample_entities(30, teams=3), page_size=10)
    server = BackstageServer(fake).__enter__()
    env = {"OWNERMAP_BACKSTAGE_TOKEN": TOKEN, "OWNERMAP_CATALOG_REFRESH": "1", "OWNERMAP_BACKSTAGE_TIMEOUT": "2"}
    serve = ServeProcess(sqlite_url(tmp_path / "o.db"), "--catalog", server.url, env=env).start()
    try:
        first = wait_for(lambda: (s := status(serve))["last_success"] and s, timeout=15)  # synced in the background
        assert first and first["entities"] == 36 and first["errors"] == [] and first["last_success"]
        assert wait_for(lambda: status(serve)["last_success"] != first["last_success"], timeout=15)  # refreshed
        metrics = httpx.get(f"{serve.api}/metrics", timeout=10).text
        assert "ownermap_catalog_entities{source=" in metrics and "} 36.0" in metrics
        server.stop()
        failed = wait_for(lambda: (s := status(serve))["errors"] and s, timeout=30)
        assert failed and failed["entities"] == 36 and "ConnectError" in failed["errors"][0]
        findings = httpx.get(f"{serve.api}/api/v1/findings", timeout=10).json()
        assert findings["catalog_complete"] is True
        assert 'ownermap_catalog_sync_failures_total{source="' in httpx.get(f"{serve.api}/metrics", timeout=10).text
    finally:
        serve.terminate()
        server.stop()
    assert all(r["auth"] == f"Bearer {TOKEN}" for r in fake.requests)
    assert TOKEN not in "".join(serve.log)


def test_serve_starts_at_once_with_a_backstage_that_never_answers(tmp_path: Path) -> None:
    (tmp_path / "catalog").mkdir()
    (tmp_path / "catalog" / "owners.yaml").write_text("teams: [{name: pay, members: [bob]}]\n")
    silent = socket.create_server(("127.0.0.1", 0))  # listens, never accepts: requests hang
    url = f"backstage+http://127.0.0.1:{silent.getsockname()[1]}"
    env = {"OWNERMAP_BACKSTAGE_TOKEN": TOKEN, "OWNERMAP_BACKSTAGE_TIMEOUT": "20"}
    started = time.monotonic()
    serve = ServeProcess(sqlite_url(tmp_path / "o.db"), "--catalog", str(tmp_path / "catalog"), "--catalog", url,
                         env=env).start(timeout=60)
    try:
        # A sync would take 20 s a try, three tries: start-up does not wait for it.
        assert time.monotonic() - started < 20
        assert httpx.get(f"{serve.api}/readyz", timeout=10).status_code == 200
        assert httpx.get(f"{serve.api}/api/v1/findings", timeout=10).json()["catalog_complete"] is False
        teams = httpx.get(f"{serve.api}/api/v1/teams", timeout=10).json()
        assert [t["team"] for t in teams["teams"]] == ["pay"]  # the files are loaded meanwhile
        assert status(serve)["last_success"] is None
    finally:
        serve.terminate()
        silent.close()
