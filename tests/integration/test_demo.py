"""`ownermap demo`: the first thing to try. It must come up alone and show a populated map and findings."""

from __future__ import annotations

import re
import time
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.conftest import REPO_ROOT
from tests.integration.demo_process import DemoProcess
from tests.integration.serve_process import wait_for

NODES = {"web-frontend", "checkout", "payments", "recommendations", "orders-db", "stripe-api"}
FINDINGS = {
    ("undocumented", "recommendations"),
    ("owner_not_found", "shipping"),
    ("owner_inactive", "email"),
    ("stale", "legacy-inventory"),
    ("no_runbook", "cart"),
}


def test_readme_offers_the_demo_first() -> None:
    readme = (REPO_ROOT / "README.md").read_text(encoding="utf-8")
    first_block = re.search(r"```[a-z]*\n(.*?)```", readme, re.DOTALL)
    assert first_block, "README has no code block"
    assert "ownermap demo" in first_block.group(1), first_block.group(1)


@pytest.mark.slow
def test_demo_fills_the_graph_and_findings_within_a_minute(tmp_path: Path) -> None:
    started = time.monotonic()
    # TMPDIR keeps the demo's throwaway database inside this test's directory.
    demo = DemoProcess("--rate", "20", env={"TMPDIR": str(tmp_path)}).start()
    try:
        def ready() -> tuple[dict[str, Any], set[tuple[str, str]]] | None:
            graph = httpx.get(f"{demo.api}/api/v1/graph", timeout=10).json()
            names = {n["id"] for n in graph["nodes"]}
            if len(names) < 10 or not names >= NODES:
                return None
            found = {(f["code"], f["service"])
                     for f in httpx.get(f"{demo.api}/api/v1/findings", timeout=10).json()["findings"]}
            return (graph, found) if found >= FINDINGS else None

        result = wait_for(ready, timeout=max(1.0, 60 - (time.monotonic() - started)), interval=0.5)
        graph = httpx.get(f"{demo.api}/api/v1/graph", timeout=10).json()
        found = httpx.get(f"{demo.api}/api/v1/findings", timeout=10).json()["findings"]
        assert result, (
            f"no populated demo within 60 s: nodes {sorted(n['id'] for n in graph['nodes'])}, "
            f"findings {sorted((f['code'], f['service']) for f in found)}\n{''.join(demo.log)}"
        )
        assert time.monotonic() - started < 60
        graph, _ = result
        edges = {(e["source"], e["target"]) for e in graph["edges"]}
        assert {("web-frontend", "checkout"), ("checkout", "payments"), ("payments", "stripe-api"),
                ("checkout", "orders-db"), ("web-frontend", "recommendations")} <= edges
        assert all(e["calls"] > 0 for e in graph["edges"])
        page = httpx.get(f"{demo.api}/", timeout=10)
        assert page.status_code == 200 and 'class="node' in page.text
        assert any("ownermap demo is running" in line for line in demo.log), "".join(demo.log)
        assert demo.terminate(timeout=20) == 0, "".join(demo.log)
    finally:
        demo.stop()
    assert not any("Traceback" in line for line in demo.log), "".join(demo.log)


@pytest.mark.slow
def test_demo_removes_its_throwaway_database_on_exit(tmp_path: Path) -> None:
    demo = DemoProcess("--rate", "20", env={"TMPDIR": str(tmp_path)}).start()
    try:
        assert list(tmp_path.glob("ownermap-demo-*/demo.db")), "the demo database is not in $TMPDIR"
        assert demo.terminate(timeout=20) == 0, "".join(demo.log)
    finally:
        demo.stop()
    assert list(tmp_path.glob("ownermap-demo-*")) == []
