"""ownermap.metrics: the registry reads receiver, detector, aggregator and pipeline counters at scrape time."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from prometheus_client import CollectorRegistry, generate_latest

from api.app import create_app
from api.config import ApiConfig
from api.state import ApiState
from collector.decode import DecodeError, decode_json_document
from collector.ingest import Receiver
from collector.pipeline import IngestPipeline
from graph.model import Resource
from graph.store.sqlite import SQLiteStore
from ownermap.metrics import build_registry
from tests.ownermap.otlp_documents import otlp_document, otlp_span, resource_spans

COUNTERS = [
    "ownermap_spans_received_total", "ownermap_spans_rejected_total", "ownermap_requests_rejected_total",
    "ownermap_spans_duplicate_total", "ownermap_calls_detected_total", "ownermap_spans_unpaired_total",
    "ownermap_spans_unmatched_total", "ownermap_pending_expired_early_total", "ownermap_ingest_overloaded_total",
    "ownermap_flushes_total", "ownermap_flush_failures_total", "ownermap_flush_seconds_total",
    "ownermap_services_dropped_total", "ownermap_edges_dropped_total", "ownermap_spans_invalid_total",
    "ownermap_batches_resent_total", "ownermap_aggregate_rows_unstorable_total",
]
GAUGES = ["ownermap_pending_spans", "ownermap_ingest_queue_batches", "ownermap_last_flush_seconds"]


@pytest.fixture
def store(tmp_path: Path) -> Iterator[SQLiteStore]:
    s = SQLiteStore(tmp_path / "metrics.db")
    yield s
    s.close()


def _extras(t: int) -> dict:
    """A bad span, a CLIENT without peer or child (unpaired), a SERVER whose parent never comes (unmatched)."""
    bad = otlp_span("c", "8", "", 3, t)
    bad["traceId"] = "zz"
    return {"resourceSpans": [resource_spans(
        "lonely", bad, otlp_span("d", "9", "", 3, t), otlp_span("e", "a", "f", 2, t),
    )]}


def _value(registry: CollectorRegistry, name: str, labels: dict[str, str] | None = None) -> float | None:
    return registry.get_sample_value(name, labels or {})


def test_empty_registry_without_components() -> None:
    registry = build_registry(None, None)
    assert generate_latest(registry) == b""


def test_series_exist_before_any_traffic(store: SQLiteStore) -> None:
    pipeline = IngestPipeline(store)
    registry = build_registry(Receiver(pipeline), pipeline)
    for name in COUNTERS + GAUGES:
        assert _value(registry, name) == 0.0, name
    text = generate_latest(registry).decode()
    assert "# TYPE ownermap_receiver_requests_total counter" in text
    assert "# TYPE ownermap_pending_spans gauge" in text


def test_metrics_after_ingesting_a_small_batch(store: SQLiteStore) -> None:
    pipeline = IngestPipeline(store, tick_seconds=0.05)
    receiver = Receiver(pipeline)
    registry = build_registry(receiver, pipeline)
    t = time.time_ns() - 60_000_000_000
    doc = otlp_document(t)
    pipeline.start()
    try:
        receiver.accept("http", lambda: decode_json_document(doc))
        receiver.accept("grpc", lambda: decode_json_document(doc))  # an exporter retry: all duplicates
        result = receiver.accept("http", lambda: decode_json_document(_extras(t)))
        assert result.rejected == 1

        def undecodable() -> None:
            raise DecodeError("not protobuf")

        with pytest.raises(DecodeError):
            receiver.accept("grpc", undecodable)  # type: ignore[arg-type]
        assert _value(registry, "ownermap_pending_spans") > 0  # waiting in the span index
    finally:
        pipeline.stop()
    assert _value(registry, "ownermap_receiver_requests_total", {"transport": "http"}) == 2
    assert _value(registry, "ownermap_receiver_requests_total", {"transport": "grpc"}) == 2
    assert _value(registry, "ownermap_spans_received_total") == 7 + 7 + 2
    assert _value(registry, "ownermap_spans_rejected_total") == 1
    assert _value(registry, "ownermap_requests_rejected_total") == 1
    assert _value(registry, "ownermap_spans_duplicate_total") == 7
    assert _value(registry, "ownermap_batches_resent_total") == 1
    # entry user → frontend, frontend → checkout, checkout → orders (database), evil → frontend
    assert _value(registry, "ownermap_calls_detected_total") == 4
    assert _value(registry, "ownermap_spans_unpaired_total") == 1
    assert _value(registry, "ownermap_spans_unmatched_total") == 1
    assert _value(registry, "ownermap_pending_spans") == 0
    assert _value(registry, "ownermap_ingest_queue_batches") == 0
    assert _value(registry, "ownermap_pending_expired_early_total") == 0
    assert _value(registry, "ownermap_ingest_overloaded_total") == 0
    assert _value(registry, "ownermap_flushes_total") >= 1
    assert _value(registry, "ownermap_flush_failures_total") == 0
    assert _value(registry, "ownermap_flush_seconds_total") > 0
    assert _value(registry, "ownermap_services_dropped_total") == 0
    assert _value(registry, "ownermap_edges_dropped_total") == 0
    assert _value(registry, "ownermap_spans_invalid_total") == 0


def test_cap_and_early_expiry_counters(store: SQLiteStore) -> None:
    for caps, counter in (({"max_services": 1}, "ownermap_services_dropped_total"),
                          ({"max_edges": 1}, "ownermap_edges_dropped_total"),
                          ({"max_environments": 1}, "ownermap_environments_other_total")):
        pipeline = IngestPipeline(store, max_pending=3, **caps)
        registry = build_registry(Receiver(pipeline), pipeline)
        spans = decode_json_document(otlp_document()).spans
        for i, span in enumerate(spans):
            span.resource = Resource(span.resource.service, f"env{i}", span.resource.hints)
        pipeline.ingest(spans)
        pipeline.finish()
        assert _value(registry, counter) > 0, counter
        assert _value(registry, "ownermap_pending_expired_early_total") > 0


def test_metrics_endpoint_serves_the_registry(store: SQLiteStore) -> None:
    pipeline = IngestPipeline(store)
    registry = build_registry(Receiver(pipeline), pipeline)
    pipeline.ingest(decode_json_document(otlp_document()).spans)
    pipeline.finish()
    state = ApiState(config=ApiConfig(api_token="t"), store=store, metric_sources={"registry": registry})
    with TestClient(create_app(state, include_api=False)) as client:
        response = client.get("/metrics")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    assert "ownermap_calls_detected_total 4.0" in response.text
    assert "ownermap_flushes_total" in response.text


def test_service_graph_series_on_metrics(store: SQLiteStore) -> None:
    """DESIGN §4: traces_service_graph_request_total and friends, with the owners of both ends."""
    pipeline = IngestPipeline(store)
    owners = {"frontend": "web", "checkout": "pay"}
    registry = build_registry(Receiver(pipeline), pipeline, owners.get)
    pipeline.ingest(decode_json_document(otlp_document()).spans)
    pipeline.finish()
    rpc = {"client": "frontend", "server": "checkout", "connection_type": "rpc", "client_owner": "web",
           "server_owner": "pay"}
    assert _value(registry, "traces_service_graph_request_total", rpc) == 1
    assert _value(registry, "traces_service_graph_request_failed_total", rpc) == 0
    # both spans last 20 ms: bucket (0.01, 0.025], cumulative from there on
    assert _value(registry, "traces_service_graph_request_server_seconds_bucket", {**rpc, "le": "0.01"}) == 0
    assert _value(registry, "traces_service_graph_request_server_seconds_bucket", {**rpc, "le": "0.025"}) == 1
    assert _value(registry, "traces_service_graph_request_server_seconds_bucket", {**rpc, "le": "+Inf"}) == 1
    assert _value(registry, "traces_service_graph_request_server_seconds_sum", rpc) == pytest.approx(0.02)
    assert _value(registry, "traces_service_graph_request_client_seconds_count", rpc) == 1
    database = {"client": "checkout", "server": "orders", "connection_type": "database", "client_owner": "pay",
                "server_owner": ""}
    assert _value(registry, "traces_service_graph_request_total", database) == 1
    assert _value(registry, "traces_service_graph_request_client_seconds_count", database) == 1
    assert _value(registry, "traces_service_graph_request_server_seconds_count", database) == 0
    entry = {"client": "user", "server": "frontend", "connection_type": "entry", "client_owner": "",
             "server_owner": "web"}
    assert _value(registry, "traces_service_graph_request_total", entry) == 1
    state = ApiState(config=ApiConfig(), store=store, metric_sources={"registry": registry})
    with TestClient(create_app(state)) as client:
        text = client.get("/metrics").text
    assert "# TYPE traces_service_graph_request_total counter" in text
    assert "# TYPE traces_service_graph_request_server_seconds histogram" in text
    assert 'client="<b>\\"evil\\"</b>"' in text  # label values are escaped in the exposition
