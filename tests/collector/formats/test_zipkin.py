"""Zipkin v2 JSON to spans: the real captures and hand-made edge cases."""

from __future__ import annotations

import json
import time
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from collector.formats.zipkin import decode_zipkin
from graph.model import UNKNOWN_SERVICE, DecodeResult, Span, SpanKind

TRACE = "00000000000000ab"
T0 = 1_600_000_000_000_000


def zspan(span_id: str, service: str | None = "svc", parent: str | None = None, **extra: Any) -> dict[str, Any]:
    """A minimal Zipkin v2 span in trace TRACE."""
    raw: dict[str, Any] = {"traceId": TRACE, "id": span_id, "timestamp": T0, "duration": 1000}
    if service is not None:
        raw["localEndpoint"] = {"serviceName": service}
    if parent is not None:
        raw["parentId"] = parent
    raw.update(extra)
    return {k: v for k, v in raw.items() if v is not None}


def sid(n: int) -> str:
    return f"{n:016x}"


def by_service_kind(spans: list[Span]) -> dict[tuple[str, int], Span]:
    return {(s.service, s.kind): s for s in spans}


def cross_service_pairs(spans: list[Span]) -> Counter[tuple[str, str]]:
    by_id = {(s.trace_id, s.span_id): s for s in spans}
    pairs: Counter[tuple[str, str]] = Counter()
    for s in spans:
        parent = by_id.get((s.trace_id, s.parent_id))
        if parent is not None and parent.service != s.service:
            pairs[(parent.service, s.service)] += 1
    return pairs


def load(traces_dir: Path, name: str) -> DecodeResult:
    result = decode_zipkin(json.loads((traces_dir / name).read_text()))
    assert result.rejected == 0, result.errors
    return result


def assert_well_formed(spans: list[Span]) -> None:
    ids = [(s.trace_id, s.span_id) for s in spans]
    assert len(set(ids)) == len(ids)
    for s in spans:
        assert len(s.trace_id) == 16 and len(s.span_id) == 8 and len(s.parent_id) in (0, 8)
        assert 0 <= s.start_ns <= s.end_ns


# ---------------------------------------------------------------- real captures


def test_netflix_fragments_merge_and_shared_ids_split(traces_dir: Path) -> None:
    spans = load(traces_dir, "zipkin_netflix_8spans.json").spans
    assert_well_formed(spans)
    assert len(spans) == 6  # 8 fragments: two endpoint-less annotation fragments join api's client span
    assert all(s.trace_id.hex() == "5982fe77008310cc80f1da5e10147517" for s in spans)
    k = by_service_kind(spans)
    apip_client = k[("apip", SpanKind.CLIENT)]
    api_server, api_client = k[("api", SpanKind.SERVER)], k[("api", SpanKind.CLIENT)]
    logs_server = k[("session_logs", SpanKind.SERVER)]
    assert apip_client.span_id.hex() == "67fae42571535f60"  # the client half keeps the shared id
    assert api_server.span_id != apip_client.span_id and api_server.parent_id == apip_client.span_id
    assert api_client.span_id.hex() == "6c59056709a0b1e4"
    assert api_client.parent_id == api_server.span_id  # re-parented to the half of its own service
    assert logs_server.parent_id == api_client.span_id
    assert api_client.start_ns == 1_516_781_775_742_000_000 and api_client.duration_s == pytest.approx(0.008)
    evcache = [s for s in spans if s.attrs.get("peer.service") == "evcache_g"]
    assert [(s.service, s.kind) for s in evcache] == [("apip", SpanKind.CLIENT)]
    assert not any(s.parent_id == evcache[0].span_id for s in spans)
    assert cross_service_pairs(spans) == {("apip", "api"): 1, ("api", "session_logs"): 1}


def test_kafka_producer_consumer_by_parent_id(traces_dir: Path) -> None:
    spans = load(traces_dir, "zipkin_messaging_kafka_28spans.json").spans
    assert_well_formed(spans)
    assert len(spans) == 28
    assert all(s.trace_id[:8] == bytes(8) for s in spans)  # 64-bit trace ids, left-padded
    by_id = {s.span_id: s for s in spans}
    handoffs = Counter(
        (by_id[s.parent_id].service, by_id[s.parent_id].kind, s.service, s.kind)
        for s in spans if s.parent_id in by_id and by_id[s.parent_id].service != s.service
    )
    assert handoffs == {("servicea", SpanKind.PRODUCER, "serviceb", SpanKind.CONSUMER): 3}
    producers = [s for s in spans if s.kind == SpanKind.PRODUCER]
    assert len(producers) == 9
    assert all(s.attrs["peer.service"] == "kafka" for s in producers)
    assert {s.attrs["messaging.destination.name"] for s in producers} == {"messages", "central.messages",
                                                                          "command-messages"}
    consumers = [s for s in spans if s.kind == SpanKind.CONSUMER]
    assert consumers and all("peer.service" not in s.attrs for s in consumers)
    assert sum(s.error for s in spans) == 3  # includes an empty "error" tag, as Zipkin counts it


