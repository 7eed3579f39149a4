"""Resends after a database stall: a batch the pipeline already took is answered, not counted again.

The stall is a real SQLite write lock held from another connection while a real OTLP/gRPC
receiver on loopback waits for the commit; the exporter's retry comes after `pairing_ttl`.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from pathlib import Path

import grpc
import pytest

import collector.ingest
from collector.ingest import Receiver
from collector.otlp_grpc import SERVICE_NAME, build_grpc_server
from collector.pipeline import IngestPipeline
from collector.resends import RecentBatches, batch_digest
from graph.model import Resource, Span, SpanKind, Window
from graph.service_graph import ServiceGraph
from graph.store.sqlite import SQLiteStore
from tests.collector.otlp_builders import FakeClock, otlp_json, otlp_json_to_protobuf, span, wait_until

ALL_TIME = Window(0, 2**33)
WAIT = 10.0


def _span(n: int) -> Span:
    return Span(n.to_bytes(16, "big"), n.to_bytes(8, "big"), b"", Resource("s"), SpanKind.SERVER, 1, 2)


# --------------------------------------------------------------------------- the digests


def test_a_digest_is_recognised_until_it_expires() -> None:
    now = [0.0]
    recent = RecentBatches(lambda: now[0], seconds=600.0)
    digest = batch_digest([_span(1), _span(2)])
    assert not recent.seen(digest)
    now[0] = 599.0
    assert recent.seen(digest)
    assert not recent.seen(batch_digest([_span(2), _span(3)]))
    now[0] = 601.0
    assert not recent.seen(digest)  # forgotten, then remembered afresh
    assert len(recent) == 2


def test_the_oldest_digests_go_beyond_the_limit() -> None:
    recent = RecentBatches(lambda: 0.0, limit=3)
    digests = [batch_digest([_span(n)]) for n in range(5)]
    for digest in digests:
        assert not recent.seen(digest)
    assert len(recent) == 3
    assert recent.seen(digests[4])
    assert not recent.seen(digests[0])


# --------------------------------------------------------------------------- a stalled database


@pytest.fixture
def stalled(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[SQLiteStore, IngestPipeline, str]]:
    monkeypatch.setattr(collector.ingest, "COMMIT_TIMEOUT_SECONDS", 0.5)
    store = SQLiteStore(tmp_path / "graph.db")
    clock = FakeClock(1000.0)
    pipeline = IngestPipeline(store, ttl=5.0, clock=clock, tick_seconds=0.05)
    pipeline.start()
    server, port = build_grpc_server(Receiver(pipeline), "127.0.0.1:0", max_request_bytes=1 << 22, max_concurrent=4)
    server.start()
    yield store, pipeline, f"127.0.0.1:{port}"
    server.stop(grace=None).wait(WAIT)
    pipeline.stop(timeout=WAIT)
    store.close()


def test_a_retry_after_a_stall_longer_than_the_ttl_counts_once(
    stalled: tuple[SQLiteStore, IngestPipeline, str], tmp_path: Path
) -> None:
    store, pipeline, address = stalled
    payload = otlp_json_to_protobuf(otlp_json([span("frontend:CLIENT a"), span("backend:SERVER b←a")]))

    def calls() -> dict[tuple[str, str], int]:
        return {(e.source, e.target): e.calls for e in ServiceGraph.from_store(store, ALL_TIME).edges}

    lock = sqlite3.connect(tmp_path / "graph.db", isolation_level=None)
    lock.execute("BEGIN IMMEDIATE")  # another writer holds the database: the commit waits
    with grpc.insecure_channel(address) as channel:
        export = channel.unary_unary(f"/{SERVICE_NAME}/Export")
        with pytest.raises(grpc.RpcError) as first:
            export(payload, timeout=WAIT)
        assert first.value.code() == grpc.StatusCode.UNAVAILABLE  # type: ignore[attr-defined]
        lock.execute("COMMIT")
        lock.close()
        wait_until(lambda: calls() == {("frontend", "backend"): 1}, "the first attempt to be committed")
        pipeline.detector.clock.advance(60.0)  # type: ignore[attr-defined]  # the span index lets go of it
        pipeline.tick().result(timeout=WAIT)
        assert pipeline.detector.pending == 0

        assert export(payload, timeout=WAIT) == b""  # the exporter's retry: success
    assert calls() == {("frontend", "backend"): 1}
    assert {row.service: row.spans for row in store.services(ALL_TIME)} == {"frontend": 1, "backend": 1}
    assert pipeline.stats.resent_batches == 1
