"""The network doors under overload, against a real `ownermap serve` on loopback (issue #14, items 3
and 4): big concurrent gRPC exports keep memory bounded and get only retryable refusals; OTLP/HTTP
senders cannot starve the health checks. Bounded counts and time."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.integration.net_load import big_request, grpc_flood
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