def test_smartthings_merges_fragments_and_splits_shared_ids(traces_dir: Path) -> None:
    raw = json.loads((traces_dir / "zipkin_smartthings_mobile_web_install_1041spans.json").read_text())
    spans = load(traces_dir, "zipkin_smartthings_mobile_web_install_1041spans.json").spans
    assert_well_formed(spans)
    # 84 kind-less, time-less platformapi fragments join their SERVER halves; nothing else merges.
    assert len(raw) == 1041 and len(spans) == 957
    assert len({s.span_id for s in spans if s.kind == SpanKind.CLIENT}) == sum(
        1 for s in raw if s.get("kind") == "CLIENT"
    )
    services = {s.service for s in spans}
    assert "stlogin" in services and "coresrv" in services
    assert all(name == name.lower() for name in services)
    pairs = cross_service_pairs(spans)
    assert pairs[("stlogin", "platformapi")] == 53
    assert pairs[("platformapi", "gizmo")] == 52
    assert pairs[("strongman", "platformapi")] == 30


def test_smartthings_fan_out_halves_keep_their_own_children(traces_dir: Path) -> None:
    spans = load(traces_dir, "zipkin_smartthings_mobile_web_install_1041spans.json").spans
    shared = bytes.fromhex("cbab506b53f336fc")
    client = next(s for s in spans if s.span_id == shared)
    assert (client.service, client.kind) == ("bouncer", SpanKind.CLIENT)
    halves = [s for s in spans if s.parent_id == shared]
    assert sorted(s.service for s in halves) == ["pusher"] * 5
    assert len({s.span_id for s in halves}) == 5
    half_ids = {s.span_id for s in halves}
    children = [s for s in spans if s.parent_id in half_ids]
    assert len(children) == 3
    assert all(s.service == "pusher" for s in children)
    assert len({s.parent_id for s in children}) == 3  # each under the half that ran on its host


def test_yelp_imports_despite_the_mess(traces_dir: Path) -> None:
    result = load(traces_dir, "zipkin_yelp_16spans.json")
    assert_well_formed(result.spans)
    assert len(result.spans) == 16
    assert "unknown" in {s.service for s in result.spans}  # a literal name, kept as sent


def test_decoding_is_deterministic(traces_dir: Path) -> None:
    doc = json.loads((traces_dir / "zipkin_smartthings_mobile_web_install_1041spans.json").read_text())
    first = [(s.span_id, s.parent_id) for s in decode_zipkin(doc).spans]
    assert first == [(s.span_id, s.parent_id) for s in decode_zipkin(doc).spans]


# ---------------------------------------------------------------- hand-made cases


def test_shared_id_split_and_reparenting() -> None:
    spans = decode_zipkin([
        zspan(sid(1), "Web", kind="SERVER"),
        zspan(sid(2), "web", sid(1), kind="CLIENT", remoteEndpoint={"serviceName": "API"}),
        zspan(sid(2), "api", sid(1), kind="SERVER", shared=True),
        zspan(sid(3), "api", sid(2), kind="CLIENT"),  # api's own call: under api's server half
        zspan(sid(4), "web", sid(2)),  # web's local work under its client span
        zspan(sid(3), "db", sid(2), kind="SERVER"),  # shared without the flag
    ]).spans
    assert_well_formed(spans)
    k = by_service_kind(spans)
    web_client, api_server = k[("web", SpanKind.CLIENT)], k[("api", SpanKind.SERVER)]
    assert web_client.span_id == bytes.fromhex(sid(2))
    assert api_server.span_id not in {bytes.fromhex(sid(n)) for n in range(5)}
    assert api_server.parent_id == web_client.span_id
    assert k[("api", SpanKind.CLIENT)].parent_id == api_server.span_id
    assert k[("web", SpanKind.UNSPECIFIED)].parent_id == web_client.span_id
    assert k[("db", SpanKind.SERVER)].parent_id == k[("api", SpanKind.CLIENT)].span_id
    assert web_client.attrs["peer.service"] == "api"
    assert cross_service_pairs(spans) == {("web", "api"): 1, ("api", "db"): 1}


def test_self_call_with_shared_id_hangs_children_under_the_server_half() -> None:
    spans = decode_zipkin([
        zspan(sid(1), "a", kind="CLIENT"),
        zspan(sid(1), "a", kind="SERVER", shared=True),
        zspan(sid(2), "a", sid(1)),
    ]).spans
    k = by_service_kind(spans)
    assert k[("a", SpanKind.SERVER)].parent_id == k[("a", SpanKind.CLIENT)].span_id
    assert k[("a", SpanKind.UNSPECIFIED)].parent_id == k[("a", SpanKind.SERVER)].span_id


