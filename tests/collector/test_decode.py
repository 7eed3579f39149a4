"""OTLP decoding (protobuf and OTLP/JSON): normal input, odd-but-valid input, and hostile input.

Spans that cannot be used are rejected one by one (OTLP partial success); only a payload that
cannot be read at all is a DecodeError. The property tests check that nothing else ever escapes.
"""

from __future__ import annotations

import base64
import contextlib
import json
import string
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
    ExportTraceServiceRequest,
    ExportTraceServiceResponse,
)
from opentelemetry.proto.common.v1.common_pb2 import AnyValue, ArrayValue, KeyValue
from opentelemetry.proto.resource.v1.resource_pb2 import Resource as PbResource
from opentelemetry.proto.trace.v1.trace_pb2 import ResourceSpans, ScopeSpans, Status
from opentelemetry.proto.trace.v1.trace_pb2 import Span as PbSpan

from collector.decode import (
    DecodeError,
    decode_json_bytes,
    decode_json_document,
    decode_request,
    decode_request_bytes,
    encode_response,
    parse_id,
    response_json,
)
from graph.model import MAX_NAME_LENGTH, UNKNOWN_SERVICE, DecodeResult, SpanKind
from tests.conftest import at_least_examples

T0 = 1_700_000_000_000_000_000
TRACE = bytes.fromhex("0af7651916cd43dd8448eb211c80319c")
MAX_INT64 = 2**63 - 1


def sid(n: int) -> bytes:
    return n.to_bytes(8, "big")


# --------------------------------------------------------------------------- protobuf builders


def pb_value(value: Any) -> AnyValue:
    if isinstance(value, bool):
        return AnyValue(bool_value=value)
    if isinstance(value, int):
        return AnyValue(int_value=value)
    if isinstance(value, float):
        return AnyValue(double_value=value)
    if isinstance(value, list):
        return AnyValue(array_value=ArrayValue(values=[pb_value(v) for v in value]))
    return AnyValue(string_value=value)


def pb_attrs(attrs: dict[str, Any]) -> list[KeyValue]:
    return [KeyValue(key=k, value=pb_value(v)) for k, v in attrs.items()]


def pb_span(
    span_id: bytes,
    parent: bytes = b"",
    kind: int = PbSpan.SPAN_KIND_SERVER,
    *,
    trace_id: bytes = TRACE,
    start: int = T0,
    end: int = T0 + 1_000_000,
    error: bool = False,
    attrs: dict[str, Any] | None = None,
    links: tuple[tuple[bytes, bytes], ...] = (),
) -> PbSpan:
    span = PbSpan(
        trace_id=trace_id, span_id=span_id, parent_span_id=parent, kind=kind, name="op",
        start_time_unix_nano=start, end_time_unix_nano=end, attributes=pb_attrs(attrs or {}),
        links=[PbSpan.Link(trace_id=t, span_id=s) for t, s in links],
    )
    if error:
        span.status.code = Status.STATUS_CODE_ERROR
    return span


def pb_resource_spans(resource: dict[str, Any], *spans: PbSpan) -> ResourceSpans:
    return ResourceSpans(
        resource=PbResource(attributes=pb_attrs(resource)), scope_spans=[ScopeSpans(spans=list(spans))]
    )


def pb_request(*resource_spans: ResourceSpans) -> ExportTraceServiceRequest:
    return ExportTraceServiceRequest(resource_spans=list(resource_spans))


def two_service_request() -> ExportTraceServiceRequest:
    return pb_request(
        pb_resource_spans(
            {"service.name": "frontend"},
            pb_span(sid(1), kind=PbSpan.SPAN_KIND_CLIENT, attrs={"peer.service": "backend"}),
        ),
        pb_resource_spans(
            {"service.name": "backend"}, pb_span(sid(2), sid(1), PbSpan.SPAN_KIND_SERVER, error=True)
        ),
    )


# --------------------------------------------------------------------------- OTLP/JSON builders


