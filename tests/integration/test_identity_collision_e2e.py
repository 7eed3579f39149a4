"""End to end (issue 15): one service.name sent by resources with two service.namespace values in a
window gives exactly one identity_collision finding, on /api/v1/findings, from `ownermap findings` and in
the weekly analysis; a name sent by several processes with one namespace gives none."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import OTLPSpanExporter
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.trace import SpanKind

from graph.model import Window
from graph.store import open_store
from ownership.source import CatalogSource
from reports.weekly import analyse_week
from tests.integration.serve_process import ServeProcess, sqlite_url, wait_for

COLLISION = [("api", {"namespaces": ["payments", "search"]})]

pytestmark = pytest.mark.slow


@pytest.fixture
def server(tmp_path: Path) -> Iterator[ServeProcess]:
    proc = ServeProcess(sqlite_url(tmp_path / "ns.db"), env={"OWNERMAP_QUERY_CACHE_SECONDS": "0"}).start()
    yield proc
    proc.stop()


def _send(endpoint: str, service: str, namespace: str) -> None:
    """A few SERVER spans from one SDK process whose resource says service.name and service.namespace."""
    provider = TracerProvider(resource=Resource.create({"service.name": service, "service.namespace": namespace}))
    provider.add_span_processor(SimpleSpanProcessor(OTLPSpanExporter(endpoint=endpoint, insecure=True)))
    tracer = provider.get_tracer("identity-collision-e2e")
    for _ in range(3):
        with tracer.start_as_current_span("GET /", kind=SpanKind.SERVER):
            pass
    provider.shutdown()


def _findings(server: ServeProcess) -> list[dict[str, Any]]:
    return list(httpx.get(f"{server.api}/api/v1/findings", timeout=10).json()["findings"])


def test_two_namespaces_of_one_name_give_one_identity_collision(server: ServeProcess) -> None:
    _send(server.grpc, "api", "search")
    _send(server.grpc, "api", "payments")
    _send(server.grpc, "cart", "shop")  # one name, one namespace, two processes: no collision
    _send(server.grpc, "cart", "shop")

    def both_seen() -> list[dict[str, Any]] | None:
        found = _findings(server)
        services = {f["service"] for f in found if f["code"] == "undocumented"}
        collisions = [f for f in found if f["code"] == "identity_collision"]
        return found if {"api", "cart"} <= services and collisions else None

    found = wait_for(both_seen, timeout=20)
    assert found is not None, _findings(server)
    collisions = [f for f in found if f["code"] == "identity_collision"]
    assert [(f["service"], f["data"]) for f in collisions] == COLLISION

    # The CLI and the weekly analysis read the same store (SQLite in WAL: the server keeps running).
    assert server.db_url is not None
    cli = subprocess.run([sys.executable, "-m", "ownermap", "findings", "--db", server.db_url, "--window", "1h",
                          "--format", "json", "--code", "identity_collision"],
                         capture_output=True, text=True, timeout=60, check=True)
    assert [(f["service"], f["data"]) for f in json.loads(cli.stdout)["findings"]] == COLLISION
    store = open_store(server.db_url)
    try:
        now = time.time()
        week = analyse_week(store, CatalogSource([]).index, Window(now - 7 * 86_400, now + 300), ())
    finally:
        store.close()
    assert [(f.service, f.data) for f in week.analysis.findings(["identity_collision"])] == COLLISION
