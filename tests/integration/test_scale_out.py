"""Scaled out: two ingest processes and one API process on one PostgreSQL build the same graph as a
single SQLite process, when spans are routed by trace id (as the Collector's loadbalancing exporter does)."""

from __future__ import annotations

import os
import random
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from opentelemetry import propagate
from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import OTLPSpanExporter
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import ReadableSpan, SpanProcessor, TracerProvider
from opentelemetry.trace import SpanKind, Status, StatusCode

from tests.conftest import skip_or_fail
from tests.integration.serve_process import ServeProcess, sqlite_url, wait_for

pytestmark = [pytest.mark.slow, pytest.mark.postgres]


class Recorder(SpanProcessor):
    """Keeps every finished span, so the same spans can be sent to different deployments."""

    def __init__(self) -> None:
        self.spans: list[ReadableSpan] = []

    def on_end(self, span: ReadableSpan) -> None:
        self.spans.append(span)


def _generate_spans(traces: int = 120) -> list[ReadableSpan]:
    """A small shop's traces through the OpenTelemetry SDK: rpc hops, a database, an external API."""
    recorder = Recorder()
    tracers = {}
    for name in ("web", "cart", "checkout", "payments"):
        provider = TracerProvider(resource=Resource.create({"service.name": name}))
        provider.add_span_processor(recorder)
        tracers[name] = provider.get_tracer("scale-out")
    rng = random.Random(3)

    def hop(caller: str, callee: str, fail: bool = False) -> Any:
        client = tracers[caller].start_as_current_span(f"call {callee}", kind=SpanKind.CLIENT)
        span = client.__enter__()
        carrier: dict[str, str] = {}
        propagate.inject(carrier)
        server = tracers[callee].start_as_current_span("handle", kind=SpanKind.SERVER,
                                                       context=propagate.extract(carrier))
        inner = server.__enter__()
        if fail:
            inner.set_status(Status(StatusCode.ERROR))
        return client, server, span

    for _ in range(traces):
        with tracers["web"].start_as_current_span("GET /", kind=SpanKind.SERVER):
            for callee in ("cart", "checkout"):
                client, server, _ = hop("web", callee)
                if callee == "checkout":
                    with tracers["checkout"].start_as_current_span(
                            "INSERT", kind=SpanKind.CLIENT, attributes={"db.system.name": "postgresql",
                                                                        "db.namespace": "orders"}):
                        pass
                    c2, s2, _ = hop("checkout", "payments", fail=rng.random() < 0.1)
                    with tracers["payments"].start_as_current_span(
                            "charge", kind=SpanKind.CLIENT, attributes={"peer.service": "bank-api"}):
                        pass
                    s2.__exit__(None, None, None)
                    c2.__exit__(None, None, None)
                server.__exit__(None, None, None)
                client.__exit__(None, None, None)
    return recorder.spans


def _export(target: str, spans: list[ReadableSpan]) -> None:
    exporter = OTLPSpanExporter(endpoint=target, insecure=True)
    for i in range(0, len(spans), 200):
        assert exporter.export(spans[i:i + 200]).name == "SUCCESS"
    exporter.shutdown()


def _graph(api: str) -> dict[str, Any]:
    body = httpx.get(f"{api}/api/v1/graph", params={"window": "1h"}, timeout=10).json()
    return {
        "nodes": sorted((n["id"], n["kind"]) for n in body["nodes"]),
        "edges": sorted((e["source"], e["target"], e["connection_type"], e["calls"], e["errors"])
                        for e in body["edges"]),
    }


@pytest.fixture
def postgres_url() -> Iterator[str]:
    url = os.environ.get("OWNERMAP_TEST_POSTGRES")
    if not url:
        skip_or_fail("OWNERMAP_TEST_POSTGRES is not set (a postgresql:// URL of a test database)")
    import psycopg

    schema = f"scale_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(f"CREATE SCHEMA {schema}")
    separator = "&" if "?" in url else "?"
    yield f"{url}{separator}options=-csearch_path%3D{schema}"
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(f"DROP SCHEMA {schema} CASCADE")


def test_two_ingest_processes_and_an_api_on_postgres_equal_one_sqlite_process(
    postgres_url: str, tmp_path: Path
) -> None:
    spans = _generate_spans()
    by_trace = [[s for s in spans if s.context.trace_id % 2 == k] for k in (0, 1)]
    assert all(by_trace)

    single = ServeProcess(sqlite_url(tmp_path / "single.db"), "--pairing-ttl", "600").start()
    ingest = [ServeProcess(postgres_url, "--role", "ingest", "--pairing-ttl", "600").start() for _ in range(2)]
    api = ServeProcess(postgres_url, "--role", "api").start()
    try:
        _export(single.grpc, spans)
        for process, share in zip(ingest, by_trace, strict=True):
            _export(process.grpc, share)
        assert httpx.get(f"{ingest[0].api}/healthz").json() == {"status": "ok"}
        assert httpx.get(f"{ingest[0].api}/readyz").status_code == 200
        assert httpx.get(f"{ingest[0].api}/api/v1/graph").status_code == 404  # ingest serves no API
        # SIGTERM expires what is pending (database and external peers) into edges and flushes.
        assert single.terminate() == 0
        assert all(process.terminate() == 0 for process in ingest)
        reference = ServeProcess(sqlite_url(tmp_path / "single.db"), "--role", "api").start()
        try:
            expected = _graph(reference.api)
        finally:
            reference.stop()
        assert ("checkout", "orders", "database", 120, 0) in expected["edges"]
        assert ("payments", "bank-api", "virtual", 120, 0) in expected["edges"]
        got = wait_for(lambda: (lambda g: g if g == expected else None)(_graph(api.api)), timeout=15)
        assert got == expected, (_graph(api.api), expected)
    finally:
        for process in (single, *ingest, api):
            process.stop()
