"""OTLP decoding: protobuf and OTLP/JSON into plain `Span` records.

This is the only module that imports `opentelemetry.proto`. Spans that cannot be used
(ids of the wrong length, no start time) are rejected one by one, so the rest of a batch
is kept and the receiver can answer with OTLP partial success.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Iterable, Iterator
from typing import Any

from google.protobuf.message import DecodeError as _ProtoDecodeError
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
    ExportTracePartialSuccess,
    ExportTraceServiceRequest,
    ExportTraceServiceResponse,
)

from collector.errors import DecodeError
from collector.hygiene import json_status_unset, json_unmarked_failure, proto_unmarked_failure
from collector.valid_text import checked, load_json
from graph.model import (
    ENVIRONMENT_KEYS,
    HINT_KEYS,
    MAX_TIME_NS,
    SPAN_ATTRIBUTE_KEYS,
    UNKNOWN_SERVICE,
    DecodeResult,
    Resource,
    Span,
    cap_name,
)

_STATUS_ERROR = 2
_ZERO_PARENT = bytes(8)
_HINT_KEYS = frozenset(HINT_KEYS)
_NAMING_KINDS = frozenset({3, 4})  # CLIENT, PRODUCER
_NO_ATTRIBUTES: dict[str, str] = {}
_ENTRY_KINDS = frozenset({2, 5})  # SERVER, CONSUMER
_CONSUMER = 5
_SERVER = 2


# --------------------------------------------------------------------------- protobuf


def decode_request_bytes(data: bytes, owner_keys: Iterable[str] = ()) -> DecodeResult:
    """Decode a serialised `ExportTraceServiceRequest`."""
    try:
        request = ExportTraceServiceRequest.FromString(data)
    except (_ProtoDecodeError, RuntimeError, ValueError) as exc:
        raise DecodeError(f"payload is not a valid OTLP ExportTraceServiceRequest: {exc}") from exc
    return decode_request(request, owner_keys)


def _proto_value(value: Any) -> str:
    """A protobuf AnyValue as a string (only scalar values name anything)."""
    which = value.WhichOneof("value")
    if which == "string_value":
        return value.string_value
    if which == "bool_value":
        return "true" if value.bool_value else "false"
    if which in ("int_value", "double_value"):
        return str(getattr(value, which))
    return ""


def _proto_resource(resource: Any, hint_keys: frozenset[str]) -> Resource:
    service = ""
    hints: dict[str, str] = {}
    for kv in resource.attributes:
        key = kv.key
        if key == "service.name":
            service = _proto_value(kv.value)
        elif key in hint_keys:
            value = _proto_value(kv.value)
            if value:
                hints[key] = cap_name(value)
    return _make_resource(service, hints)


def _make_resource(service: str, hints: dict[str, str]) -> Resource:
    environment = ""
    for key in ENVIRONMENT_KEYS:
        if hints.get(key):
            environment = hints[key]
            break
    name = cap_name(service) if service else UNKNOWN_SERVICE
    return Resource(service=name, environment=environment, hints=hints)


def decode_request(request: Any, owner_keys: Iterable[str] = ()) -> DecodeResult:
    """Convert a parsed `ExportTraceServiceRequest` into spans.

    Written as one plain loop on purpose: this is the ingest hot path.
    """
    result = DecodeResult(spans=[])
    append = result.spans.append
    hint_keys = _HINT_KEYS | frozenset(owner_keys)
    new_span = Span
    lazy_span = _LazyProtoSpan
    for resource_spans in request.resource_spans:
        resource = _proto_resource(resource_spans.resource, hint_keys)
        for scope_spans in resource_spans.scope_spans:
            for s in scope_spans.spans:
                trace_id = s.trace_id
                span_id = s.span_id
                parent_id = s.parent_span_id
                start = s.start_time_unix_nano
                end = s.end_time_unix_nano
                if (len(trace_id) != 16 or len(span_id) != 8 or not start or (parent_id and len(parent_id) != 8)
                        or start > MAX_TIME_NS or end > MAX_TIME_NS):
                    _reject_proto_span(result, trace_id, span_id, parent_id, start, end)
                    continue
                if parent_id == _ZERO_PARENT:
                    parent_id = b""
                kind = s.kind
                code = s.status.code
                error = code == _STATUS_ERROR
                if not code and kind == _SERVER:  # rule 12: failures the instrumentation did not mark
                    error = proto_unmarked_failure(s.attributes)
                if kind in _NAMING_KINDS:
                    # Attributes read on first use: a CLIENT/PRODUCER span's attributes only matter
                    # when it gets no child (rules 3 and 4), and scanning them is about half of
                    # decoding. The call detector settles them before the span outlives the request.
                    span = lazy_span(trace_id, span_id, parent_id, resource, kind, start, end, error)
                    span.pb_attributes = s.attributes
                else:
                    # Of the other spans only roots are named by attributes (rule 5, entry points), and
                    # only CONSUMER spans' links are read (rule 2): every other read is skipped.
                    attrs = _NO_ATTRIBUTES  # shared and never mutated: most spans need no attributes
                    if not parent_id and kind in _ENTRY_KINDS:
                        attrs = _proto_attributes(s.attributes)
                    links: tuple[tuple[bytes, bytes], ...] = ()
                    if kind == _CONSUMER:
                        pb_links = s.links
                        if pb_links:
                            links = tuple((ln.trace_id, ln.span_id) for ln in pb_links)
                    span = new_span(trace_id, span_id, parent_id, resource, kind, start, end, error, attrs, links)
                append(span)
    return result


class _LazyProtoSpan(Span):
    """A span whose attributes stay in the decoded protobuf until first use (see decode_request)."""

    __slots__ = ("pb_attributes",)

    def _read_attrs(self) -> dict[str, str]:
        attrs = _proto_attributes(self.pb_attributes) if self.pb_attributes is not None else {}
        self.pb_attributes = None  # lets go of the request
        return attrs

    def settle_attrs(self, needed: bool) -> None:
        if self._attrs is None:
            self._attrs = self._read_attrs() if needed else {}
        self.pb_attributes = None


def _proto_attributes(attributes: Any) -> dict[str, str]:
    """The edge-rule attributes (SPAN_ATTRIBUTE_KEYS) of a protobuf span, as strings."""
    keys = SPAN_ATTRIBUTE_KEYS
    attrs: dict[str, str] = {}
    for kv in attributes:
        key = kv.key
        if key in keys:
            value = kv.value
            attrs[key] = value.string_value or _proto_value(value)
    return attrs


def _reject_proto_span(
    result: DecodeResult, trace_id: bytes, span_id: bytes, parent_id: bytes, start: int, end: int
) -> None:
    if not start and len(span_id) == 8:
        result.reject(f"span {span_id.hex()}: start_time_unix_nano is missing")
    elif start > MAX_TIME_NS or end > MAX_TIME_NS:
        result.reject(f"span {span_id.hex()}: time is beyond the year 2262")
    else:
        result.reject(
            f"span {span_id.hex() or '?'}: trace_id must be 16 bytes and span ids 8 bytes "
            f"(got {len(trace_id)}/{len(span_id)}/{len(parent_id)})"
        )


def encode_response(result: DecodeResult) -> bytes:
    """Serialise the Export response, with partial success when spans were rejected (or values dropped)."""
    if not result.rejected and not result.warnings:
        return ExportTraceServiceResponse().SerializeToString()
    return ExportTraceServiceResponse(
        partial_success=ExportTracePartialSuccess(
            rejected_spans=result.rejected, error_message=result.error_message
        )
    ).SerializeToString()


def response_json(result: DecodeResult) -> dict[str, Any]:
    """The Export response as OTLP/JSON."""
    if not result.rejected and not result.warnings:
        return {}
    return {"partialSuccess": {"rejectedSpans": str(result.rejected), "errorMessage": result.error_message}}




# --------------------------------------------------------------------------- OTLP/JSON


def _pick(obj: dict[str, Any], *names: str) -> Any:
    for name in names:
        if name in obj:
            return obj[name]
    return None


def parse_id(value: Any, size: int) -> bytes | None:
    """An OTLP/JSON id: hex (the OTLP spec) or base64 (protojson); None when unusable."""
    if value is None or value == "":
        return b""
    if not isinstance(value, str):
        return None
    if len(value) == size * 2:
        try:
            return bytes.fromhex(value)
        except ValueError:
            pass
    try:
        raw = base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError):
        return None
    return raw if len(raw) == size else None


def _json_value(value: Any) -> str:
    if not isinstance(value, dict):
        return ""
    for key in ("stringValue", "string_value"):
        if key in value:
            v = value[key]
            return v if isinstance(v, str) else ""
    for key in ("intValue", "int_value", "doubleValue", "double_value", "boolValue", "bool_value"):
        if key in value:
            v = value[key]
            if isinstance(v, bool):
                return "true" if v else "false"
            return str(v) if isinstance(v, str | int | float) else ""
    return ""


def _json_int(value: Any) -> int:
    """A non-negative integer from a JSON number or digit string; 0 when it is anything else."""
    if isinstance(value, bool):
        return 0
    if isinstance(value, int):
        return max(value, 0)
    if isinstance(value, str) and value.isascii() and value.isdigit() and len(value) <= 19:
        return int(value)
    return 0


_KIND_NAMES = {
    "SPAN_KIND_UNSPECIFIED": 0, "SPAN_KIND_INTERNAL": 1, "SPAN_KIND_SERVER": 2,
    "SPAN_KIND_CLIENT": 3, "SPAN_KIND_PRODUCER": 4, "SPAN_KIND_CONSUMER": 5,
}


def _json_kind(value: Any) -> int:
    if isinstance(value, int) and not isinstance(value, bool) and 0 <= value <= 5:
        return value
    if isinstance(value, str):
        return _KIND_NAMES.get(value.upper(), _KIND_NAMES.get("SPAN_KIND_" + value.upper(), 0))
    return 0


def _json_is_error(status: Any) -> bool:
    if not isinstance(status, dict):
        return False
    code = status.get("code")
    return code == 2 or code == "STATUS_CODE_ERROR" or code == "2"


def _json_attributes(items: Any) -> Iterator[tuple[str, str]]:
    if not isinstance(items, list):
        return
    for kv in items:
        if isinstance(kv, dict) and isinstance(kv.get("key"), str):
            yield kv["key"], _json_value(kv.get("value"))


def decode_json_document(doc: Any, owner_keys: Iterable[str] = ()) -> DecodeResult:
    """Decode one OTLP/JSON export request (also Tempo's `{"batches": [...]}` wrapper)."""
    if not isinstance(doc, dict):
        raise DecodeError("OTLP/JSON must be an object with a 'resourceSpans' list")
    resource_spans = _pick(doc, "resourceSpans", "resource_spans", "batches")
    if resource_spans is None:
        if not doc:
            return DecodeResult(spans=[])
        raise DecodeError("OTLP/JSON object has no 'resourceSpans' (or Tempo 'batches') list")
    if not isinstance(resource_spans, list):
        raise DecodeError("'resourceSpans' must be a list")
    result = DecodeResult(spans=[])
    hint_keys = _HINT_KEYS | frozenset(owner_keys)
    for rs in resource_spans:
        if not isinstance(rs, dict):
            raise DecodeError("each 'resourceSpans' entry must be an object")
        resource_obj = rs.get("resource") or {}
        service = ""
        hints: dict[str, str] = {}
        resource_attrs = resource_obj.get("attributes") if isinstance(resource_obj, dict) else None
        for key, value in _json_attributes(resource_attrs):
            if key == "service.name":
                service = value
            elif key in hint_keys and value:
                hints[key] = cap_name(value)
        resource = _make_resource(service, hints)
        scopes = _pick(rs, "scopeSpans", "scope_spans", "instrumentationLibrarySpans") or []
        if not isinstance(scopes, list):
            raise DecodeError("'scopeSpans' must be a list")
        for scope in scopes:
            spans = scope.get("spans") if isinstance(scope, dict) else None
            if not isinstance(spans, list):
                continue
            for raw in spans:
                span = _json_span(raw, resource, result)
                if span is not None:
                    result.spans.append(span)
    return result


def _json_span(raw: Any, resource: Resource, result: DecodeResult) -> Span | None:
    if not isinstance(raw, dict):
        result.reject("span is not an object")
        return None
    trace_id = parse_id(_pick(raw, "traceId", "trace_id"), 16)
    span_id = parse_id(_pick(raw, "spanId", "span_id"), 8)
    parent_id = parse_id(_pick(raw, "parentSpanId", "parent_span_id"), 8)
    if not trace_id or not span_id or parent_id is None:
        result.reject(f"span {str(raw.get('spanId'))[:40]!r}: traceId must be 16 bytes and span ids 8 bytes")
        return None
    start = _json_int(_pick(raw, "startTimeUnixNano", "start_time_unix_nano"))
    if not start:
        result.reject(f"span {span_id.hex()}: startTimeUnixNano is missing or not a non-negative integer")
        return None
    end = _json_int(_pick(raw, "endTimeUnixNano", "end_time_unix_nano"))
    if start > MAX_TIME_NS or end > MAX_TIME_NS:
        result.reject(f"span {span_id.hex()}: time is beyond the year 2262")
        return None
    attrs = {k: v for k, v in _json_attributes(raw.get("attributes")) if k in SPAN_ATTRIBUTE_KEYS}
    links: list[tuple[bytes, bytes]] = []
    raw_links = raw.get("links")
    if isinstance(raw_links, list):
        for link in raw_links:
            if isinstance(link, dict):
                lt = parse_id(_pick(link, "traceId", "trace_id"), 16)
                ls = parse_id(_pick(link, "spanId", "span_id"), 8)
                if lt and ls:
                    links.append((lt, ls))
    if parent_id == _ZERO_PARENT:
        parent_id = b""
    kind = _json_kind(raw.get("kind"))
    status = raw.get("status")
    error = _json_is_error(status)
    if kind == _SERVER and json_status_unset(status):  # rule 12
        error = json_unmarked_failure(raw.get("attributes"))
    return Span(trace_id, span_id, parent_id, resource, kind, start, end, error, attrs, tuple(links))


def decode_json_bytes(data: bytes, owner_keys: Iterable[str] = ()) -> DecodeResult:
    """Decode an OTLP/JSON request body."""
    doc, suspect = load_json(data)
    return checked(decode_json_document(doc, owner_keys), suspect)


def encode_status(code: int, message: str, retry_after_seconds: float | None = None) -> bytes:
    """A `google.rpc.Status` (the OTLP/HTTP error body), with RetryInfo when the client should retry."""
    from google.protobuf import duration_pb2
    from google.rpc import error_details_pb2, status_pb2

    status = status_pb2.Status(code=code, message=message)
    if retry_after_seconds is not None:
        info = error_details_pb2.RetryInfo(retry_delay=duration_pb2.Duration(seconds=int(retry_after_seconds)))
        status.details.add().Pack(info)
    return status.SerializeToString()