def test_producer_and_consumer_sharing_an_id() -> None:
    spans = decode_zipkin([
        zspan(sid(1), "a", kind="CONSUMER"),  # listed first on purpose
        zspan(sid(1), "b", kind="PRODUCER"),
    ]).spans
    k = by_service_kind(spans)
    assert k[("b", SpanKind.PRODUCER)].span_id == bytes.fromhex(sid(1))
    assert k[("a", SpanKind.CONSUMER)].parent_id == bytes.fromhex(sid(1))


def test_derived_ids_do_not_depend_on_batch_order() -> None:
    spans = [zspan(sid(1), "a", kind="CLIENT"), zspan(sid(1), "b", kind="SERVER"), zspan(sid(9), "x")]
    forward = {(s.service, s.span_id) for s in decode_zipkin(spans).spans}
    assert forward == {(s.service, s.span_id) for s in decode_zipkin(spans[::-1]).spans}


def test_fragments_merge_times_tags_and_errors() -> None:
    spans = decode_zipkin([
        zspan(sid(1), "a", kind="CLIENT", timestamp=None, duration=None,
              annotations=[{"timestamp": T0 + 50, "value": "ws"}]),
        zspan(sid(1), "a", timestamp=T0, duration=400, tags={"error": "boom", "db.system": "redis"}),
        zspan(sid(1), None, timestamp=None, duration=None, tags={"server.address": "cache"}),
    ]).spans
    assert len(spans) == 1
    (s,) = spans
    assert s.kind == SpanKind.CLIENT and s.error
    assert s.attrs == {"db.system": "redis", "server.address": "cache"}
    assert (s.start_ns, s.end_ns) == (T0 * 1000, (T0 + 400) * 1000)


def test_fragments_on_different_hosts_stay_apart() -> None:
    spans = decode_zipkin([
        zspan(sid(1), "a", kind="CLIENT"),
        zspan(sid(1), kind="SERVER", localEndpoint={"serviceName": "b", "ipv4": "10.0.0.1"}),
        zspan(sid(1), kind="SERVER", localEndpoint={"serviceName": "b", "ipv4": "10.0.0.2"}),
    ]).spans
    assert len(spans) == 3
    assert len({s.span_id for s in spans}) == 3


