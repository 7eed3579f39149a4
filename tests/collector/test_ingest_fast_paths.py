"""The ingest hot path's shortcuts keep the edge rules exact: protobuf attributes read on first use,
pairing inside one batch, expiry one batch entry at a time, and payloads decoded by the pipeline."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from opentelemetry.proto.trace.v1.trace_pb2 import Span as PbSpan

from collector.addresses import AddressBook
from collector.calls import CallDetector
from collector.decode import DecodeError, decode_request, decode_request_bytes
from collector.ingest import Receiver
from collector.pipeline import IngestPipeline, OverloadedError
from graph.aggregate import Aggregator
from graph.model import DecodeResult, Resource, Span, SpanKind
from graph.store.sqlite import SQLiteStore
from tests.collector.otlp_builders import wait_until
from tests.collector.test_decode import pb_request, pb_resource_spans, pb_span, sid

WAIT = 10.0
DB_ATTRS = {"db.system.name": "postgresql", "db.namespace": "orders", "db.query.text": "SELECT 1"}


def _edges(aggregator: Aggregator) -> dict[tuple[str, str, str], int]:
    out: dict[tuple[str, str, str], int] = {}
    for (_, client, server, ctype, _), edge in aggregator.drain().edges.items():
        out[(client, server, ctype)] = out.get((client, server, ctype), 0) + edge.calls
    return out


def test_client_attributes_are_read_on_first_use_and_equal_an_eager_read() -> None:
    request = pb_request(pb_resource_spans(
        {"service.name": "api"},
        pb_span(sid(1), kind=PbSpan.SPAN_KIND_CLIENT, attrs={**DB_ATTRS, "server.address": "db-1", "x": "y"}),
    ))
    (span,) = decode_request(request).spans
    assert span.attrs == {"db.system.name": "postgresql", "db.namespace": "orders", "server.address": "db-1"}
    span.settle_attrs(False)  # already read: settling keeps what was read
    assert span.attrs["server.address"] == "db-1"


def test_detector_reads_attributes_of_unpaired_clients_and_drops_those_of_paired_ones() -> None:
    request = pb_request(
        pb_resource_spans(
            {"service.name": "api"},
            pb_span(sid(1), kind=PbSpan.SPAN_KIND_CLIENT, attrs={"server.address": "billing"}),
            pb_span(sid(2), kind=PbSpan.SPAN_KIND_CLIENT, attrs=DB_ATTRS),
        ),
        pb_resource_spans({"service.name": "billing"}, pb_span(sid(3), sid(1), PbSpan.SPAN_KIND_SERVER)),
    )
    now = [0.0]
    aggregator = Aggregator()
    # Rule 9 reads a paired client's attributes once per (caller, callee) and `learn_every`: this pair
    # was learned just before, so this one is dropped unread.
    book = AddressBook()
    assert book.due("api", "billing", "", 0.0)
    detector = CallDetector(aggregator, ttl=5.0, clock=lambda: now[0], addresses=book)
    paired, database, _ = spans = decode_request(request).spans
    detector.add(spans)
    # Neither span refers to the decoded request any more (it can be freed).
    assert getattr(paired, "pb_attributes", None) is None and getattr(database, "pb_attributes", None) is None
    assert paired.attrs == {}  # paired: rules 3 and 4 never read it, so it was dropped unread
    assert database.attrs == {"db.system.name": "postgresql", "db.namespace": "orders"}
    now[0] += 6
    detector.expire()
    assert _edges(aggregator) == {("api", "billing", "rpc"): 1, ("api", "orders", "database"): 1}


def test_database_at_once_reads_lazily_decoded_attributes() -> None:
    request = pb_request(pb_resource_spans(
        {"service.name": "api"}, pb_span(sid(1), kind=PbSpan.SPAN_KIND_CLIENT, attrs=DB_ATTRS),
    ))
    aggregator = Aggregator()
    detector = CallDetector(aggregator, database_at_once=True, clock=lambda: 0.0)
    detector.add(decode_request(request).spans)
    assert _edges(aggregator) == {("api", "orders", "database"): 1}


def _span(service: str, span_id: int, parent: int | None, kind: SpanKind) -> Span:
    return Span(bytes(16), span_id.to_bytes(8, "big"), parent.to_bytes(8, "big") if parent else b"",
                Resource(service), kind, 1_700_000_000_000_000_000, 1_700_000_000_001_000_000)


def test_a_child_before_its_parent_in_one_batch_pairs_without_waiting() -> None:
    aggregator = Aggregator()
    detector = CallDetector(aggregator, clock=lambda: 0.0)
    detector.add([_span("b", 2, 1, SpanKind.SERVER), _span("a", 1, None, SpanKind.CLIENT)])
    assert detector.pending == 2  # both indexed, nothing waiting
    assert _edges(aggregator) == {("a", "b", "rpc"): 1}


def test_the_same_span_object_twice_is_one_span() -> None:
    span = _span("a", 1, None, SpanKind.SERVER)
    detector = CallDetector(Aggregator(), clock=lambda: 0.0)
    detector.add([span, span])
    detector.add([span])
    assert (detector.stats.spans, detector.stats.duplicates, detector.pending) == (1, 2, 1)


def test_early_expiry_takes_part_of_a_batch_and_normal_expiry_the_rest() -> None:
    now = [0.0]
    detector = CallDetector(Aggregator(), ttl=5.0, max_pending=5, clock=lambda: now[0])
    detector.add([_span("a", i, None, SpanKind.INTERNAL) for i in range(1, 5)])
    detector.add([_span("b", i, None, SpanKind.INTERNAL) for i in range(11, 14)])
    assert (detector.pending, detector.stats.expired_early) == (5, 2)
    now[0] += 6
    detector.expire()
    assert (detector.pending, detector.stats.expired_early) == (0, 2)


# --------------------------------------------------------------------------- payloads decoded by the worker


@pytest.fixture
def pipeline(tmp_path: Path) -> Iterator[IngestPipeline]:
    store = SQLiteStore(tmp_path / "graph.db")
    pipeline = IngestPipeline(store, ttl=300.0, tick_seconds=0.05)
    pipeline.start()
    yield pipeline
    pipeline.stop(timeout=WAIT)
    store.close()


def test_payload_is_decoded_by_the_worker_and_committed(pipeline: IngestPipeline) -> None:
    request = pb_request(pb_resource_spans({"service.name": "api"}, pb_span(sid(1)), pb_span(b"short")))
    receiver = Receiver(pipeline)
    result = receiver.accept("grpc", lambda: decode_request_bytes(request.SerializeToString()), 100)
    assert result.rejected == 1 and result.spans == []  # the span index owns the spans now
    assert (receiver.stats.spans_received, receiver.stats.spans_rejected) == (1, 1)
    assert pipeline.detector.stats.spans == 1


def test_undecodable_payload_fails_its_own_request_only(pipeline: IngestPipeline) -> None:
    receiver = Receiver(pipeline)
    with pytest.raises(DecodeError):
        receiver.accept("grpc", lambda: decode_request_bytes(b"\xff\xff\xff\xff"), 4)
    assert receiver.stats.requests_rejected == 1
    good = pb_request(pb_resource_spans({"service.name": "api"}, pb_span(sid(1))))
    receiver.accept("grpc", lambda: decode_request_bytes(good.SerializeToString()))
    assert receiver.stats.spans_received == 1


def test_queued_payload_bytes_are_bounded(tmp_path: Path) -> None:
    store = SQLiteStore(tmp_path / "graph.db")
    pipeline = IngestPipeline(store, max_queued_bytes=1000, tick_seconds=0.05)
    pipeline.start()
    release = threading.Event()

    def blocking_decoder() -> DecodeResult:
        release.wait(WAIT)
        return DecodeResult(spans=[])

    try:
        first = pipeline.submit_payload(blocking_decoder, 10)
        wait_until(lambda: pipeline.queue_depth == 0)  # the worker holds it, decoding
        second = pipeline.submit_payload(lambda: DecodeResult(spans=[]), 600)
        with pytest.raises(OverloadedError):
            pipeline.submit_payload(lambda: DecodeResult(spans=[]), 600)
        assert pipeline.stats.overloaded == 1
        release.set()
        first.result(timeout=WAIT)
        second.result(timeout=WAIT)
        pipeline.submit_payload(lambda: DecodeResult(spans=[]), 600).result(timeout=WAIT)  # room again
    finally:
        release.set()
        pipeline.stop(timeout=WAIT)
        store.close()


def test_payload_result_waits_for_the_commit(pipeline: IngestPipeline) -> None:
    request = pb_request(pb_resource_spans({"service.name": "api"}, pb_span(sid(1))))
    started = time.monotonic()
    future = pipeline.submit_payload(lambda: decode_request_bytes(request.SerializeToString()), 10)
    result = future.result(timeout=WAIT)
    assert time.monotonic() - started < WAIT
    assert pipeline.stats.flushes >= 1 and result.rejected == 0
