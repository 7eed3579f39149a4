"""The Zipkin-compatible receiver (`POST /api/v2/spans`) gives the captures' edges; a server half marked
`shared` pairs with its client half even when each service reports on its own, in any order."""

from __future__ import annotations

import json
from collections import defaultdict
from pathlib import Path
from typing import Any

import pytest

from tests.collector.test_golden_fixtures import ZIPKIN_PAIRS, OtlpHttp, otlp_http  # noqa: F401 - fixture


def _pairs(app: OtlpHttp) -> dict[tuple[str, str], int]:
    calls: dict[tuple[str, str], int] = defaultdict(int)
    for edge in app.graph().edges:
        calls[(edge.source, edge.target)] += edge.calls
    return dict(calls)


def _post(app: OtlpHttp, spans: list[dict[str, Any]]) -> None:
    response = app.client.post("/api/v2/spans", content=json.dumps(spans).encode(),
                               headers={"Content-Type": "application/json"})
    assert response.status_code == 202, response.text


@pytest.mark.parametrize(("capture", "pairs"), ZIPKIN_PAIRS, ids=[c for c, _ in ZIPKIN_PAIRS])
def test_zipkin_capture_over_http(traces_dir: Path, otlp_http: OtlpHttp, capture: str,  # noqa: F811
                                  pairs: dict[tuple[str, str], int]) -> None:
    _post(otlp_http, json.loads((traces_dir / capture).read_text()))
    got = _pairs(otlp_http)
    for pair, calls in pairs.items():
        assert got.get(pair) == calls, (pair, got.get(pair))


def _shared_call(trace: str) -> list[dict[str, Any]]:
    """A front → back call as two reporters send it: the server half shares the client's id."""
    return [
        {"traceId": trace, "id": "00000000000000a1", "kind": "SERVER", "localEndpoint": {"serviceName": "front"},
         "timestamp": 1_700_000_000_000_000, "duration": 9000},
        {"traceId": trace, "id": "00000000000000b2", "parentId": "00000000000000a1", "kind": "CLIENT",
         "localEndpoint": {"serviceName": "front"}, "timestamp": 1_700_000_000_001_000, "duration": 5000},
        {"traceId": trace, "id": "00000000000000b2", "parentId": "00000000000000a1", "kind": "SERVER",
         "shared": True, "localEndpoint": {"serviceName": "back"}, "timestamp": 1_700_000_000_001_500,
         "duration": 4000},
        {"traceId": trace, "id": "00000000000000c3", "parentId": "00000000000000b2", "kind": "CLIENT",
         "localEndpoint": {"serviceName": "back"}, "remoteEndpoint": {"serviceName": "postgres"},
         "tags": {"db.system": "postgresql"}, "timestamp": 1_700_000_000_002_000, "duration": 1000},
    ]


@pytest.mark.parametrize("order", ["front-first", "back-first", "together"])
def test_shared_halves_pair_across_requests(otlp_http: OtlpHttp, order: str) -> None:  # noqa: F811
    spans = _shared_call("4bf92f3577b34da6a3ce929d0e0e4736")
    front = [s for s in spans if s["localEndpoint"]["serviceName"] == "front"]
    back = [s for s in spans if s["localEndpoint"]["serviceName"] == "back"]
    batches = {"front-first": [front, back], "back-first": [back, front], "together": [spans]}[order]
    for batch in batches:
        _post(otlp_http, batch)
    assert _pairs(otlp_http) == {("user", "front"): 1, ("front", "back"): 1, ("back", "postgres"): 1}


def test_zipkin_yelp_capture_is_accepted(traces_dir: Path, otlp_http: OtlpHttp) -> None:  # noqa: F811
    _post(otlp_http, json.loads((traces_dir / "zipkin_yelp_16spans.json").read_text()))
    assert otlp_http.graph().nodes


def test_zipkin_receiver_rejects_what_is_not_zipkin(otlp_http: OtlpHttp) -> None:  # noqa: F811
    bad = otlp_http.client.post("/api/v2/spans", content=b'{"resourceSpans": []}',
                                headers={"Content-Type": "application/json"})
    assert bad.status_code == 400
    wrong_type = otlp_http.client.post("/api/v2/spans", content=b"[]", headers={"Content-Type": "text/plain"})
    assert wrong_type.status_code == 415