def js_attrs(attrs: dict[str, Any]) -> list[dict[str, Any]]:
    out = []
    for key, value in attrs.items():
        if isinstance(value, bool):
            v: dict[str, Any] = {"boolValue": value}
        elif isinstance(value, int):
            v = {"intValue": str(value)}
        elif isinstance(value, float):
            v = {"doubleValue": value}
        else:
            v = {"stringValue": value}
        out.append({"key": key, "value": v})
    return out


def js_span(span_id: str, parent: str = "", kind: Any = 2, **extra: Any) -> dict[str, Any]:
    raw: dict[str, Any] = {
        "traceId": TRACE.hex(), "spanId": span_id, "parentSpanId": parent, "name": "op", "kind": kind,
        "startTimeUnixNano": str(T0), "endTimeUnixNano": str(T0 + 2_000_000),
    }
    raw.update(extra)
    return raw


def js_doc(service: str | None, *spans: Any, resource: dict[str, Any] | None = None) -> dict[str, Any]:
    attrs = dict(resource or {})
    if service is not None:
        attrs["service.name"] = service
    return {"resourceSpans": [{"resource": {"attributes": js_attrs(attrs)}, "scopeSpans": [{"spans": list(spans)}]}]}


# =========================================================================== protobuf


def test_protobuf_request_decodes_ids_kinds_times_status_and_resources() -> None:
    result = decode_request_bytes(two_service_request().SerializeToString())
    assert result.rejected == 0 and result.errors == []
    client, server = result.spans
    assert client.service == "frontend" and server.service == "backend"
    assert client.trace_id == TRACE and client.span_id == sid(1) and client.parent_id == b""
    assert server.parent_id == sid(1)
    assert client.kind == SpanKind.CLIENT and server.kind == SpanKind.SERVER
    assert client.start_ns == T0 and client.end_ns == T0 + 1_000_000
    assert client.error is False and server.error is True
    assert client.attrs == {"peer.service": "backend"}


def test_protobuf_status_ok_and_unset_are_not_errors() -> None:
    ok = pb_span(sid(1))
    ok.status.code = Status.STATUS_CODE_OK
    result = decode_request(pb_request(pb_resource_spans({"service.name": "a"}, ok, pb_span(sid(2)))))
    assert [s.error for s in result.spans] == [False, False]


def test_protobuf_attribute_value_types_and_only_edge_rule_keys_kept() -> None:
    attrs = {
        "peer.service": "orders", "db.namespace": 42, "db.name": 1.5, "server.address": ["a", "b"],
        "http.method": "GET", "db.system": "",
    }
    result = decode_request(pb_request(pb_resource_spans({"service.name": "a"}, pb_span(sid(1), attrs=attrs))))
    (span,) = result.spans
    assert span.attrs["peer.service"] == "orders"
    assert span.attrs["db.namespace"] == "42"
    assert span.attrs["db.name"] == "1.5"
    assert span.attrs["server.address"] == ""  # arrays name nothing
    assert "http.method" not in span.attrs  # not read by the edge rules
    assert span.attrs["db.system"] == ""


def test_protobuf_all_zero_parent_is_a_root() -> None:
    result = decode_request(pb_request(pb_resource_spans({"service.name": "a"}, pb_span(sid(1), bytes(8)))))
    assert result.spans[0].parent_id == b""


def test_protobuf_links_are_kept() -> None:
    other_trace = bytes(range(16))
    span = pb_span(sid(3), kind=PbSpan.SPAN_KIND_CONSUMER, links=((other_trace, sid(9)), (TRACE, sid(1))))
    result = decode_request(pb_request(pb_resource_spans({"service.name": "worker"}, span)))
    assert result.spans[0].links == ((other_trace, sid(9)), (TRACE, sid(1)))
    assert result.spans[0].kind == SpanKind.CONSUMER


@pytest.mark.parametrize("resource", [{}, {"service.name": ""}, {"service.namespace": "shop"}])
def test_protobuf_missing_service_name_is_unknown_service(resource: dict[str, Any]) -> None:
    result = decode_request(pb_request(pb_resource_spans(resource, pb_span(sid(1)))))
    assert result.spans[0].service == UNKNOWN_SERVICE


