"""End to end, issue #16: the shapes of DESIGN §2 rules 9-13 made with the OpenTelemetry Python SDK
(manual spans), sent over OTLP/gRPC to a real `ownermap serve`, then read from /api/v1/graph.

The consumer of a queue arrives 6 s after its producer and starts 10 s after it (explicit start
times): beyond the old 5 s pairing TTL, inside `messaging_ttl`. The server is stopped gracefully
(which expires and writes everything pending) and a second one on the same database answers.
"""

from __future__ import annotations

import secrets
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from opentelemetry import trace
from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import OTLPSpanExporter
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import Tracer, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.trace import Link, NonRecordingSpan, SpanContext, SpanKind, Status, StatusCode, TraceFlags

from tests.integration.serve_process import ServeProcess, sqlite_url

pytestmark = pytest.mark.slow
S = 1_000_000_000


class Services:
    """One TracerProvider per service (its resource), all exporting to one OTLP/gRPC endpoint."""

    def __init__(self, endpoint: str) -> None:
        self.endpoint = endpoint
        self.providers: dict[str, TracerProvider] = {}

    def tracer(self, service: str) -> Tracer:
        if service not in self.providers:
            provider = TracerProvider(resource=Resource.create({"service.name": service}))
            provider.add_span_processor(SimpleSpanProcessor(OTLPSpanExporter(endpoint=self.endpoint, insecure=True)))
            self.providers[service] = provider
        return self.providers[service].get_tracer("edge-fidelity-e2e")  # type: ignore[return-value]

    def shutdown(self) -> None:
        for provider in self.providers.values():
            provider.shutdown()


def _span(tracer: Tracer, name: str, kind: SpanKind, start: int, parent: trace.Span | None = None,
          attrs: dict[str, object] | None = None, error: bool = False, links: list[Link] | None = None,
          duration: int = S // 100) -> trace.Span:
    context = trace.set_span_in_context(parent) if parent is not None else None
    span = tracer.start_span(name, context=context, kind=kind, attributes=attrs, links=links, start_time=start)
    if error:
        span.set_status(Status(StatusCode.ERROR))
    span.end(end_time=start + duration)
    return span


def _first_requests(services: Services, t0: int) -> None:
    checkout, srv, pay = services.tracer("checkout"), services.tracer("srv"), services.tracer("payments")
    # A failed connection attempt, then a retry that reached srv (rule 9).
    _span(checkout, "attempt", SpanKind.CLIENT, t0, attrs={"server.address": "srv.prod.svc"}, error=True)
    retry = _span(checkout, "retry", SpanKind.CLIENT, t0 + S, attrs={"server.address": "srv.prod.svc"})
    _span(srv, "handle", SpanKind.SERVER, t0 + S + 1000, parent=retry)
    # An HTTP library span wrapping its transport span (rule 9, wrappers).
    wrapper = checkout.start_span("http", kind=SpanKind.CLIENT, attributes={"peer.service": "payments-api"},
                                  start_time=t0)
    transport = _span(checkout, "transport", SpanKind.CLIENT, t0 + 10, parent=wrapper,
                      attrs={"server.address": "10.0.0.7"})
    _span(pay, "charge", SpanKind.SERVER, t0 + 20, parent=transport)
    wrapper.end(end_time=t0 + S // 10)
    # Attribute hygiene (rule 13) and an unmarked failure (rule 12).
    _span(checkout, "call", SpanKind.CLIENT, t0, attrs={"db.system": "", "server.address": "api.example"})
    _span(checkout, "local", SpanKind.CLIENT, t0, attrs={"server.address": "LOCALHOST"})
    _span(services.tracer("web"), "GET /", SpanKind.SERVER, t0, attrs={"http.response.status_code": 503})
    # A service behind a load balancer: its caller never reports (rule 11).
    remote = NonRecordingSpan(SpanContext(secrets.randbits(128), secrets.randbits(64), is_remote=True,
                                          trace_flags=TraceFlags(TraceFlags.SAMPLED)))
    _span(services.tracer("lb-backend"), "serve", SpanKind.SERVER, t0, parent=remote)  # type: ignore[arg-type]


def _messaging(services: Services, t0: int) -> None:
    shop, billing = services.tracer("shop"), services.tracer("billing")
    sqs = {"server.address": "sqs.eu-west-1.amazonaws.com"}
    producer = _span(shop, "publish", SpanKind.PRODUCER, t0, attrs={"messaging.destination.name": "orders", **sqs})
    _span(shop, "publish", SpanKind.PRODUCER, t0, attrs={"messaging.destination.name": "refunds", **sqs})
    time.sleep(6)  # the consumer arrives after the old 5 s TTL, and starts 10 s after its producer
    receive = _span(billing, "receive", SpanKind.CONSUMER, t0 + 10 * S, parent=producer)
    _span(billing, "process", SpanKind.CONSUMER, t0 + 10 * S + 1000, parent=receive,
          links=[Link(producer.get_span_context())])


@pytest.fixture
def database(tmp_path: Path) -> Iterator[str]:
    yield sqlite_url(tmp_path / "edges.db")


def test_issue_16_shapes_give_exactly_these_edges(database: str) -> None:
    server = ServeProcess(database).start()
    services = Services(server.grpc)
    try:
        t0 = time.time_ns() - 60 * S
        _first_requests(services, t0)
        _messaging(services, t0)
    finally:
        services.shutdown()
        assert server.terminate() == 0  # a graceful stop expires what is pending and writes it
    reader = ServeProcess(database).start()
    try:
        body = httpx.get(f"{reader.api}/api/v1/graph", params={"window": "1d"}, timeout=30).json()
        detail = httpx.get(f"{reader.api}/api/v1/services/lb-backend", params={"window": "1d"}, timeout=30).json()
    finally:
        reader.terminate()
    edges = {(e["source"], e["target"], e["connection_type"]): (e["calls"], e["errors"]) for e in body["edges"]}
    assert edges == {
        ("checkout", "srv", "rpc"): (2, 1),
        ("checkout", "payments", "rpc"): (1, 0),
        ("checkout", "api.example", "virtual"): (1, 0),
        ("shop", "billing", "messaging"): (1, 0),
        ("shop", "refunds", "messaging"): (1, 0),
        ("user", "web", "entry"): (1, 1),
    }
    destinations = {(e["source"], e["target"]): e.get("destinations") for e in body["edges"]}
    assert destinations[("shop", "billing")] == ["orders"]
    assert destinations[("shop", "refunds")] == ["refunds"]
    kinds = {n["id"]: n["kind"] for n in body["nodes"]}
    assert kinds == {
        "checkout": "service", "srv": "service", "payments": "service", "shop": "service", "billing": "service",
        "web": "service", "lb-backend": "service", "api.example": "external", "refunds": "messaging",
        "user": "user",
    }
    assert body["ambiguous_addresses"] == []
    assert detail["unmatched_in"] == {"calls": 1, "failed": 0}
    assert detail["instrumentation"]["unmatched_parents"] == 1
