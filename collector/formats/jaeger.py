"""Jaeger query-API / UI download JSON (`{"data": [trace, ...]}`) to ownermap spans.

The small value helpers at the top are shared with the Zipkin converter.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from typing import Any

from collector.decode import DecodeError
from collector.hygiene import tags_unmarked_failure
from graph.model import (
    ENVIRONMENT_KEYS,
    HINT_KEYS,
    SPAN_ATTRIBUTE_KEYS,
    UNKNOWN_SERVICE,
    DecodeResult,
    Resource,
    Span,
    SpanKind,
    cap_name,
)

MAX_NS = 2**63 - 1
MAX_US = MAX_NS // 1000
TOO_LATE_US = MAX_US + 1  # any time past the year 2262
_HEX = frozenset("0123456789abcdefABCDEF")
_ZERO_SPAN = bytes(8)

KIND_BY_NAME = {
    "client": SpanKind.CLIENT,
    "server": SpanKind.SERVER,
    "producer": SpanKind.PRODUCER,
    "consumer": SpanKind.CONSUMER,
    "internal": SpanKind.INTERNAL,
}
# Older OpenTracing tag names and the attribute each one stands for.
LEGACY_KEYS = {
    "db.type": "db.system",
    "db.instance": "db.name",
    "message_bus.destination": "messaging.destination.name",
}


# ---------------------------------------------------------------- shared value helpers


def _hex_bytes(value: Any, lengths: tuple[int, ...]) -> bytes | None:
    if not isinstance(value, str) or len(value) not in lengths or not _HEX.issuperset(value):
        return None
    return bytes.fromhex(value)


def trace_id_from_hex(value: Any) -> bytes | None:
    """16 bytes from a 16- or 32-digit hex trace id (64-bit ids are left-padded); None if invalid."""
    raw = _hex_bytes(value, (16, 32))
    if raw is None or not any(raw):
        return None
    return raw if len(raw) == 16 else bytes(8) + raw


def span_id_from_hex(value: Any) -> bytes | None:
    """8 bytes from a 16-digit hex span id; None if invalid or all zero."""
    raw = _hex_bytes(value, (16,))
    return raw if raw is not None and raw != _ZERO_SPAN else None


def micros(value: Any) -> int | None:
    """A non-negative microsecond count from a JSON number or digit string; None if unusable.

    Counts past the year 2262 come back as TOO_LATE_US (callers reject those spans, as OTLP does)."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return min(value, TOO_LATE_US) if value >= 0 else None
    if isinstance(value, float):
        return min(int(value), TOO_LATE_US) if math.isfinite(value) and value >= 0 else None
    if isinstance(value, str) and value.isdigit() and value.isascii():
        return TOO_LATE_US if len(value) > 19 else min(int(value), TOO_LATE_US)
    return None


def beyond_2262(*times_us: int | None) -> bool:
    """Whether any of these microsecond times is past what the stores hold (the year 2262)."""
    return any(t is not None and t > MAX_US for t in times_us)


def to_ns(us: int) -> int:
    """Microseconds to nanoseconds, capped to a signed 64-bit value."""
    return min(us * 1000, MAX_NS)