def test_protobuf_resource_spans_without_resource_is_unknown_service() -> None:
    scope = ScopeSpans(spans=[pb_span(sid(1))])
    request = ExportTraceServiceRequest(resource_spans=[ResourceSpans(scope_spans=[scope])])
    assert decode_request(request).spans[0].service == UNKNOWN_SERVICE


def test_protobuf_names_over_256_characters_are_capped() -> None:
    long = "s" * 10_000
    result = decode_request(
        pb_request(pb_resource_spans({"service.name": long, "service.namespace": "n" * 1000}, pb_span(sid(1))))
    )
    resource = result.spans[0].resource
    assert resource.service == "s" * MAX_NAME_LENGTH
    assert resource.hints["service.namespace"] == "n" * MAX_NAME_LENGTH


def test_protobuf_hints_environment_and_owner_keys() -> None:
    resource = {
        "service.name": "cart", "service.namespace": "shop", "deployment.environment.name": "prod",
        "deployment.environment": "legacy-env", "service.version": "1.2.3", "team.owner": "payments",
        "host.name": "ignored",
    }
    span = pb_span(sid(1))
    plain = decode_request(pb_request(pb_resource_spans(resource, span)))
    res = plain.spans[0].resource
    assert res.environment == "prod"  # the new key wins over the old one
    assert res.hints["service.namespace"] == "shop"
    assert res.hints["service.version"] == "1.2.3"
    assert "team.owner" not in res.hints and "host.name" not in res.hints
    with_owner = decode_request(pb_request(pb_resource_spans(resource, span)), owner_keys=["team.owner"])
    assert with_owner.spans[0].resource.hints["team.owner"] == "payments"


def test_protobuf_old_deployment_environment_key_is_the_environment() -> None:
    result = decode_request(
        pb_request(pb_resource_spans({"service.name": "cart", "deployment.environment": "staging"}, pb_span(sid(1))))
    )
    assert result.spans[0].resource.environment == "staging"


def test_protobuf_spans_of_one_resource_share_the_resource_object() -> None:
    result = decode_request(pb_request(pb_resource_spans({"service.name": "a"}, pb_span(sid(1)), pb_span(sid(2)))))
    assert result.spans[0].resource is result.spans[1].resource


def test_protobuf_bad_spans_are_rejected_one_by_one_and_the_rest_kept() -> None:
    request = pb_request(
        pb_resource_spans(
            {"service.name": "a"},
            pb_span(sid(1)),
            pb_span(sid(2), trace_id=b"\x01" * 8),  # short trace id
            pb_span(b"\x02" * 4),  # short span id
            pb_span(sid(3), parent=b"\x03" * 5),  # bad parent id
            pb_span(sid(4), start=0),  # no start time
            pb_span(sid(5), trace_id=b""),  # empty trace id
        ),
        pb_resource_spans({"service.name": "b"}, pb_span(sid(6), sid(1))),
    )
    result = decode_request_bytes(request.SerializeToString())
    assert [s.span_id for s in result.spans] == [sid(1), sid(6)]
    assert result.rejected == 5
    assert len(result.errors) == 5
    assert "16 bytes" in result.errors[0] and "(got 8/8/0)" in result.errors[0]
    assert "(got 16/4/0)" in result.errors[1]
    assert "(got 16/8/5)" in result.errors[2]
    assert "start_time_unix_nano is missing" in result.errors[3]
    assert result.error_message.count(";") == 4


def test_error_message_summarises_many_rejections() -> None:
    spans = [pb_span(sid(i), trace_id=b"x") for i in range(1, 13)]
    result = decode_request(pb_request(pb_resource_spans({"service.name": "a"}, *spans)))
    assert result.rejected == 12 and len(result.errors) == 5
    assert result.error_message.endswith("(and 7 more)")


