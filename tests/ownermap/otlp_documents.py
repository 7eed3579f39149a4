"""Small OTLP/JSON export requests for the ownermap package's tests."""

from __future__ import annotations

import time
from typing import Any

EVIL = '<b>"evil"</b>'


def otlp_attrs(values: dict[str, str]) -> list[dict[str, Any]]:
    return [{"key": k, "value": {"stringValue": v}} for k, v in values.items()]


def otlp_span(trace: str, span: str, parent: str, kind: int, start: int, **attrs: str) -> dict[str, Any]:
    return {
        "traceId": trace * 32, "spanId": span * 16, "parentSpanId": parent * 16 if parent else "",
        "name": f"op-{span}", "kind": kind, "startTimeUnixNano": str(start),
        "endTimeUnixNano": str(start + 20_000_000), "attributes": otlp_attrs(attrs), "status": {},
    }


def resource_spans(service: str, *spans: dict[str, Any], environment: str = "") -> dict[str, Any]:
    """One `resourceSpans` entry of `service`."""
    resource = {"service.name": service}
    if environment:
        resource["deployment.environment.name"] = environment
    return {"resource": {"attributes": otlp_attrs(resource)},
            "scopeSpans": [{"scope": {"name": "t"}, "spans": list(spans)}]}


def otlp_document(start_ns: int | None = None) -> dict[str, Any]:
    """user → frontend → checkout → orders (database), and EVIL → frontend; 7 spans."""
    t = start_ns if start_ns is not None else time.time_ns() - 60_000_000_000

    def rs(service: str, *spans: dict[str, Any]) -> dict[str, Any]:
        return resource_spans(service, *spans, environment="prod")

    return {"resourceSpans": [
        rs("frontend", otlp_span("a", "1", "", 2, t), otlp_span("a", "2", "1", 3, t + 1000),
           otlp_span("b", "6", "5", 2, t + 5000)),
        rs("checkout", otlp_span("a", "3", "2", 2, t + 2000),
           otlp_span("a", "4", "3", 3, t + 3000, **{"db.system": "postgresql", "db.namespace": "orders"})),
        rs(EVIL, otlp_span("b", "5", "", 3, t + 4000), otlp_span("b", "7", "5", 1, t + 4500)),
    ]}
