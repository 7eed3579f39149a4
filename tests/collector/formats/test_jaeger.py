"""Jaeger JSON to spans: the DeathStarBench capture and hand-made edge cases."""

from __future__ import annotations

import json
import time
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from collector.formats.jaeger import decode_jaeger
from graph.model import UNKNOWN_SERVICE, Span, SpanKind

TRACE = "00000000000000aa"
DSB = "jaeger_deathstarbench_socialnetwork_20traces.json"


def span(span_id: str, service_pid: str = "p1", **extra: Any) -> dict[str, Any]:
    """A minimal Jaeger span in trace TRACE."""
    raw: dict[str, Any] = {
        "traceID": TRACE, "spanID": span_id, "processID": service_pid,
        "startTime": 1_700_000_000_000_000, "duration": 1500, "references": [], "tags": [],
    }
    raw.update(extra)
    return raw


def doc(*spans: dict[str, Any], processes: dict[str, Any] | None = None) -> dict[str, Any]:
    procs = processes if processes is not None else {
        "p1": {"serviceName": "frontend", "tags": []},
        "p2": {"serviceName": "backend", "tags": []},
    }
    return {"data": [{"traceID": TRACE, "spans": list(spans), "processes": procs}]}


def tag(key: str, value: Any, kind: str = "string") -> dict[str, Any]:
    return {"key": key, "type": kind, "value": value}


def cross_service_pairs(spans: list[Span]) -> Counter[tuple[str, str]]:
    by_id = {(s.trace_id, s.span_id): s for s in spans}
    pairs: Counter[tuple[str, str]] = Counter()
    for s in spans:
        parent = by_id.get((s.trace_id, s.parent_id))
        if parent is not None and parent.service != s.service:
            pairs[(parent.service, s.service)] += 1
    return pairs


@pytest.fixture
def deathstarbench(traces_dir: Path) -> list[Span]:
    result = decode_jaeger(json.loads((traces_dir / DSB).read_text()))
    assert result.rejected == 0, result.errors
    return result.spans


def test_deathstarbench_counts_and_kinds(deathstarbench: list[Span]) -> None:
    assert len(deathstarbench) == 660
    assert len({s.trace_id for s in deathstarbench}) == 20
    assert {s.kind for s in deathstarbench} == {SpanKind.UNSPECIFIED}
    assert len({(s.trace_id, s.span_id) for s in deathstarbench}) == 660


def test_deathstarbench_ids_are_padded_and_parents_resolve(deathstarbench: list[Span]) -> None:
    ids = {(s.trace_id, s.span_id) for s in deathstarbench}
    for s in deathstarbench:
        assert len(s.trace_id) == 16 and s.trace_id[:8] == bytes(8)
        assert len(s.span_id) == 8
        assert s.parent_id == b"" or (s.trace_id, s.parent_id) in ids
    roots = [s for s in deathstarbench if not s.parent_id]
    assert len(roots) == 20
    assert {r.service for r in roots} == {"nginx-web-server"}
    assert all(r.trace_id[8:] == r.span_id for r in roots)  # this tracer reuses the trace id


def test_deathstarbench_parent_links_between_services(deathstarbench: list[Span]) -> None:
    expected = {
        ("nginx-web-server", "compose-post-service"),
        *(("compose-post-service", s) for s in (
            "text-service", "user-service", "unique-id-service", "media-service",
            "post-storage-service", "user-timeline-service", "home-timeline-service",
        )),
        ("text-service", "url-shorten-service"), ("text-service", "user-mention-service"),
        ("home-timeline-service", "social-graph-service"),
    }
    assert cross_service_pairs(deathstarbench) == dict.fromkeys(expected, 20)


def test_deathstarbench_resources_shared_per_trace_and_process(traces_dir: Path) -> None:
    raw = json.loads((traces_dir / DSB).read_text())
    spans = decode_jaeger(raw).spans
    assert len({id(s.resource) for s in spans}) == sum(len(t["processes"]) for t in raw["data"])
    first = raw["data"][0]
    pid_of = {s["spanID"]: s["processID"] for s in first["spans"]}
    by_pid: dict[str, set[int]] = {}
    for s in spans[: len(first["spans"])]:
        by_pid.setdefault(pid_of[s.span_id.hex()], set()).add(id(s.resource))
    assert all(len(objs) == 1 for objs in by_pid.values())


