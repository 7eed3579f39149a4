"""Build OTLP export requests for tests, in the notation of REFERENCE.md part A.

    span("req:CLIENT a")                              a CLIENT span `a` of service `req`
    span("srv:SERVER b←a", error=True)                a SERVER span `b` whose parent is `a`, status ERROR
    span("srv:CLIENT c", {"db.system": "redis"})      span attributes
    span("nginx n")                                   no kind at all (SPAN_KIND_UNSPECIFIED)
    span("rec:CONSUMER c", links=[("t2", "p1")])      a link to span `p1` of trace `t2`

Span and trace ids are symbolic names, turned into stable hex ids (trace `t1` unless given).
`otlp_json(specs)` groups the spans by resource into one OTLP/JSON `ExportTraceServiceRequest`
document; `otlp_json_to_protobuf(doc)` serialises any OTLP/JSON document (also Tempo's
`batches` form) as protobuf bytes. `FakeClock` drives the span index's expiry without sleeping.
"""

from __future__ import annotations

import base64
import hashlib
import re
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from google.protobuf import json_format
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest

from collector.decode import decode_json_document
from graph.model import Span, SpanKind

T0_NS = 1_700_000_000_000_000_000  # 2023-11-14T22:13:20Z: the default start of every span
MS = 1_000_000  # nanoseconds per millisecond
DEFAULT_TRACE = "t1"
STATUS_ERROR = 2

_NOTATION = re.compile(
    r"^(?P<service>[^:\s]+)(?::(?P<kind>[A-Z]+))?\s+(?P<span>[\w.-]+)(?:\s*(?:←|<-)\s*(?P<parent>[\w.-]+))?$"
)


def trace_hex(name: str) -> str:
    """The 32-hex-digit trace id of a symbolic trace name."""
    return hashlib.sha256(f"trace:{name}".encode()).hexdigest()[:32]


def span_hex(name: str) -> str:
    """The 16-hex-digit span id of a symbolic span name."""
    return hashlib.sha256(f"span:{name}".encode()).hexdigest()[:16]


@dataclass(frozen=True)
class SpanSpec:
    """One span to put in an export request (see `span()`)."""

    service: str | None
    kind: SpanKind
    span_id: str
    parent: str | None = None
    attrs: Mapping[str, str | int] = field(default_factory=dict)
    error: bool = False
    trace: str = DEFAULT_TRACE
    start_ms: float = 0.0
    duration_ms: float = 10.0
    links: tuple[tuple[str, str], ...] = ()
    resource: Mapping[str, str] = field(default_factory=dict)

    @property
    def label(self) -> str:
        """The span in REFERENCE notation (for assertion messages)."""
        parent = f"←{self.parent}" if self.parent else ""
        return f"{self.service}:{self.kind.name} {self.trace}/{self.span_id}{parent}"


def span(
    notation: str,
    attrs: Mapping[str, str | int] | None = None,
    *,
    error: bool = False,
    trace: str = DEFAULT_TRACE,
    start_ms: float = 0.0,
    duration_ms: float = 10.0,
    links: Iterable[tuple[str, str]] = (),
    resource: Mapping[str, str] | None = None,
) -> SpanSpec:
    """A span from REFERENCE notation `service[:KIND] id[←parent]` (also `<-`).

    `service` `-` means a resource without `service.name`. Times are milliseconds after T0_NS.
    """
    match = _NOTATION.match(notation.strip())
    if match is None:
        raise ValueError(f"not REFERENCE span notation: {notation!r}")
    kind = SpanKind[match["kind"]] if match["kind"] else SpanKind.UNSPECIFIED
    service = None if match["service"] == "-" else match["service"]
    return SpanSpec(
        service=service, kind=kind, span_id=match["span"], parent=match["parent"], attrs=dict(attrs or {}),
        error=error, trace=trace, start_ms=start_ms, duration_ms=duration_ms, links=tuple(links),
        resource=dict(resource or {}),
    )


def _any_value(value: str | int) -> dict[str, Any]:
    if isinstance(value, bool):
        return {"boolValue": value}
    if isinstance(value, int):
        return {"intValue": str(value)}  # OTLP/JSON writes 64-bit integers as strings
    return {"stringValue": value}


def _attributes(attrs: Mapping[str, str | int]) -> list[dict[str, Any]]:
    return [{"key": key, "value": _any_value(value)} for key, value in attrs.items()]


