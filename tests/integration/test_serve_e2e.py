"""End to end: the OpenTelemetry Python SDK's own exporters send to a running `ownermap serve`."""

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
from opentelemetry import propagate
from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import OTLPSpanExporter as GrpcExporter
from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter as HttpExporter
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from opentelemetry.proto.collector.trace.v1.trace_service_pb2_grpc import TraceServiceStub
from opentelemetry.proto.common.v1.common_pb2 import AnyValue, KeyValue
from opentelemetry.proto.resource.v1.resource_pb2 import Resource as ProtoResource
from opentelemetry.proto.trace.v1.trace_pb2 import ResourceSpans, ScopeSpans
from opentelemetry.proto.trace.v1.trace_pb2 import Span as ProtoSpan
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import Tracer, TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor, SimpleSpanProcessor
from opentelemetry.trace import SpanKind, Status, StatusCode

from tests.integration.serve_process import ServeProcess, sqlite_url, wait_for

pytestmark = pytest.mark.slow


@pytest.fixture
def server(tmp_path: Path) -> Iterator[ServeProcess]:
    # The TTL must outlast the batching exporter's delay, or a client half expires (as a virtual
    # edge) before its server half is exported: 2 s against the 200 ms batch delay below.
    proc = ServeProcess(sqlite_url(tmp_path / "e2e.db"), "--pairing-ttl", "2").start()
    yield proc
    proc.stop()


def _tracer(name: str, exporter: Any, providers: list[TracerProvider], batch: bool = False) -> Tracer:
    provider = TracerProvider(resource=Resource.create({"service.name": name, "deployment.environment.name": "e2e"}))
    processor = BatchSpanProcessor(exporter, schedule_delay_millis=200) if batch else SimpleSpanProcessor(exporter)
    provider.add_span_processor(processor)
    providers.append(provider)
    return provider.get_tracer("ownermap-e2e")


def _remote(tracer: Tracer, name: str, **kwargs: Any):  # type: ignore[no-untyped-def]
    """Start a SERVER span in `tracer` as a child of the current span, as a real hop would."""
    carrier: dict[str, str] = {}
    propagate.inject(carrier)
    return tracer.start_as_current_span(name, kind=SpanKind.SERVER, context=propagate.extract(carrier), **kwargs)


def _edges(api: str, **params: str) -> dict[tuple[str, str, str], dict[str, Any]]:
    body = httpx.get(f"{api}/api/v1/graph", params=params, timeout=10).json()
    return {(e["source"], e["target"], e["connection_type"]): e for e in body["edges"]}


def test_sdk_grpc_and_http_exporters_build_the_graph(server: ServeProcess) -> None:
    providers: list[TracerProvider] = []
    web = _tracer("web", GrpcExporter(endpoint=server.grpc, insecure=True), providers)
    checkout = _tracer("checkout", HttpExporter(endpoint=server.http), providers)
    payments = _tracer("payments", GrpcExporter(endpoint=server.grpc, insecure=True), providers, batch=True)
    for i in range(10):
        with web.start_as_current_span("GET /checkout", kind=SpanKind.SERVER), \
                web.start_as_current_span("POST checkout", kind=SpanKind.CLIENT), \
                _remote(checkout, "POST /checkout") as checkout_span:
            with checkout.start_as_current_span("INSERT", kind=SpanKind.CLIENT,
                                                attributes={"db.system.name": "postgresql",
                                                            "db.namespace": "orders"}):
                time.sleep(0.002)
            with checkout.start_as_current_span("charge", kind=SpanKind.CLIENT,
                                                attributes={"server.address": "payments"}), \
                    _remote(payments, "charge") as pay_span:
                time.sleep(0.02)
                if i % 5 == 0:
                    pay_span.set_status(Status(StatusCode.ERROR))
            with checkout.start_as_current_span("GET rates", kind=SpanKind.CLIENT,
                                                attributes={"peer.service": "currency-api"}):
                pass
            checkout_span.set_attribute("i", i)
    for provider in providers:
        provider.shutdown()

    expected = {
        ("user", "web", "entry"): (10, 0),
        ("web", "checkout", "rpc"): (10, 0),
        ("checkout", "payments", "rpc"): (10, 2),
        ("checkout", "orders", "database"): (10, 0),
        ("checkout", "currency-api", "virtual"): (10, 0),
    }

    def complete() -> dict[tuple[str, str, str], dict[str, Any]] | None:
        edges = _edges(server.api)
        got = {key: (e["calls"], e["errors"]) for key, e in edges.items()}
        return edges if got == expected else None

    edges = wait_for(complete, timeout=20)
    assert edges, f"graph never matched; last: {_edges(server.api)}\n{''.join(server.log)}"
    pay = edges[("checkout", "payments", "rpc")]
    assert 15 <= pay["p50_ms"] <= 60, pay  # the payments handler sleeps 20 ms
    assert pay["p99_ms"] >= pay["p50_ms"]
    assert len(pay["exemplar_trace_ids"]) == 5
    assert _edges(server.api, env="e2e").keys() == expected.keys()
    assert _edges(server.api, env="prod") == {}
    nodes = {n["id"]: n["kind"] for n in httpx.get(f"{server.api}/api/v1/graph").json()["nodes"]}
    assert nodes == {"user": "user", "web": "service", "checkout": "service", "payments": "service",
                     "orders": "database", "currency-api": "external"}
    dependents = httpx.get(f"{server.api}/api/v1/services/payments/dependents").json()
    assert [(d["name"], d["depth"]) for d in dependents["dependents"]] == [("checkout", 1), ("web", 2), ("user", 3)]