def test_references_choose_child_of_then_follows_from() -> None:
    a, b, c = "0000000000000001", "0000000000000002", "0000000000000003"
    other_trace = "00000000000000000000000000000bbb"
    spans = decode_jaeger(doc(
        span(a),
        span(b, references=[{"refType": "FOLLOWS_FROM", "traceID": TRACE, "spanID": a}]),
        span(c, references=[
            {"refType": "FOLLOWS_FROM", "traceID": other_trace, "spanID": a},
            {"refType": "CHILD_OF", "traceID": TRACE, "spanID": b},
        ]),
    )).spans
    by_id = {s.span_id.hex(): s for s in spans}
    assert by_id[b].parent_id.hex() == a
    assert by_id[c].parent_id.hex() == b
    assert by_id[c].links == ((bytes.fromhex(other_trace), bytes.fromhex(a)),)


def test_legacy_parent_span_id_and_zero_parent() -> None:
    spans = decode_jaeger(doc(
        span("0000000000000001", parentSpanID="0"),
        span("0000000000000002", parentSpanID="0000000000000001"),
    )).spans
    assert [s.parent_id.hex() for s in spans] == ["", "0000000000000001"]


def test_nested_reference_copies_and_duplicates_are_tolerated() -> None:
    parent = span("0000000000000001")
    child = span("0000000000000002", "p2", references=[
        {"refType": "CHILD_OF", "traceID": TRACE, "spanID": "0000000000000001", "span": dict(parent)},
    ])
    result = decode_jaeger(doc(parent, child, dict(child), dict(parent)))
    assert result.rejected == 0
    assert [s.service for s in result.spans] == ["frontend", "backend"]


def test_kinds_errors_and_attributes() -> None:
    spans = decode_jaeger(doc(
        span("0000000000000001", tags=[
            tag("span.kind", "client"), tag("error", True, "bool"), tag("peer.service", "Payments"),
            tag("db.type", "postgresql"), tag("db.instance", "orders"), tag("peer.hostname", "db1"),
            tag("net.peer.name", "db1"), tag("http.url", "http://x"), tag("server.address", "db.local"),
        ]),
        span("0000000000000002", tags=[tag("span.kind", "SERVER"), tag("error", "true")]),
        span("0000000000000003", tags=[tag("span.kind", "producer"), tag("otel.status_code", "ERROR")]),
        span("0000000000000004", tags=[tag("span.kind", "consumer"), tag("error", False, "bool")]),
        span("0000000000000005", tags=[tag("span.kind", "internal"), tag("error", "false")]),
        span("0000000000000006", tags=[tag("span.kind", "weird")]),
    )).spans
    assert [s.kind for s in spans] == [
        SpanKind.CLIENT, SpanKind.SERVER, SpanKind.PRODUCER, SpanKind.CONSUMER, SpanKind.INTERNAL,
        SpanKind.UNSPECIFIED,
    ]
    assert [s.error for s in spans] == [True, True, True, False, False, False]
    assert spans[0].attrs == {
        "peer.service": "Payments", "db.system": "postgresql", "db.name": "orders",
        "server.address": "db.local",
    }


def test_new_attribute_names_win_over_legacy_ones() -> None:
    (s,) = decode_jaeger(doc(span("0000000000000001", tags=[
        tag("db.system", "mysql"), tag("db.type", "sql"), tag("db.port", 3306, "int64"),
    ]))).spans
    assert s.attrs == {"db.system": "mysql"}


def test_process_tags_become_hints_and_inline_processes_work() -> None:
    processes = {"p1": {"serviceName": "Checkout", "tags": [
        tag("deployment.environment", "prod"), tag("service.version", "1.2"),
        tag("hostname", "h1"), tag("k8s.namespace.name", "shop"),
    ]}}
    inline = {"serviceName": "<script>alert(1)</script>", "tags": [tag("deployment.environment.name", "dev")]}
    raw_inline = span("0000000000000002", processID="", process=inline)
    spans = decode_jaeger(doc(
        span("0000000000000001"), raw_inline, {**raw_inline, "spanID": "0000000000000003"},
        span("0000000000000004", "missing"), processes=processes,
    )).spans
    assert spans[0].service == "Checkout"  # case kept
    assert spans[0].resource.environment == "prod"
    assert spans[0].resource.hints == {
        "deployment.environment": "prod", "service.version": "1.2", "k8s.namespace.name": "shop",
    }
    assert spans[1].service == "<script>alert(1)</script>"  # escaping is the renderer's job
    assert spans[1].resource.environment == "dev"
    assert spans[1].resource is spans[2].resource
    assert spans[3].service == UNKNOWN_SERVICE