def attr_text(value: Any) -> str | None:
    """A scalar tag value as attribute text (booleans lowercase); None for objects and arrays."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return cap_name(value)
    if isinstance(value, int | float):
        return str(value)
    return None


def brief(value: Any) -> str:
    """A short printable form of a bad input value, for reject reasons."""
    text = repr(value)
    return text if len(text) <= 40 else text[:37] + "..."


# ---------------------------------------------------------------- Jaeger


def _tag_pairs(tags: Any) -> list[tuple[str, Any]]:
    """(key, value) pairs from a Jaeger tag list (or a plain object, as some tools write)."""
    if isinstance(tags, dict):
        return [(k, v) for k, v in tags.items() if isinstance(k, str)]
    pairs = []
    if isinstance(tags, list):
        for tag in tags:
            if isinstance(tag, dict) and isinstance(tag.get("key"), str):
                pairs.append((tag["key"], tag.get("value")))
    return pairs


def _resource(process: Any, hint_keys: frozenset[str]) -> Resource:
    """A Resource from a Jaeger process object: service name plus hint tags."""
    if not isinstance(process, dict):
        return Resource(UNKNOWN_SERVICE)
    name = process.get("serviceName")
    service = cap_name(name) if isinstance(name, str) and name else UNKNOWN_SERVICE
    hints: dict[str, str] = {}
    for key, value in _tag_pairs(process.get("tags")):
        if key in hint_keys:
            text = attr_text(value)
            if text:
                hints[key] = text
    environment = next((hints[k] for k in ENVIRONMENT_KEYS if k in hints), "")
    return Resource(service, environment, hints)


class _TraceDecoder:
    """Decodes the spans of one Jaeger trace object, sharing Resources per process id."""

    def __init__(self, trace: dict[str, Any], result: DecodeResult, hint_keys: frozenset[str]) -> None:
        self.trace = trace
        self.result = result
        self.hint_keys = hint_keys
        processes = trace.get("processes")
        self.processes: dict[str, Any] = processes if isinstance(processes, dict) else {}
        self.resources: dict[Any, Resource] = {}
        self.trace_id = trace_id_from_hex(trace.get("traceID"))

    def resource_for(self, span: dict[str, Any]) -> Resource:
        pid = span.get("processID")
        if isinstance(pid, str) and pid in self.processes:
            key: Any = ("pid", pid)
            process = self.processes[pid]
        else:
            process = span.get("process")
            if not isinstance(process, dict):
                key, process = ("none",), None
            else:
                key = ("inline", process.get("serviceName"), repr(process.get("tags")))
        resource = self.resources.get(key)
        if resource is None:
            resource = self.resources[key] = _resource(process, self.hint_keys)
        return resource

    def parent_and_links(
        self, span: dict[str, Any], trace_id: bytes
    ) -> tuple[bytes, tuple[tuple[bytes, bytes], ...]] | None:
        """The parent id and the other references as links; None when the parent id is malformed."""
        refs: list[tuple[str, bytes, bytes]] = []
        raw_refs = span.get("references")
        if isinstance(raw_refs, list):
            for ref in raw_refs:
                if not isinstance(ref, dict):
                    continue
                sid = span_id_from_hex(ref.get("spanID"))
                tid = trace_id_from_hex(ref.get("traceID")) if "traceID" in ref else trace_id
                if sid is not None and tid is not None:
                    refs.append((str(ref.get("refType", "CHILD_OF")).upper(), tid, sid))
        parent = next((r for r in refs if r[0] == "CHILD_OF" and r[1] == trace_id), None)
        if parent is None:
            parent = next((r for r in refs if r[0] == "FOLLOWS_FROM" and r[1] == trace_id), None)
        links = tuple((tid, sid) for ref_type, tid, sid in refs if (ref_type, tid, sid) != parent)
        if parent is not None:
            return parent[2], links
        legacy = span.get("parentSpanID")
        if legacy in (None, "", "0") or (isinstance(legacy, str) and legacy.strip("0") == ""):
            return b"", links
        parent_id = span_id_from_hex(legacy)
        return (parent_id, links) if parent_id is not None else None

    def decode(self) -> list[Span]:
        spans: list[Span] = []
        untimed: list[Span] = []
        seen: set[tuple[bytes, bytes]] = set()
        raw_spans = self.trace.get("spans")
        for raw in raw_spans if isinstance(raw_spans, list) else ():
            if not isinstance(raw, dict):
                self.result.reject("jaeger span is not an object")
                continue
            trace_id = trace_id_from_hex(raw["traceID"]) if "traceID" in raw else self.trace_id
            if trace_id is None:
                self.result.reject(f"jaeger span: invalid traceID {brief(raw.get('traceID'))}")
                continue
            span_id = span_id_from_hex(raw.get("spanID"))
            if span_id is None:
                self.result.reject(f"jaeger span: invalid spanID {brief(raw.get('spanID'))}")
                continue
            if (trace_id, span_id) in seen:
                continue  # duplicate copy of a span already decoded
            parentage = self.parent_and_links(raw, trace_id)
            if parentage is None:
                self.result.reject(f"jaeger span: invalid parentSpanID {brief(raw.get('parentSpanID'))}")
                continue
            seen.add((trace_id, span_id))
            start, duration = micros(raw.get("startTime")), micros(raw.get("duration"))
            if beyond_2262(start, duration, (start or 0) + (duration or 0)):
                self.result.reject(f"jaeger span {span_id.hex()}: time is beyond the year 2262")
                continue
            span = self.build(raw, trace_id, span_id, *parentage)
            spans.append(span)
            if span.start_ns < 0:
                untimed.append(span)
        if untimed:
            self.fill_times(spans, untimed)
        return [s for s in spans if s.start_ns >= 0]

    def build(
        self,
        raw: dict[str, Any],
        trace_id: bytes,
        span_id: bytes,
        parent_id: bytes,
        links: tuple[tuple[bytes, bytes], ...],
    ) -> Span:
        kind = SpanKind.UNSPECIFIED
        error = False
        attrs: dict[str, str] = {}
        tags = list(_tag_pairs(raw.get("tags")))
        for key, value in tags:
            if key == "span.kind":
                kind = KIND_BY_NAME.get(str(value).lower(), SpanKind.UNSPECIFIED)
            elif key == "error":
                error = error or value is True or (isinstance(value, str) and value.lower() == "true")
            elif key == "otel.status_code":
                error = error or (isinstance(value, str) and value.upper() == "ERROR")
            elif key in SPAN_ATTRIBUTE_KEYS or key in LEGACY_KEYS:
                text = attr_text(value)
                if text is not None:
                    attrs[key] = text
        for old, new in LEGACY_KEYS.items():
            if old in attrs:
                attrs.setdefault(new, attrs.pop(old))
        if kind == SpanKind.SERVER and not error:
            error = tags_unmarked_failure(tags)  # rule 12
        start = micros(raw.get("startTime"))
        start_ns = to_ns(start) if start is not None else -1
        duration = micros(raw.get("duration")) or 0
        end_ns = min(start_ns + to_ns(duration), MAX_NS) if start is not None else duration * 1000
        return Span(
            trace_id, span_id, parent_id, self.resource_for(raw), kind, start_ns, end_ns,
            error=error, attrs=attrs, links=links,
        )

    def fill_times(self, spans: list[Span], untimed: list[Span]) -> None:
        """Give spans without a start time the trace's earliest start; reject them if there is none."""
        starts = [s.start_ns for s in spans if s.start_ns >= 0]
        if not starts:
            for _ in untimed:
                self.result.reject("jaeger span: no startTime in the span or its trace")
            return
        first = min(starts)
        for span in untimed:
            duration = span.end_ns  # holds the bare duration in ns until a start is known
            span.start_ns = first
            span.end_ns = min(first + duration, MAX_NS)


def decode_jaeger(doc: dict[str, Any], owner_keys: Iterable[str] = ()) -> DecodeResult:
    """Decode a Jaeger query-API / UI JSON document; malformed spans are rejected one by one.

    Process tags named in HINT_KEYS or `owner_keys` become Resource hints. Raises DecodeError
    (a ValueError) when the document is not `{"data": [...]}`.
    """
    if not isinstance(doc, dict) or not isinstance(doc.get("data"), list):
        raise DecodeError('Jaeger JSON must be an object with a "data" list of traces')
    result = DecodeResult(spans=[])
    hint_keys = frozenset(HINT_KEYS) | frozenset(owner_keys)
    for trace in doc["data"]:
        if not isinstance(trace, dict):
            result.reject("jaeger trace is not an object")
            continue
        result.spans.extend(_TraceDecoder(trace, result, hint_keys).decode())
    return result
