"""Overload: more load than ownermap can take gets retryable answers, memory stays bounded, and every
acknowledged span is in the graph afterwards (loopback only, bounded loops)."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import grpc
import httpx
import pytest
from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import OTLPSpanExporter
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.trace import SpanKind

from tests.integration.serve_process import ServeProcess, sqlite_url
from tests.integration.test_serve_e2e import _call, _request

pytestmark = pytest.mark.slow

CALLS_PER_REQUEST = 1000
RSS_LIMIT_MB = 500


def _rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def _payload(batch: int) -> bytes:
    """One request: CALLS_PER_REQUEST complete client/server pairs, ids unique per batch."""
    request = _request("load-client", [])
    server_spans = []
    for i in range(CALLS_PER_REQUEST):
        client, server = _call(batch * 10_000 + i + 1)
        request.resource_spans[0].scope_spans[0].spans.append(client)
        server_spans.append(server)
    request.resource_spans.append(_request("load-server", server_spans).resource_spans[0])
    return request.SerializeToString()


def test_overload_gets_retryable_answers_and_loses_no_acknowledged_span(tmp_path: Path) -> None:
    server = ServeProcess(
        sqlite_url(tmp_path / "load.db"),
        env={"OWNERMAP_INGEST_QUEUE_SPANS": "4000", "OWNERMAP_INGEST_QUEUE_BATCHES": "2"},
    ).start()
    assert server.proc is not None
    outcomes: dict[str, int] = {}
    lock = threading.Lock()
    rss: list[float] = []
    stop = threading.Event()

    def sample() -> None:
        while not stop.wait(0.1):
            rss.append(_rss_mb(server.proc.pid))  # type: ignore[union-attr]

    payloads = [_payload(b) for b in range(1, 61)]
    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    try:
        with grpc.insecure_channel(server.grpc) as channel:
            export = channel.unary_unary("/opentelemetry.proto.collector.trace.v1.TraceService/Export",
                                         request_serializer=lambda b: b, response_deserializer=lambda b: b)

            def send(data: bytes) -> None:
                try:
                    export(data, timeout=30)
                    code = "OK"
                except grpc.RpcError as exc:
                    code = exc.code().name
                with lock:
                    outcomes[code] = outcomes.get(code, 0) + 1

            # Meanwhile the SDK's own exporter (with its retries) must get its spans through.
            provider = TracerProvider(resource=Resource.create({"service.name": "patient-sdk"}))
            provider.add_span_processor(SimpleSpanProcessor(OTLPSpanExporter(endpoint=server.grpc, insecure=True,
                                                                             timeout=60)))
            tracer = provider.get_tracer("overload")
            with ThreadPoolExecutor(12) as pool:
                futures = [pool.submit(send, data) for data in payloads]
                for _ in range(5):
                    with tracer.start_as_current_span("GET /", kind=SpanKind.SERVER):
                        pass
                for future in futures:
                    future.result()
            provider.shutdown()
    finally:
        stop.set()
        sampler.join()
    acknowledged = outcomes.get("OK", 0)
    assert set(outcomes) <= {"OK", "UNAVAILABLE", "RESOURCE_EXHAUSTED"}, outcomes  # only retryable refusals
    assert outcomes.get("UNAVAILABLE", 0) + outcomes.get("RESOURCE_EXHAUSTED", 0) > 0, outcomes  # it was overloaded
    assert acknowledged > 0
    assert max(rss) < RSS_LIMIT_MB, max(rss)
    graph = httpx.get(f"{server.api}/api/v1/graph", params={"window": "1h"}, timeout=30).json()
    calls = {(e["source"], e["target"]): e["calls"] for e in graph["edges"]}
    assert calls[("load-client", "load-server")] == acknowledged * CALLS_PER_REQUEST
    assert calls[("user", "patient-sdk")] == 5  # the SDK exporter retried until accepted
    server.stop()