def _request(service: str, spans: list[ProtoSpan]) -> ExportTraceServiceRequest:
    resource = ProtoResource(attributes=[KeyValue(key="service.name", value=AnyValue(string_value=service))])
    return ExportTraceServiceRequest(resource_spans=[ResourceSpans(resource=resource,
                                                                   scope_spans=[ScopeSpans(spans=spans)])])


def _call(i: int, peer: str | None = None) -> tuple[ProtoSpan, ProtoSpan | None]:
    now = time.time_ns()
    trace = i.to_bytes(16, "big")
    client = ProtoSpan(trace_id=trace, span_id=(2 * i + 1).to_bytes(8, "big"), kind=ProtoSpan.SPAN_KIND_CLIENT,
                       start_time_unix_nano=now, end_time_unix_nano=now + 5_000_000, name="call")
    if peer is not None:
        client.attributes.append(KeyValue(key="peer.service", value=AnyValue(string_value=peer)))
        return client, None
    server = ProtoSpan(trace_id=trace, span_id=(2 * i + 2).to_bytes(8, "big"), parent_span_id=client.span_id,
                       kind=ProtoSpan.SPAN_KIND_SERVER, start_time_unix_nano=now + 1_000_000,
                       end_time_unix_nano=now + 4_000_000, name="handle")
    return client, server


def _graph_cli(db_url: str) -> dict[str, Any]:
    out = subprocess.run(
        [sys.executable, "-m", "ownermap", "graph", "--db", db_url, "--window", "1h", "--format", "json"],
        capture_output=True, text=True, check=True, timeout=60,
    )
    return json.loads(out.stdout)


def test_sigkill_right_after_acknowledged_exports_loses_nothing(tmp_path: Path) -> None:
    db = sqlite_url(tmp_path / "kill.db")
    server = ServeProcess(db).start()
    acknowledged = 0
    try:
        with grpc.insecure_channel(server.grpc) as channel:
            stub = TraceServiceStub(channel)
            for i in range(1, 201):
                client, srv = _call(i)
                assert srv is not None
                request = _request("caller", [client])
                request.resource_spans.append(_request("callee", [srv]).resource_spans[0])
                stub.Export(request, timeout=10)
                acknowledged += 1
        server.kill()
    finally:
        server.stop()
    graph = _graph_cli(db)
    calls = {(e["source"], e["target"]): e["calls"] for e in graph["edges"]}
    assert calls == {("caller", "callee"): acknowledged}


def test_sigterm_flushes_pending_half_edges(tmp_path: Path) -> None:
    db = sqlite_url(tmp_path / "term.db")
    server = ServeProcess(db, "--pairing-ttl", "600").start()
    try:
        with grpc.insecure_channel(server.grpc) as channel:
            stub = TraceServiceStub(channel)
            for i in range(1, 51):
                client, _ = _call(i, peer="billing-api")
                stub.Export(_request("shop", [client]), timeout=10)
        # With a 10-minute TTL nothing has expired yet: the virtual edges exist only in memory.
        assert _edges(server.api) == {}
        assert server.terminate() == 0
    finally:
        server.stop()
    graph = _graph_cli(db)
    calls = {(e["source"], e["target"], e["connection_type"]): e["calls"] for e in graph["edges"]}
    assert calls == {("shop", "billing-api", "virtual"): 50}


def test_sigkill_during_sustained_concurrent_ingest_loses_no_acknowledged_export(tmp_path: Path) -> None:
    """Several exporters keep sending; the process is killed mid-stream. Every export answered OK
    is in the database; only exports that were not answered may be missing."""
    import threading

    db = sqlite_url(tmp_path / "sustained.db")
    server = ServeProcess(db).start()
    acknowledged: list[int] = []
    lock = threading.Lock()
    stop = threading.Event()

    def exporter(worker: int) -> None:
        with grpc.insecure_channel(server.grpc) as channel:
            stub = TraceServiceStub(channel)
            for n in range(1, 10_000):
                if stop.is_set():
                    return
                client, srv = _call(worker * 100_000 + n)
                assert srv is not None
                request = _request("sustained-caller", [client])
                request.resource_spans.append(_request("sustained-callee", [srv]).resource_spans[0])
                try:
                    stub.Export(request, timeout=5)
                except grpc.RpcError:
                    return  # the server is gone: this export was not acknowledged
                with lock:
                    acknowledged.append(1)

    threads = [threading.Thread(target=exporter, args=(w,)) for w in range(4)]
    for thread in threads:
        thread.start()
    try:
        wait_for(lambda: len(acknowledged) >= 300, timeout=30)
        server.kill()  # mid-stream: some exports are in flight
        stop.set()
        for thread in threads:
            thread.join(10)
    finally:
        server.stop()
    graph = _graph_cli(db)
    calls = {(e["source"], e["target"]): e["calls"] for e in graph["edges"]}
    stored = calls.get(("sustained-caller", "sustained-callee"), 0)
    assert len(acknowledged) >= 300
    assert len(acknowledged) <= stored <= len(acknowledged) + len(threads)  # at most the in-flight ones extra