def _span_json(spec: SpanSpec) -> dict[str, Any]:
    start = T0_NS + round(spec.start_ms * MS)
    raw: dict[str, Any] = {
        "traceId": trace_hex(spec.trace),
        "spanId": span_hex(spec.span_id),
        "name": spec.span_id,
        "kind": int(spec.kind),
        "startTimeUnixNano": str(start),
        "endTimeUnixNano": str(start + round(spec.duration_ms * MS)),
        "attributes": _attributes(spec.attrs),
        "status": {"code": STATUS_ERROR} if spec.error else {},
    }
    if spec.parent:
        raw["parentSpanId"] = span_hex(spec.parent)
    if spec.links:
        raw["links"] = [{"traceId": trace_hex(t), "spanId": span_hex(s)} for t, s in spec.links]
    return raw


def otlp_json(specs: Iterable[SpanSpec]) -> dict[str, Any]:
    """One OTLP/JSON export request holding `specs`, one resourceSpans per distinct resource."""
    groups: dict[tuple[str | None, tuple[tuple[str, str], ...]], list[SpanSpec]] = {}
    for spec in specs:
        groups.setdefault((spec.service, tuple(spec.resource.items())), []).append(spec)  # attribute order kept
    resource_spans = []
    for (service, resource_attrs), members in groups.items():
        attrs: dict[str, str | int] = {} if service is None else {"service.name": service}
        attrs.update(resource_attrs)
        resource_spans.append({
            "resource": {"attributes": _attributes(attrs)},
            "scopeSpans": [{"scope": {"name": "tests"}, "spans": [_span_json(s) for s in members]}],
        })
    return {"resourceSpans": resource_spans}


def decode_specs(specs: Sequence[SpanSpec]) -> list[Span]:
    """Build the OTLP/JSON request of `specs` and decode it with collector.decode (nothing rejected)."""
    result = decode_json_document(otlp_json(specs))
    assert result.rejected == 0, result.errors
    assert len(result.spans) == len(specs)
    return result.spans


# --------------------------------------------------------------------------- OTLP/JSON → protobuf

_ID_SIZES = {"traceId": 16, "spanId": 8, "parentSpanId": 8}


def _hex_ids_to_base64(obj: dict[str, Any]) -> dict[str, Any]:
    out = dict(obj)
    for key, size in _ID_SIZES.items():
        value = out.get(key)
        if isinstance(value, str) and len(value) == 2 * size and re.fullmatch(r"[0-9a-fA-F]+", value):
            out[key] = base64.b64encode(bytes.fromhex(value)).decode()
    return out


def otlp_json_for_protobuf(doc: Mapping[str, Any]) -> dict[str, Any]:
    """The protobuf-JSON form of an OTLP/JSON document: hex ids become base64 (what
    `json_format` expects) and Tempo's `batches` become `resourceSpans`."""
    resource_spans = doc.get("resourceSpans", doc.get("batches", []))
    converted = []
    for rs in resource_spans:
        scopes = []
        for scope in rs.get("scopeSpans", []):
            spans = []
            for raw in scope.get("spans", []):
                raw = _hex_ids_to_base64(raw)
                if "links" in raw:
                    raw["links"] = [_hex_ids_to_base64(link) for link in raw["links"]]
                spans.append(raw)
            scopes.append({**scope, "spans": spans})
        converted.append({**rs, "scopeSpans": scopes})
    return {"resourceSpans": converted}


def otlp_json_to_protobuf(doc: Mapping[str, Any]) -> bytes:
    """Serialise an OTLP/JSON document as a protobuf `ExportTraceServiceRequest`."""
    request = json_format.ParseDict(otlp_json_for_protobuf(doc), ExportTraceServiceRequest())
    return request.SerializeToString()


# --------------------------------------------------------------------------- clock


class FakeClock:
    """A monotonic clock that moves only when told to (`advance`)."""

    def __init__(self, start: float = 1_000.0) -> None:
        self._now = start

    def now(self) -> float:
        """The current time in seconds."""
        return self._now

    __call__ = now

    def advance(self, seconds: float) -> None:
        """Move the clock forward."""
        if seconds < 0:
            raise ValueError("a monotonic clock does not go back")
        self._now += seconds


def wait_until(condition: Callable[[], bool], what: str = "the condition", timeout: float = 10.0) -> None:
    """Poll `condition` until it holds; fail naming `what` after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.005)