def test_encode_response_plain_and_partial_success() -> None:
    ok = DecodeResult(spans=[])
    assert ExportTraceServiceResponse.FromString(encode_response(ok)) == ExportTraceServiceResponse()
    assert response_json(ok) == {}
    partial = DecodeResult(spans=[])
    partial.reject("span 01: bad id")
    partial.reject("span 02: bad id")
    response = ExportTraceServiceResponse.FromString(encode_response(partial))
    assert response.HasField("partial_success")
    assert response.partial_success.rejected_spans == 2
    assert response.partial_success.error_message == "span 01: bad id; span 02: bad id"
    assert response_json(partial) == {
        "partialSuccess": {"rejectedSpans": "2", "errorMessage": "span 01: bad id; span 02: bad id"}
    }


def test_empty_protobuf_request_is_empty_not_an_error() -> None:
    result = decode_request_bytes(b"")
    assert result.spans == [] and result.rejected == 0


@pytest.mark.parametrize(
    "payload",
    [b"\xff\xff\xff\xff", b"garbage bytes \x00\x01", bytes(range(256)), b"{\"resourceSpans\": []}", b"\x0a\xff"],
)
def test_garbage_bytes_are_a_decode_error(payload: bytes) -> None:
    with pytest.raises(DecodeError, match="not a valid OTLP ExportTraceServiceRequest"):
        decode_request_bytes(payload)


def test_every_truncation_of_a_request_is_a_decode_error() -> None:
    data = pb_request(pb_resource_spans({"service.name": "frontend"}, pb_span(sid(1)))).SerializeToString()
    assert len(data) > 40
    for cut in range(1, len(data)):
        with pytest.raises(DecodeError):
            decode_request_bytes(data[:cut])


def _length_delimited(field_number: int, payload: bytes) -> bytes:
    size = len(payload)
    varint = bytearray()
    while True:
        low, size = size & 0x7F, size >> 7
        varint.append(low | 0x80 if size else low)
        if not size:
            break
    return bytes([(field_number << 3) | 2]) + bytes(varint) + payload


@pytest.mark.parametrize("depth", [200, 20_000])
def test_deeply_nested_attribute_values_are_a_decode_error_not_a_crash(depth: int) -> None:
    value = _length_delimited(1, b"x")  # AnyValue.string_value
    for _ in range(depth):
        value = _length_delimited(5, _length_delimited(1, value))  # AnyValue.array_value.values
    key_value = _length_delimited(1, b"k") + _length_delimited(2, value)
    span = (
        _length_delimited(1, TRACE) + _length_delimited(2, sid(1))
        + bytes([(7 << 3) | 1]) + T0.to_bytes(8, "little") + _length_delimited(9, key_value)
    )
    request = _length_delimited(1, _length_delimited(2, _length_delimited(2, span)))
    with pytest.raises(DecodeError):
        decode_request_bytes(request)


def test_protobuf_times_beyond_int64_are_capped_or_rejected() -> None:
    huge = 2**64 - 1
    request = pb_request(pb_resource_spans({"service.name": "a"}, pb_span(sid(1), start=huge - 5, end=huge)))
    result = decode_request_bytes(request.SerializeToString())
    for span in result.spans:
        assert span.start_ns <= MAX_INT64 and span.end_ns <= MAX_INT64


# =========================================================================== OTLP/JSON


def test_json_hex_ids_string_times_and_kinds() -> None:
    doc = js_doc(
        "frontend",
        js_span("0000000000000001", kind="SPAN_KIND_CLIENT", attributes=js_attrs({"peer.service": "backend"})),
        js_span("0000000000000002", "0000000000000001", kind=2, status={"code": 2}),
    )
    result = decode_json_document(doc)
    assert result.rejected == 0
    client, server = result.spans
    assert client.trace_id == TRACE and client.span_id == sid(1) and server.parent_id == sid(1)
    assert client.kind == SpanKind.CLIENT and server.kind == SpanKind.SERVER
    assert client.start_ns == T0 and client.end_ns == T0 + 2_000_000
    assert client.attrs == {"peer.service": "backend"}
    assert server.error is True and client.error is False