def test_times_are_microseconds_and_times_beyond_2262_are_rejected() -> None:
    result = decode_jaeger(doc(
        span("0000000000000001"),
        span("0000000000000002", duration=10**40),
        span("0000000000000003", duration=-5, startTime="1700000000000001"),
        span("0000000000000004", startTime=None),
        span("0000000000000005", startTime="9" * 30),
    ))
    spans = result.spans
    assert [s.span_id.hex()[-1] for s in spans] == ["1", "3", "4"]
    assert (spans[0].start_ns, spans[0].end_ns) == (1_700_000_000_000_000_000, 1_700_000_000_001_500_000)
    assert spans[1].start_ns == 1_700_000_000_000_001_000 and spans[1].duration_s == 0.0
    assert spans[2].start_ns == spans[0].start_ns  # borrowed from the trace
    assert spans[2].end_ns - spans[2].start_ns == 1_500_000
    assert result.rejected == 2
    assert result.errors == [f"jaeger span {n:016x}: time is beyond the year 2262" for n in (2, 5)]


def test_bad_spans_are_rejected_individually() -> None:
    result = decode_jaeger({"data": [
        "not a trace",
        {"traceID": TRACE, "processes": {"p1": {"serviceName": "ok"}}, "spans": [
            "not a span",
            span("0000000000000001"),
            span("xyz"),
            span("00000000000000001"),  # 17 digits
            span("0000000000000000"),
            {**span("0000000000000005"), "spanID": None},
            span("0000000000000006", traceID="abc"),
            span("0000000000000007", parentSpanID="nothex"),
            span("0000000000000008", traceID="g" * 32),
        ]},
        {"traceID": TRACE, "spans": [span("0000000000000009", startTime=None)]},
    ]})
    assert [s.span_id.hex() for s in result.spans] == ["0000000000000001"]
    assert result.rejected == 10
    assert len(result.errors) == 5
    assert "(and 5 more)" in result.error_message


def test_document_shape_errors() -> None:
    for bad in ([], {"data": {}}, {"traces": []}, "x"):
        with pytest.raises(ValueError, match="data"):
            decode_jaeger(bad)  # type: ignore[arg-type]


def test_full_trace_ids_are_kept() -> None:
    full = "0123456789abcdef0123456789abcdef"
    (s,) = decode_jaeger(doc(span("0000000000000001", traceID=full))).spans
    assert s.trace_id.hex() == full


def test_fifty_thousand_spans_decode_quickly() -> None:
    spans = [span(f"{i + 1:016x}", "p1" if i % 2 else "p2", references=(
        [{"refType": "CHILD_OF", "traceID": TRACE, "spanID": f"{i:016x}"}] if i else []
    ), tags=[tag("span.kind", "client" if i % 2 else "server")]) for i in range(50_000)]
    started = time.perf_counter()
    result = decode_jaeger(doc(*spans))
    assert time.perf_counter() - started < 5
    assert len(result.spans) == 50_000 and result.rejected == 0


@pytest.mark.parametrize(("kind", "tags", "failed"), [
    ("server", [tag("http.status_code", 503, "int64")], True),
    ("server", [tag("http.response.status_code", "502")], True),
    ("server", [tag("rpc.grpc.status_code", 14, "int64")], True),
    ("server", [tag("rpc.grpc.status_code", 5, "int64")], False),  # NOT_FOUND: the caller's mistake
    ("server", [tag("http.status_code", 404, "int64")], False),
    ("server", [tag("http.status_code", 503, "int64"), tag("otel.status_code", "OK")], False),
    ("client", [tag("http.status_code", 503, "int64")], False),  # rule 12 is about SERVER spans
])
def test_rule_12_status_codes_fail_server_spans(kind: str, tags: list[dict[str, Any]], failed: bool) -> None:
    [decoded] = decode_jaeger(doc(span("0000000000000001", tags=[tag("span.kind", kind), *tags]))).spans
    assert decoded.error is failed
