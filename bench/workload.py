"""Realistic synthetic OTLP batches for benchmarks: 20 services, HTTP-style attributes, traces
hopping across services, database calls and a share of unpaired client spans."""

from __future__ import annotations

import random

from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from opentelemetry.proto.common.v1.common_pb2 import AnyValue, KeyValue
from opentelemetry.proto.resource.v1.resource_pb2 import Resource
from opentelemetry.proto.trace.v1.trace_pb2 import ResourceSpans, ScopeSpans, Span, Status

SERVICES = [f"svc-{name}" for name in (
    "gateway", "web", "auth", "cart", "checkout", "payments", "catalog", "search", "reviews", "ratings",
    "shipping", "email", "users", "inventory", "pricing", "ads", "recommend", "fraud", "ledger", "notify",
)]
DATABASES = ["orders-db", "users-db", "catalog-db", "redis-cache"]


def _kv(key: str, value: str | int) -> KeyValue:
    if isinstance(value, int):
        return KeyValue(key=key, value=AnyValue(int_value=value))
    return KeyValue(key=key, value=AnyValue(string_value=value))


def _http_attrs(rng: random.Random, peer: str | None) -> list[KeyValue]:
    attrs = [
        _kv("http.request.method", rng.choice(["GET", "POST", "PUT"])),
        _kv("url.path", f"/api/v1/items/{rng.randrange(10_000)}"),
        _kv("http.response.status_code", rng.choice([200, 200, 200, 201, 404, 500])),
        _kv("network.protocol.version", "1.1"),
        _kv("user_agent.original", "Mozilla/5.0 (X11; Linux x86_64)"),
        _kv("http.route", "/api/v1/items/{id}"),
    ]
    if peer:
        attrs.append(_kv("server.address", peer))
        attrs.append(_kv("server.port", 8080))
    return attrs


def make_batch(seed: int, spans_per_batch: int = 8192) -> bytes:
    """One serialised ExportTraceServiceRequest of about `spans_per_batch` spans."""
    rng = random.Random(seed)
    by_service: dict[str, list[Span]] = {s: [] for s in SERVICES}
    count = 0
    span_counter = seed * 10_000_000
    now = 1_760_000_000_000_000_000 + seed * 1_000_000_000
    while count < spans_per_batch:
        trace_id = rng.getrandbits(128).to_bytes(16, "big")
        caller = rng.choice(SERVICES[:3])
        span_counter += 1
        root_id = span_counter.to_bytes(8, "big")
        by_service[caller].append(Span(trace_id=trace_id, span_id=root_id, kind=Span.SPAN_KIND_SERVER,
                                       name="GET /", start_time_unix_nano=now, end_time_unix_nano=now + 9_000_000,
                                       attributes=_http_attrs(rng, None)))
        count += 1
        parent_id = root_id
        for _hop in range(rng.randint(1, 4)):
            callee = rng.choice(SERVICES)
            if callee == caller:
                continue
            span_counter += 2
            client_id = (span_counter - 1).to_bytes(8, "big")
            server_id = span_counter.to_bytes(8, "big")
            start = now + rng.randrange(1_000_000)
            failed = rng.random() < 0.02
            status = Status(code=Status.STATUS_CODE_ERROR if failed else Status.STATUS_CODE_OK)
            by_service[caller].append(Span(trace_id=trace_id, span_id=client_id, parent_span_id=parent_id,
                                           kind=Span.SPAN_KIND_CLIENT, name="call", start_time_unix_nano=start,
                                           end_time_unix_nano=start + rng.randrange(1_000_000, 50_000_000),
                                           attributes=_http_attrs(rng, callee), status=status))
            by_service[callee].append(Span(trace_id=trace_id, span_id=server_id, parent_span_id=client_id,
                                           kind=Span.SPAN_KIND_SERVER, name="handle", start_time_unix_nano=start + 1,
                                           end_time_unix_nano=start + rng.randrange(1_000, 40_000_000),
                                           attributes=_http_attrs(rng, None), status=status))
            count += 2
            if rng.random() < 0.5:
                span_counter += 1
                db = rng.choice(DATABASES)
                by_service[callee].append(Span(
                    trace_id=trace_id, span_id=span_counter.to_bytes(8, "big"), parent_span_id=server_id,
                    kind=Span.SPAN_KIND_CLIENT, name="SELECT", start_time_unix_nano=start + 2,
                    end_time_unix_nano=start + 2_000_000,
                    attributes=[_kv("db.system.name", "postgresql"), _kv("db.namespace", db),
                                _kv("server.address", db), _kv("db.query.text", "SELECT * FROM t WHERE id = $1")]))
                count += 1
            if rng.random() < 0.05:  # an unpaired client span without a peer attribute
                span_counter += 1
                by_service[callee].append(Span(
                    trace_id=trace_id, span_id=span_counter.to_bytes(8, "big"), parent_span_id=server_id,
                    kind=Span.SPAN_KIND_CLIENT, name="mystery", start_time_unix_nano=start + 3,
                    end_time_unix_nano=start + 500_000))
                count += 1
            caller, parent_id = callee, server_id
    request = ExportTraceServiceRequest()
    for service, spans in by_service.items():
        if not spans:
            continue
        resource = Resource(attributes=[_kv("service.name", service), _kv("service.namespace", "shop"),
                                        _kv("deployment.environment.name", "prod"),
                                        _kv("telemetry.sdk.language", "python"), _kv("host.name", "node-1")])
        request.resource_spans.append(ResourceSpans(resource=resource, scope_spans=[ScopeSpans(spans=spans)]))
    return request.SerializeToString()