def test_json_base64_ids_as_protojson_writes_them() -> None:
    b64 = base64.b64encode
    doc = js_doc(
        "a",
        js_span(b64(sid(2)).decode(), b64(sid(1)).decode(), traceId=b64(TRACE).decode()),
    )
    (span,) = decode_json_document(doc).spans
    assert span.trace_id == TRACE and span.span_id == sid(2) and span.parent_id == sid(1)


def test_parse_id_forms() -> None:
    assert parse_id("0000000000000001", 8) == sid(1)
    assert parse_id(base64.b64encode(sid(1)).decode(), 8) == sid(1)
    assert parse_id(None, 8) == b"" and parse_id("", 8) == b""
    assert parse_id("abcd", 8) is None
    assert parse_id(12345, 8) is None
    assert parse_id("zz" * 8, 8) is None
    assert parse_id("é" * 16, 8) is None


@pytest.mark.parametrize(
    ("kind", "expected"),
    [
        (0, SpanKind.UNSPECIFIED), (1, SpanKind.INTERNAL), (2, SpanKind.SERVER), (3, SpanKind.CLIENT),
        (4, SpanKind.PRODUCER), (5, SpanKind.CONSUMER), ("SPAN_KIND_SERVER", SpanKind.SERVER),
        ("SPAN_KIND_CLIENT", SpanKind.CLIENT), ("SPAN_KIND_PRODUCER", SpanKind.PRODUCER),
        ("span_kind_consumer", SpanKind.CONSUMER), ("client", SpanKind.CLIENT), ("nonsense", SpanKind.UNSPECIFIED),
        (99, SpanKind.UNSPECIFIED), (-1, SpanKind.UNSPECIFIED), (True, SpanKind.UNSPECIFIED),
        (None, SpanKind.UNSPECIFIED), ([2], SpanKind.UNSPECIFIED),
    ],
)
def test_json_span_kinds_by_integer_and_name(kind: Any, expected: SpanKind) -> None:
    (span,) = decode_json_document(js_doc("a", js_span("0000000000000001", kind=kind))).spans
    assert span.kind == expected


@pytest.mark.parametrize(
    ("status", "error"),
    [
        ({"code": 2}, True), ({"code": "STATUS_CODE_ERROR"}, True), ({"code": "2"}, True),
        ({"code": 1}, False), ({"code": "STATUS_CODE_OK"}, False), ({}, False), (None, False), ("ERROR", False),
        ({"code": 0, "message": "boom"}, False),
    ],
)
def test_json_status_error_by_integer_and_name(status: Any, error: bool) -> None:
    (span,) = decode_json_document(js_doc("a", js_span("0000000000000001", status=status))).spans
    assert span.error is error


def test_json_integer_times_and_snake_case_fields() -> None:
    doc = {
        "resource_spans": [{
            "resource": {"attributes": [{"key": "service.name", "value": {"string_value": "snake"}}]},
            "scope_spans": [{"spans": [{
                "trace_id": TRACE.hex(), "span_id": "0000000000000007", "parent_span_id": "0000000000000001",
                "kind": 3, "start_time_unix_nano": T0, "end_time_unix_nano": T0 + 5,
                "attributes": [{"key": "db.system", "value": {"string_value": "postgresql"}}],
            }]}],
        }]
    }
    (span,) = decode_json_document(doc).spans
    assert span.service == "snake" and span.span_id == sid(7) and span.parent_id == sid(1)
    assert span.start_ns == T0 and span.end_ns == T0 + 5
    assert span.attrs == {"db.system": "postgresql"}


def test_json_tempo_batches_and_instrumentation_library_spans() -> None:
    doc = {"batches": [{
        "resource": {"attributes": js_attrs({"service.name": "tempo-svc"})},
        "instrumentationLibrarySpans": [{"spans": [js_span("0000000000000001")]}],
    }]}
    (span,) = decode_json_document(doc).spans
    assert span.service == "tempo-svc"


