"""Tell OTLP/JSON, Jaeger JSON and Zipkin v2 JSON documents apart by their shape."""

from __future__ import annotations

from typing import Any

from collector.decode import DecodeError
from collector.valid_text import printable

EXPECTED = (
    'expected OTLP/JSON (an object with "resourceSpans", or Tempo\'s "batches"), '
    'Jaeger JSON (an object with a "data" list of traces having "spans") '
    'or Zipkin v2 JSON (a list of span objects with "traceId" and "id")'
)


def _is_zipkin_span(item: Any) -> bool:
    return isinstance(item, dict) and "traceId" in item and "id" in item


def detect_format(doc: Any) -> str:
    """Return "otlp", "jaeger" or "zipkin" for a parsed JSON document.

    An empty list counts as Zipkin and `{"data": []}` as Jaeger (both are valid empty payloads).
    Raises DecodeError (a ValueError) naming the accepted shapes when the document fits none of them.
    """
    if isinstance(doc, dict):
        if any(isinstance(doc.get(key), list) for key in ("resourceSpans", "resource_spans", "batches")):
            return "otlp"
        data = doc.get("data")
        if isinstance(data, list) and all(isinstance(t, dict) and "spans" in t for t in data):
            return "jaeger"
        keys = ", ".join(printable(key) for key in sorted(map(str, doc))[:5]) or "none"
        raise DecodeError(f"unrecognised trace JSON object (keys: {keys}); {EXPECTED}")
    if isinstance(doc, list):
        if not doc or any(_is_zipkin_span(item) for item in doc):
            return "zipkin"
        raise DecodeError(f"unrecognised trace JSON array (no element has traceId and id); {EXPECTED}")
    raise DecodeError(f"unrecognised trace JSON {type(doc).__name__}; {EXPECTED}")
