"""Lone UTF-16 surrogates (`\\ud800` escapes) never get past the JSON boundary: every JSON door's
decoder rejects a span whose service name holds one and drops other invalid values, saying so."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceResponse

from collector.decode import (
    DecodeError,
    decode_json_bytes,
    encode_response,
    load_json,
    response_json,
)
from collector.files import read_trace_file
from collector.formats.zipkin import decode_zipkin_bytes
from collector.valid_text import is_valid, may_hold_surrogates, printable
from graph.model import DecodeResult, Span

T0 = 1_700_000_000_000_000_000
TRACE = "5b8efff798038103d269b633813fc60c"
LONE = "x\ud800"


def attrs(values: dict[str, str]) -> list[dict[str, Any]]:
    return [{"key": k, "value": {"stringValue": v}} for k, v in values.items()]


def otlp(resource: dict[str, str], span_attrs: dict[str, str] | None = None, span_id: int = 1) -> dict[str, Any]:
    span = {"traceId": TRACE, "spanId": f"{span_id:016x}", "kind": 3, "startTimeUnixNano": str(T0),
            "endTimeUnixNano": str(T0 + 1000), "attributes": attrs(span_attrs or {})}
    return {"resource": {"attributes": attrs(resource)}, "scopeSpans": [{"spans": [span]}]}


def body(*resource_spans: dict[str, Any]) -> bytes:
    # json.dumps writes the surrogate as the escape a hostile client sends: "\ud800"
    return json.dumps({"resourceSpans": list(resource_spans)}).encode()


def storable(result: DecodeResult) -> None:
    """Everything a span carries to the store encodes as UTF-8."""
    for span in result.spans:
        texts = [span.resource.service, span.resource.environment, *span.resource.hints.values(), *span.attrs.values()]
        for text in texts:
            text.encode("utf-8")


def good_and_bad(result: DecodeResult) -> tuple[list[str], int]:
    return [s.resource.service for s in result.spans], result.rejected


# --------------------------------------------------------------------------- OTLP/JSON


def test_service_name_with_a_lone_surrogate_rejects_its_spans_only() -> None:
    result = decode_json_bytes(body(otlp({"service.name": LONE}), otlp({"service.name": "good"}, span_id=2)))
    assert good_and_bad(result) == (["good"], 1)
    assert "service name 'x\\ud800' is not valid Unicode" in result.error_message
    storable(result)


@pytest.mark.parametrize("key", ["deployment.environment.name", "deployment.environment", "service.namespace"])
def test_invalid_resource_hint_is_dropped_and_the_span_kept(key: str) -> None:
    resource = {"service.name": "svc", key: LONE, "deployment.environment": "prod"}
    if key == "deployment.environment":
        resource = {"service.name": "svc", key: LONE}
    result = decode_json_bytes(body(otlp(resource)))
    assert good_and_bad(result) == (["svc"], 0)
    span = result.spans[0]
    assert key not in span.resource.hints
    assert span.resource.environment == ("" if key == "deployment.environment" else "prod")
    assert result.warnings and key in result.warnings[0]
    storable(result)


@pytest.mark.parametrize("key", ["peer.service", "db.name", "messaging.destination.name", "server.address"])
def test_invalid_span_attribute_is_dropped_and_the_span_kept(key: str) -> None:
    result = decode_json_bytes(body(otlp({"service.name": "svc"}, {key: LONE, "db.system": "pg"})))
    assert good_and_bad(result) == (["svc"], 0)
    assert result.spans[0].attrs == {"db.system": "pg"}
    assert f"dropped 1 attribute value(s) that are not valid Unicode (lone UTF-16 surrogates) and kept their " \
           f"spans: {key}" == result.error_message
    storable(result)


def test_dropped_values_are_reported_as_otlp_partial_success_with_no_rejected_spans() -> None:
    result = decode_json_bytes(body(otlp({"service.name": "svc"}, {"peer.service": LONE})))
    partial = response_json(result)["partialSuccess"]
    assert partial["rejectedSpans"] == "0" and "peer.service" in partial["errorMessage"]
    pb = ExportTraceServiceResponse.FromString(encode_response(result)).partial_success
    assert pb.rejected_spans == 0 and "peer.service" in pb.error_message


def test_rejections_and_drops_share_one_message() -> None:
    result = decode_json_bytes(body(otlp({"service.name": LONE}), otlp({"service.name": "a"}, {"peer.service": LONE})))
    assert result.rejected == 1
    assert "service name" in result.error_message and "peer.service" in result.error_message
    ExportTraceServiceResponse.FromString(encode_response(result))  # the message itself encodes


def test_valid_surrogate_pairs_are_kept_as_sent() -> None:
    result = decode_json_bytes(body(otlp({"service.name": "caf\u00e9 \U0001f600"}, {"peer.service": "\U0001f680"})))
    assert good_and_bad(result) == (["caf\u00e9 \U0001f600"], 0)
    assert result.spans[0].attrs == {"peer.service": "\U0001f680"} and not result.warnings


def test_utf8_encoded_surrogates_and_other_invalid_utf8_are_a_decode_error() -> None:
    with pytest.raises(DecodeError, match="body is not UTF-8: byte 0xed at offset"):
        decode_json_bytes(b'{"resourceSpans": [], "x": "\xed\xa0\x80"}')
    with pytest.raises(DecodeError, match="not UTF-8"):
        decode_json_bytes(b'{"resourceSpans": [], "x": "\xff"}')


def test_a_byte_order_mark_is_allowed() -> None:
    assert decode_json_bytes(b"\xef\xbb\xbf" + body(otlp({"service.name": "a"}))).spans[0].service == "a"


# --------------------------------------------------------------------------- Zipkin (receiver and files)


def zipkin(service: str, remote: str | None = None, span_id: int = 1, **tags: str) -> dict[str, Any]:
    raw: dict[str, Any] = {"traceId": TRACE, "id": f"{span_id:016x}", "kind": "CLIENT", "timestamp": T0 // 1000,
                           "duration": 10, "localEndpoint": {"serviceName": service}, "tags": tags}
    if remote is not None:
        raw["remoteEndpoint"] = {"serviceName": remote, "ipv4": "10.0.0.1"}
    return raw


def test_zipkin_service_name_rejects_and_remote_name_and_tags_are_dropped() -> None:
    doc = [zipkin(LONE), zipkin("good", remote=LONE, span_id=2, **{"db.name": LONE, "db.system": "pg"})]
    result = decode_zipkin_bytes(json.dumps(doc).encode())
    assert good_and_bad(result) == (["good"], 1)
    assert result.spans[0].attrs == {"db.system": "pg", "network.peer.address": "10.0.0.1"}
    assert "db.name" in result.error_message and "peer.service" in result.error_message
    storable(result)


# --------------------------------------------------------------------------- files (every JSON format)


def jaeger(service: str, tag: str = "ok") -> dict[str, Any]:
    return {"data": [{"traceID": TRACE, "processes": {"p1": {"serviceName": service, "tags": [
        {"key": "deployment.environment", "type": "string", "value": tag}]}},
        "spans": [{"traceID": TRACE, "spanID": "0000000000000001", "processID": "p1",
                   "startTime": T0 // 1000, "duration": 5, "tags": []}]}]}


@pytest.mark.parametrize(
    ("content", "services", "rejected"),
    [
        (body(otlp({"service.name": LONE}), otlp({"service.name": "ok"}, span_id=2)).decode(), ["ok"], 1),
        (json.dumps([zipkin(LONE), zipkin("ok", span_id=2)]), ["ok"], 1),
        (json.dumps(jaeger(LONE)), [], 1),
        (json.dumps(jaeger("ok", tag=LONE)), ["ok"], 0),
        (body(otlp({"service.name": LONE})).decode() + "\n" + body(otlp({"service.name": "ok"})).decode() + "\n",
         ["ok"], 1),
    ],
    ids=["otlp", "zipkin", "jaeger-service", "jaeger-tag", "json-lines"],
)
def test_trace_files_of_every_json_format_are_checked(
    tmp_path: Path, content: str, services: list[str], rejected: int
) -> None:
    path = tmp_path / "t.json"
    path.write_text(content, encoding="utf-8")
    results = list(read_trace_file(str(path)))
    assert [s.service for r in results for s in r.spans] == services
    assert sum(r.rejected for r in results) == rejected
    for result in results:
        storable(result)


# --------------------------------------------------------------------------- the helpers


def test_may_hold_surrogates_only_looks_for_surrogate_escapes() -> None:
    assert may_hold_surrogates('"\\ud800"') and may_hold_surrogates('"\\uDBFF"') and may_hold_surrogates('"\\uDc00"')
    assert not may_hold_surrogates('"\\u00e9 \\ud7ff"') and not may_hold_surrogates("plain \u00e9")


def test_load_json_flags_only_suspect_text() -> None:
    assert load_json(b'{"a": "\\u00e9"}') == ({"a": "\u00e9"}, False)
    assert load_json(b'{"a": "\\ud800"}') == ({"a": "\ud800"}, True)


def test_is_valid_and_printable() -> None:
    assert is_valid("caf\u00e9") and not is_valid(LONE)
    assert printable(LONE) == "x\\ud800" and printable("ok") == "ok"


def test_spans_without_attributes_are_untouched() -> None:
    result = decode_json_bytes(body(otlp({"service.name": "a"})))
    assert all(isinstance(s, Span) for s in result.spans) and not result.warnings