def test_json_attribute_value_types() -> None:
    attrs = [
        {"key": "peer.service", "value": {"stringValue": "orders"}},
        {"key": "db.namespace", "value": {"intValue": "42"}},
        {"key": "db.name", "value": {"intValue": 7}},
        {"key": "db.system", "value": {"doubleValue": 2.5}},
        {"key": "db.system.name", "value": {"boolValue": True}},
        {"key": "server.address", "value": {"arrayValue": {"values": [{"stringValue": "x"}]}}},
        {"key": "network.peer.address", "value": {"stringValue": 5}},
        {"key": "messaging.destination.name"},
        {"key": 7, "value": {"stringValue": "bad key"}},
        "not an object",
        {"key": "http.route", "value": {"stringValue": "/x"}},
    ]
    (span,) = decode_json_document(js_doc("a", js_span("0000000000000001", attributes=attrs))).spans
    assert span.attrs == {
        "peer.service": "orders", "db.namespace": "42", "db.name": "7", "db.system": "2.5",
        "db.system.name": "true", "server.address": "", "network.peer.address": "",
        "messaging.destination.name": "",
    }


def test_json_links_hex_and_base64_and_bad_ones_dropped() -> None:
    other = bytes(range(16))
    links = [
        {"traceId": other.hex(), "spanId": "0000000000000009"},
        {"trace_id": base64.b64encode(TRACE).decode(), "span_id": base64.b64encode(sid(1)).decode()},
        {"traceId": "short", "spanId": "0000000000000009"},
        {"traceId": other.hex()},
        "not a link",
    ]
    (span,) = decode_json_document(js_doc("a", js_span("0000000000000003", kind=5, links=links))).spans
    assert span.links == ((other, sid(9)), (TRACE, sid(1)))


def test_json_empty_and_zero_parents_are_roots() -> None:
    doc = js_doc("a", js_span("0000000000000001", ""), js_span("0000000000000002", "0" * 16))
    doc["resourceSpans"][0]["scopeSpans"][0]["spans"].append(
        {k: v for k, v in js_span("0000000000000003").items() if k != "parentSpanId"}
    )
    assert [s.parent_id for s in decode_json_document(doc).spans] == [b"", b"", b""]


@pytest.mark.parametrize("resource", [None, {}, {"attributes": []}, {"attributes": "nope"}, "nope", []])
def test_json_missing_service_name_is_unknown_service(resource: Any) -> None:
    doc = {"resourceSpans": [{"resource": resource, "scopeSpans": [{"spans": [js_span("0000000000000001")]}]}]}
    assert decode_json_document(doc).spans[0].service == UNKNOWN_SERVICE


def test_json_names_capped_and_hints_and_environment() -> None:
    resource = {
        "service.namespace": "ns" * 500, "deployment.environment": "prod", "k8s.namespace.name": "shop",
        "telemetry.sdk.language": "go", "team": "search", "cloud.region": "eu",
    }
    doc = js_doc("x" * 300, js_span("0000000000000001"), resource=resource)
    res = decode_json_document(doc, owner_keys=("team",)).spans[0].resource
    assert res.service == "x" * MAX_NAME_LENGTH
    assert res.environment == "prod"
    assert res.hints["service.namespace"] == ("ns" * 500)[:MAX_NAME_LENGTH]
    assert res.hints["k8s.namespace.name"] == "shop"
    assert res.hints["telemetry.sdk.language"] == "go"
    assert res.hints["team"] == "search"
    assert "cloud.region" not in res.hints


def test_json_new_environment_key_wins() -> None:
    resource = {"deployment.environment": "old", "deployment.environment.name": "new"}
    res = decode_json_document(js_doc("a", js_span("0000000000000001"), resource=resource)).spans[0].resource
    assert res.environment == "new"