def test_untimed_spans_borrow_time_and_are_never_dropped_silently() -> None:
    result = decode_zipkin([
        zspan(sid(1), "a", kind="CLIENT", timestamp=T0 + 10, duration=90),
        zspan(sid(1), "b", kind="SERVER", timestamp=None, duration=None),  # from its other half
        zspan(sid(2), "b", sid(1), timestamp=None, duration=None),  # from its parent
        zspan(sid(3), "c", sid(99), timestamp=None, duration=None),  # orphan: the trace's first start
        zspan(sid(4), "c", sid(3), timestamp=None, duration=None,
              annotations=[{"timestamp": T0 + 50}, {"timestamp": T0 + 70}]),  # from its annotations
        zspan(sid(5), "lonely", traceId="00000000000000cd", timestamp=None, duration=None),
    ])
    assert result.rejected == 1 and "no timestamp" in result.errors[0]
    starts = {(s.service, s.kind): (s.start_ns // 1000, s.end_ns // 1000) for s in result.spans}
    assert starts[("b", SpanKind.SERVER)] == (T0 + 10, T0 + 10)
    assert starts[("b", SpanKind.UNSPECIFIED)] == (T0 + 10, T0 + 10)
    c_spans = sorted((s.start_ns // 1000, s.end_ns // 1000) for s in result.spans if s.service == "c")
    assert c_spans == [(T0 + 10, T0 + 10), (T0 + 50, T0 + 70)]


def test_names_endpoints_and_kinds() -> None:
    spans = decode_zipkin([
        zspan(sid(1), "<script>alert('x')</script>", kind="CLIENT",
              remoteEndpoint={"serviceName": "MySQL", "ipv4": "10.1.2.3", "port": 3306}),
        zspan(sid(2), "", kind="server", remoteEndpoint={"serviceName": "Caller", "ipv6": "2001:db8::1"}),
        zspan(sid(3), "Svc", kind="PRODUCER", remoteEndpoint={"serviceName": "Kafka"},
              tags={"peer.service": "Orders", "http.url": "x", "kafka.topic": "t"}),
        zspan(sid(4), "Svc", kind="BOGUS", tags={"error": ""}),
    ]).spans
    a, b, c, d = spans
    assert a.service == "<script>alert('x')</script>"  # kept verbatim: escaping is the renderer's job
    assert a.attrs == {"peer.service": "mysql", "network.peer.address": "10.1.2.3"}
    assert b.service == UNKNOWN_SERVICE and b.kind == SpanKind.SERVER
    assert b.attrs == {"network.peer.address": "2001:db8::1"}  # no peer.service on a SERVER span
    assert c.service == "svc" and c.attrs == {"peer.service": "Orders", "messaging.destination.name": "t"}
    assert d.kind == SpanKind.UNSPECIFIED and d.error
    assert a.resource is not c.resource and c.resource is d.resource


def test_bad_spans_are_rejected_individually() -> None:
    good = zspan(sid(1), "ok")
    result = decode_zipkin([
        "nope", 42, None, [],
        {"id": sid(2)},
        {"traceId": TRACE},
        zspan("abc"),
        zspan("x" * 16),
        zspan(sid(0)),
        zspan(sid(3), traceId="1" * 20),
        zspan(sid(4), traceId="0" * 32),
        zspan(sid(5), parent="12345"),
        good,
        zspan(sid(6), parent=sid(6)),  # a self-parent is a root, as in Zipkin
        zspan(sid(7), parent="0" * 16),
    ])
    assert result.rejected == 12
    assert [s.span_id.hex() for s in result.spans] == [sid(1), sid(6), sid(7)]
    assert all(s.parent_id == b"" for s in result.spans)
    assert result.error_message.endswith("(and 7 more)")


def test_huge_and_odd_numbers() -> None:
    result = decode_zipkin([
        zspan(sid(1), duration=10**30),
        zspan(sid(2), timestamp=10**25, duration=1e300),
        zspan(sid(3), duration=-10),
        zspan(sid(4), timestamp=str(T0), duration="250"),
        zspan(sid(5), duration=True),
    ])
    spans = result.spans
    assert [s.span_id.hex() for s in spans] == [sid(3), sid(4), sid(5)]
    assert spans[0].duration_s == 0.0 and spans[2].duration_s == 0.0
    assert spans[1].end_ns - spans[1].start_ns == 250_000


@pytest.mark.parametrize(
    "fields",
    [{"duration": 10**30}, {"timestamp": 10**25}, {"timestamp": "9" * 40}, {"timestamp": 2**63 // 1000 + 1},
     {"duration": None, "annotations": [{"timestamp": 10**20, "value": "cr"}]}],
)
def test_times_beyond_2262_reject_the_span_like_otlp(fields: dict[str, Any]) -> None:
    result = decode_zipkin([zspan(sid(1)), zspan(sid(2), **fields)])
    assert [s.span_id.hex() for s in result.spans] == [sid(1)]
    assert result.rejected == 1
    assert result.errors == [f"zipkin span {sid(2)}: time is beyond the year 2262"]


def test_sixteen_and_thirty_two_digit_trace_ids() -> None:
    long_id = "463ac35c9f6413ad48485a3953bb6124"
    short, full = decode_zipkin([zspan(sid(1)), zspan(sid(2), traceId=long_id.upper())]).spans
    assert short.trace_id == bytes(7) + b"\x00" + bytes.fromhex(TRACE)
    assert full.trace_id.hex() == long_id


def test_document_must_be_a_list() -> None:
    for bad in ({}, {"data": []}, "x", None):
        with pytest.raises(ValueError, match="list"):
            decode_zipkin(bad)  # type: ignore[arg-type]


def test_fifty_thousand_spans_decode_quickly() -> None:
    doc = []
    for i in range(1, 25_001):
        parent = sid(i - 1) if i > 1 else None
        doc.append(zspan(sid(i), f"s{i % 7}", parent, kind="CLIENT", remoteEndpoint={"serviceName": "x"}))
        doc.append(zspan(sid(i), f"s{(i + 1) % 7}", parent, kind="SERVER", shared=True))
    started = time.perf_counter()
    result = decode_zipkin(doc)
    assert time.perf_counter() - started < 5
    assert len(result.spans) == 50_000 and result.rejected == 0
    assert len({s.span_id for s in result.spans}) == 50_000


@pytest.mark.parametrize(("kind", "tags", "failed"), [
    ("SERVER", {"http.status_code": "503"}, True),
    ("SERVER", {"rpc.grpc.status_code": "13"}, True),
    ("SERVER", {"http.status_code": "499"}, False),
    ("SERVER", {"http.status_code": "503", "otel.status_code": "OK"}, False),
    ("CLIENT", {"http.status_code": "503"}, False),  # rule 12 is about SERVER spans
])
def test_rule_12_status_codes_fail_server_spans(kind: str, tags: dict[str, str], failed: bool) -> None:
    [decoded] = decode_zipkin([zspan(sid(1), kind=kind, tags=tags)]).spans
    assert decoded.error is failed
