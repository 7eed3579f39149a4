"""Bad input on every door of a running `ownermap serve`: a lone surrogate (or a span far out of
time) gets a clear partial success or is dropped, and the next good export is still stored."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import grpc
import httpx
import pytest
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
    ExportTraceServiceRequest,
    ExportTraceServiceResponse,
)
from opentelemetry.proto.collector.trace.v1.trace_service_pb2_grpc import TraceServiceStub

from tests.collector.otlp_builders import otlp_json_to_protobuf
from tests.integration.serve_process import ServeProcess, sqlite_url, wait_for

pytestmark = pytest.mark.slow

LONE = "x\ud800"
_counter = iter(range(1, 1_000_000))


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServeProcess]:
    db = sqlite_url(tmp_path_factory.mktemp("bad-input") / "bad.db")
    proc = ServeProcess(db, "--pairing-ttl", "1", env={"OWNERMAP_QUERY_CACHE_SECONDS": "0"}).start()
    yield proc
    proc.stop()


def attrs(values: dict[str, str]) -> list[dict[str, Any]]:
    return [{"key": k, "value": {"stringValue": v}} for k, v in values.items()]


def otlp(resource: dict[str, str], span_attrs: dict[str, str] | None = None,
         start_ns: int | None = None) -> dict[str, Any]:
    """One CLIENT span of a fresh trace (a CLIENT span without child names its peer: rule 4)."""
    n = next(_counter)
    start = start_ns if start_ns is not None else time.time_ns() - 5_000_000_000
    span = {"traceId": f"{n:032x}", "spanId": f"{n:016x}", "kind": 3, "startTimeUnixNano": str(start),
            "endTimeUnixNano": str(start + 1_000_000), "attributes": attrs(span_attrs or {})}
    return {"resourceSpans": [{"resource": {"attributes": attrs(resource)}, "scopeSpans": [{"spans": [span]}]}]}


def post_json(server: ServeProcess, doc: dict[str, Any]) -> httpx.Response:
    # json.dumps writes a lone surrogate as the "\ud800" escape, as a hostile client would
    return httpx.post(server.http, content=json.dumps(doc).encode(),
                      headers={"Content-Type": "application/json"}, timeout=30)


def services(server: ServeProcess) -> set[str]:
    body = httpx.get(f"{server.api}/api/v1/services", params={"window": "1h"}, timeout=10).json()
    return {s["name"] for s in body["services"]}


def graph_nodes(server: ServeProcess) -> set[str]:
    body = httpx.get(f"{server.api}/api/v1/graph", params={"window": "1h"}, timeout=10).json()
    return {n["id"] for n in body["nodes"]}


def assert_good_export_is_stored(server: ServeProcess, name: str) -> None:
    """A good export after the bad one is acknowledged and shows up in the API."""
    response = post_json(server, otlp({"service.name": name}, {"peer.service": f"{name}-peer"}))
    assert response.status_code == 200, response.text
    assert response.json() == {}
    assert wait_for(lambda: name in services(server) and f"{name}-peer" in graph_nodes(server)), server.log[-20:]


def test_otlp_json_service_name_surrogate_is_rejected_by_name(server: ServeProcess) -> None:
    response = post_json(server, otlp({"service.name": LONE}))
    assert response.status_code == 200, response.text
    partial = response.json()["partialSuccess"]
    assert partial["rejectedSpans"] == "1"
    assert "service name 'x\\ud800' is not valid Unicode" in partial["errorMessage"]
    assert_good_export_is_stored(server, "after-service-name")


def test_otlp_json_environment_surrogate_is_dropped_and_the_span_kept(server: ServeProcess) -> None:
    response = post_json(server, otlp({"service.name": "env-sender", "deployment.environment.name": LONE}))
    assert response.status_code == 200, response.text
    partial = response.json()["partialSuccess"]
    assert partial["rejectedSpans"] == "0" and "deployment.environment.name" in partial["errorMessage"]
    assert wait_for(lambda: "env-sender" in services(server))
    assert_good_export_is_stored(server, "after-environment")


def test_otlp_json_peer_service_surrogate_is_dropped_and_the_span_kept(server: ServeProcess) -> None:
    response = post_json(server, otlp({"service.name": "peer-sender"}, {"peer.service": LONE}))
    assert response.status_code == 200, response.text
    partial = response.json()["partialSuccess"]
    assert partial["rejectedSpans"] == "0" and "peer.service" in partial["errorMessage"]
    assert_good_export_is_stored(server, "after-peer-service")


def test_zipkin_service_name_surrogate(server: ServeProcess) -> None:
    n = next(_counter)
    span = {"traceId": f"{n:032x}", "id": f"{n:016x}", "kind": "SERVER",
            "timestamp": time.time_ns() // 1000 - 5_000_000, "duration": 100, "localEndpoint": {"serviceName": LONE}}
    response = httpx.post(server.http.replace("/v1/traces", "/api/v2/spans"), content=json.dumps([span]).encode(),
                          headers={"Content-Type": "application/json"}, timeout=30)
    assert response.status_code == 202, response.text
    assert_good_export_is_stored(server, "after-zipkin")


def test_ingest_file_with_surrogates_then_good_export(server: ServeProcess, tmp_path: Path) -> None:
    path = tmp_path / "bad.jsonl"
    lines = [otlp({"service.name": LONE}), otlp({"service.name": "file-good"}, {"peer.service": LONE})]
    path.write_text("\n".join(json.dumps(doc) for doc in lines) + "\n", encoding="utf-8")
    done = subprocess.run([sys.executable, "-m", "ownermap", "ingest", "--db", server.db_url or "", str(path)],
                          capture_output=True, text=True, timeout=60, check=False)
    assert done.returncode == 0, done.stderr
    assert "rejected span: span" in done.stderr and "not valid Unicode" in done.stderr
    assert "ingested 1 spans from 1 file(s)" in done.stderr and "1 spans rejected" in done.stderr
    assert wait_for(lambda: "file-good" in services(server))
    assert_good_export_is_stored(server, "after-ingest")


def test_spans_out_of_time_are_rejected_with_partial_success_on_protobuf_doors(server: ServeProcess) -> None:
    now = time.time_ns()
    old, future = now - 100 * 86_400 * 10**9, now + 3 * 3600 * 10**9
    body = otlp_json_to_protobuf(otlp({"service.name": "too-old"}, start_ns=old))
    response = httpx.post(server.http, content=body, headers={"Content-Type": "application/x-protobuf"}, timeout=30)
    partial = ExportTraceServiceResponse.FromString(response.content).partial_success
    assert partial.rejected_spans == 1 and "past the retention" in partial.error_message
    with grpc.insecure_channel(server.grpc) as channel:
        stub = TraceServiceStub(channel)
        request = ExportTraceServiceRequest.FromString(
            otlp_json_to_protobuf(otlp({"service.name": "too-new"}, start_ns=future)))
        reply = stub.Export(request, timeout=30)
    assert reply.partial_success.rejected_spans == 1 and "in the future" in reply.partial_success.error_message
    assert_good_export_is_stored(server, "after-times")
    assert not {"too-old", "too-new"} & services(server)
    metrics = httpx.get(f"{server.api}/metrics", timeout=10).text
    rejected = [line for line in metrics.splitlines() if line.startswith("ownermap_spans_rejected_total")]
    assert rejected and float(rejected[0].split()[-1]) >= 4