def test_json_bad_spans_are_rejected_one_by_one_and_the_rest_kept() -> None:
    spans = [
        js_span("0000000000000001"),
        js_span("00000001"),  # 4-byte span id
        js_span("0000000000000002", traceId="abcd"),  # short trace id
        js_span("0000000000000003", "0001"),  # short parent
        js_span("zzzzzzzzzzzzzzzz"),  # not hex, not base64 of 8 bytes
        js_span("0000000000000004", startTimeUnixNano="0"),
        js_span("0000000000000005", startTimeUnixNano=None),
        js_span("0000000000000006", startTimeUnixNano="soon"),
        js_span("0000000000000007", traceId=12345),
        "not a span",
        42,
        ["list"],
        None,
        js_span("0000000000000008", "0000000000000001"),
    ]
    result = decode_json_bytes(json.dumps(js_doc("a", *spans)).encode())
    assert [s.span_id for s in result.spans] == [sid(1), sid(8)]
    assert result.rejected == 12
    assert "traceId must be 16 bytes and span ids 8 bytes" in result.errors[0]
    assert "'00000001'" in result.errors[0]
    assert any("startTimeUnixNano is missing" in e for e in result.errors)
    assert result.error_message.endswith("(and 7 more)")


def test_json_reject_reason_quotes_a_bounded_piece_of_a_hostile_id() -> None:
    result = decode_json_document(js_doc("a", js_span("A" * 100_000)))
    assert result.rejected == 1
    assert len(result.error_message) < 200


def test_json_non_object_span_message() -> None:
    result = decode_json_document(js_doc("a", "x"))
    assert result.rejected == 1 and result.error_message == "span is not an object"


def test_json_scopes_without_span_lists_are_skipped() -> None:
    doc = {"resourceSpans": [{"scopeSpans": [{"spans": "nope"}, "nope", {}, {"spans": [js_span("0000000000000001")]}]}]}
    assert len(decode_json_document(doc).spans) == 1


def test_json_empty_object_and_empty_lists_are_empty_results() -> None:
    assert decode_json_document({}).spans == []
    assert decode_json_document({"resourceSpans": []}).spans == []
    assert decode_json_document({"resourceSpans": [{}]}).spans == []


@pytest.mark.parametrize(
    ("doc", "message"),
    [
        ([], "must be an object"), ("resourceSpans", "must be an object"), (42, "must be an object"),
        (None, "must be an object"), ({"spans": []}, "no 'resourceSpans'"),
        ({"resourceSpans": {"a": 1}}, "must be a list"), ({"resourceSpans": "x"}, "must be a list"),
        ({"batches": 3}, "must be a list"), ({"resourceSpans": [1]}, "must be an object"),
        ({"resourceSpans": [{"scopeSpans": {"spans": []}}]}, "'scopeSpans' must be a list"),
    ],
)
def test_json_whole_payload_errors(doc: Any, message: str) -> None:
    with pytest.raises(DecodeError, match=message):
        decode_json_document(doc)


@pytest.mark.parametrize(
    "body",
    [b"", b"{", b"not json", b"\xff\xfe\x00", b'{"resourceSpans": [}', b"[" * 100_000, b'{"a":' * 50_000, b"1" * 5000],
)
def test_json_bytes_that_are_not_json_are_a_decode_error(body: bytes) -> None:
    with pytest.raises(DecodeError):
        decode_json_bytes(body)


@pytest.mark.parametrize("start", ["²", "1" * 5000, "١٢³"])
def test_json_time_with_unusual_digits_rejects_the_span(start: str) -> None:
    doc = js_doc("a", js_span("0000000000000001"), js_span("0000000000000002", startTimeUnixNano=start))
    result = decode_json_document(doc)
    assert [s.span_id for s in result.spans] == [sid(1)]
    assert result.rejected == 1


def test_protobuf_and_json_decode_scalar_attributes_identically() -> None:
    attrs = {"peer.service": True, "db.namespace": 42, "db.name": 1.5, "db.system": "pg"}
    pb = decode_request(pb_request(pb_resource_spans({"service.name": "a"}, pb_span(sid(1), attrs=attrs))))
    js = decode_json_document(js_doc("a", js_span("0000000000000001", attributes=js_attrs(attrs))))
    assert pb.spans[0].attrs == js.spans[0].attrs


# =========================================================================== properties

_PROPERTY_SETTINGS = settings(
    max_examples=at_least_examples(300), deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)

