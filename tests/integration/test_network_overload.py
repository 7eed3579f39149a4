"""The network doors under overload, against a real `ownermap serve` on loopback (issue #14, items 3
and 4): big concurrent gRPC exports keep memory bounded and get only retryable refusals; OTLP/HTTP
senders cannot starve the health checks. Bounded counts and time."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.integration.net_load import big_request, grpc_flood, http_senders_with_probe, small_request
from tests.integration.serve_process import ServeProcess, sqlite_url

pytestmark = pytest.mark.slow

CALLS = 200
RSS_LIMIT_MB = 600
RETRYABLE = {"RESOURCE_EXHAUSTED", "UNAVAILABLE"}


@pytest.fixture(scope="module")
def payload() -> bytes:
    return big_request()  # ~8 MiB, a valid OTLP request, built once


@pytest.mark.timeout(180)
def test_200_concurrent_8mib_exports_keep_rss_bounded(tmp_path: Path, payload: bytes) -> None:
    server = ServeProcess(sqlite_url(tmp_path / "net.db")).start()
    assert server.proc is not None
    try:
        flood = grpc_flood(server.grpc, server.proc.pid, payload, calls=CALLS)
    finally:
        server.stop()
    assert sum(flood.codes.values()) == CALLS
    assert set(flood.codes) <= {"OK"} | RETRYABLE, flood.codes
    assert flood.codes["OK"] > 0, flood.codes
    assert flood.peak_rss_mb < RSS_LIMIT_MB, flood


@pytest.mark.timeout(180)
def test_200_concurrent_unauthenticated_8mib_exports_keep_rss_bounded(tmp_path: Path, payload: bytes) -> None:
    server = ServeProcess(sqlite_url(tmp_path / "net.db"), env={"OWNERMAP_OTLP_TOKEN": "net-token"}).start()
    assert server.proc is not None
    try:
        flood = grpc_flood(server.grpc, server.proc.pid, payload, calls=CALLS)  # no token sent
    finally:
        server.stop()
    assert dict(flood.codes) == {"UNAUTHENTICATED": CALLS}
    assert flood.peak_rss_mb < RSS_LIMIT_MB, flood


@pytest.mark.timeout(120)
def test_100_http_senders_leave_healthz_p95_under_200ms(tmp_path: Path) -> None:
    """Kubelet's probes time out at 1 to 2 s; a probe that fails restarts the pod and loses its pending
    half-edges. The OTLP/HTTP listener runs on its own thread and loop, and ingest threads yield the
    CPU (`ingest_thread_nice`), so the API's loop answers /healthz while 100 senders post."""
    server = ServeProcess(sqlite_url(tmp_path / "health.db")).start()
    try:
        load = http_senders_with_probe(server.http, server.api, small_request(), senders=100, seconds=8.0)
    finally:
        server.stop()
    assert len(load.health) >= 20, load
    assert sum(load.statuses.values()) > 1000, load.statuses  # the senders really were sending
    assert set(load.statuses) <= {200, 503}, load.statuses  # 503 with Retry-After is back-pressure
    assert load.p95() < 0.2, f"/healthz p95 {load.p95() * 1000:.0f} ms: {sorted(load.health)[-5:]}"