_json_scalars = st.one_of(
    st.none(), st.booleans(), st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=False), st.text(max_size=20),
)
_json_values = st.recursive(
    _json_scalars,
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=10), children, max_size=4),
    max_leaves=25,
)


@_PROPERTY_SETTINGS
@given(st.binary(max_size=512))
def test_property_arbitrary_bytes_only_ever_raise_decode_error(data: bytes) -> None:
    try:
        result = decode_request_bytes(data)
    except DecodeError:
        return
    assert result.rejected == len(result.errors) or len(result.errors) == 5


@_PROPERTY_SETTINGS
@given(st.binary(max_size=64), st.integers(min_value=0, max_value=200))
def test_property_mutated_valid_requests_only_ever_raise_decode_error(noise: bytes, at: int) -> None:
    data = bytearray(two_service_request().SerializeToString())
    at = min(at, len(data))
    data[at:at + len(noise)] = noise
    with contextlib.suppress(DecodeError):
        decode_request_bytes(bytes(data))


@_PROPERTY_SETTINGS
@given(_json_values)
def test_property_arbitrary_json_values_only_ever_raise_decode_error(doc: Any) -> None:
    with contextlib.suppress(DecodeError):
        decode_json_document(doc)
    with contextlib.suppress(DecodeError):
        decode_json_bytes(json.dumps(doc).encode())


# OTLP-shaped documents with arbitrary leaves, so the fuzzing reaches the span decoder. Time strings
# are ASCII here: non-ASCII digits have their own test above.
_leaf = st.one_of(_json_values, st.text(alphabet=string.hexdigits, min_size=15, max_size=33))
_time = st.one_of(
    st.integers(min_value=-(2**64), max_value=2**64), st.text(alphabet=string.printable, max_size=25), _leaf
)
_span = st.fixed_dictionaries(
    {},
    optional={
        "traceId": _leaf, "spanId": _leaf, "parentSpanId": _leaf, "kind": _leaf, "status": _leaf,
        "startTimeUnixNano": _time, "endTimeUnixNano": _time, "attributes": _leaf,
        "links": st.lists(st.fixed_dictionaries({}, optional={"traceId": _leaf, "spanId": _leaf}), max_size=3),
    },
)
_otlp_doc = st.fixed_dictionaries({
    "resourceSpans": st.lists(
        st.fixed_dictionaries({}, optional={
            "resource": st.one_of(_leaf, st.fixed_dictionaries({"attributes": _leaf})),
            "scopeSpans": st.lists(st.fixed_dictionaries({}, optional={"spans": st.lists(_span | _leaf, max_size=4)}),
                                   max_size=3),
        }),
        max_size=3,
    )
})


@_PROPERTY_SETTINGS
@given(_otlp_doc)
def test_property_otlp_shaped_json_only_ever_raises_decode_error(doc: dict[str, Any]) -> None:
    try:
        result = decode_json_document(doc)
    except DecodeError:
        return
    for span in result.spans:
        assert len(span.trace_id) == 16 and len(span.span_id) == 8 and len(span.parent_id) in (0, 8)
        assert span.start_ns > 0
        assert all(isinstance(v, str) for v in span.attrs.values())


@pytest.mark.parametrize("start", [-1, -T0, "-5"])
def test_json_negative_start_time_rejects_the_span_with_a_reason(start: Any) -> None:
    doc = js_doc("a", js_span("0000000000000001"), js_span("0000000000000002", startTimeUnixNano=start))
    result = decode_json_document(doc)
    assert [s.span_id for s in result.spans] == [sid(1)]
    assert result.rejected == 1
    assert result.errors == [f"span {sid(2).hex()}: startTimeUnixNano is missing or not a non-negative integer"]


def test_json_negative_end_time_is_no_time_not_a_negative_duration() -> None:
    result = decode_json_document(js_doc("a", js_span("0000000000000001", endTimeUnixNano=-T0)))
    assert result.spans[0].end_ns == 0 and result.spans[0].duration_s == 0.0
