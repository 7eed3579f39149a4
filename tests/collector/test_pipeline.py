"""IngestPipeline: durability before acknowledgement, group commit, failure handling, back-pressure
and shutdown, with a recording wrapper around a real SQLite store."""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import Future
from pathlib import Path

import pytest

from collector.pipeline import IngestPipeline, NotRunningError, OverloadedError
from graph.aggregate import AggregateBatch
from graph.model import MAX_NAME_LENGTH, Resource, Span, SpanKind, Window
from graph.service_graph import ServiceGraph
from graph.store.sqlite import SQLiteStore
from tests.collector.otlp_builders import wait_until

ALL_TIME = Window(0, 2**33)
T0 = 1_700_000_000_000_000_000
WAIT = 10.0


class RecordingStore(SQLiteStore):
    """Records every write (the services and edges it carried); can hold writes back or fail them."""

    def __init__(self, path: Path) -> None:
        super().__init__(path)
        self.writes: list[tuple[set[str], set[tuple[str, str, str]]]] = []
        self.gate = threading.Event()
        self.gate.set()
        self.writing = threading.Event()
        self.fail_next = 0
        self.watch: list[Future[None]] = []
        self.done_during_write: list[bool] = []

    def write(self, batch: AggregateBatch) -> None:
        self.done_during_write.extend(f.done() for f in self.watch)
        self.writing.set()
        if not self.gate.wait(timeout=20):
            raise TimeoutError("test gate was never opened")
        if self.fail_next:
            self.fail_next -= 1
            raise OSError("disk full")
        super().write(batch)
        self.writes.append(({key[1] for key in batch.services}, {key[1:4] for key in batch.edges}))

    def calls(self) -> dict[tuple[str, str, str], int]:
        graph = ServiceGraph.from_store(self, ALL_TIME)
        return {(e.source, e.target, e.connection_type): e.calls for e in graph.edges}

    def service_names(self) -> set[str]:
        return {row.service for row in self.services(ALL_TIME)}


@pytest.fixture
def store(tmp_path: Path) -> Iterator[RecordingStore]:
    s = RecordingStore(tmp_path / "graph.db")
    yield s
    s.gate.set()
    s.close()


@pytest.fixture
def make_pipeline(store: RecordingStore) -> Iterator[Callable[..., IngestPipeline]]:
    pipelines: list[IngestPipeline] = []

    def make(**kwargs: object) -> IngestPipeline:
        kwargs.setdefault("ttl", 300.0)
        kwargs.setdefault("tick_seconds", 0.05)
        pipeline = IngestPipeline(store, **kwargs)  # type: ignore[arg-type]
        pipeline.start()
        pipelines.append(pipeline)
        return pipeline

    yield make
    store.gate.set()
    for pipeline in pipelines:
        pipeline.stop(timeout=WAIT)


_ids = iter(range(1, 1_000_000))


def entry_span(service: str, start: int = T0) -> list[Span]:
    """A root SERVER span: one entry call user → service."""
    n = next(_ids)
    return [Span(n.to_bytes(16, "big"), n.to_bytes(8, "big"), b"", Resource(service), SpanKind.SERVER,
                 start, start + 1_000_000)]


def client_span(service: str, peer: str) -> list[Span]:
    """A CLIENT span that never gets a child: a virtual call service → peer, on expiry."""
    n = next(_ids)
    return [Span(n.to_bytes(16, "big"), n.to_bytes(8, "big"), b"", Resource(service), SpanKind.CLIENT,
                 T0, T0 + 2_000_000, attrs={"peer.service": peer})]


# --------------------------------------------------------------------------- durability


def test_future_completes_only_after_the_store_write(
    store: RecordingStore, make_pipeline: Callable[..., IngestPipeline]
) -> None:
    pipeline = make_pipeline()
    store.gate.clear()
    future = pipeline.submit(entry_span("checkout"))
    store.watch.append(future)
    wait_until(store.writing.is_set, "the write to start")
    time.sleep(0.05)
    assert not future.done()  # the worker is inside the write: not acknowledged yet
    assert store.writes == []
    store.gate.set()
    assert future.result(timeout=WAIT) is None
    assert store.done_during_write == [False]
    assert store.writes == [({"checkout"}, {("user", "checkout", "entry")})]
    assert store.service_names() == {"checkout"}
    assert store.calls() == {("user", "checkout", "entry"): 1}


def test_queued_batches_are_written_in_one_transaction(
    store: RecordingStore, make_pipeline: Callable[..., IngestPipeline]
) -> None:
    pipeline = make_pipeline()
    store.gate.clear()
    first = pipeline.submit(entry_span("s0"))
    wait_until(store.writing.is_set, "the first write to start")
    queued = [pipeline.submit(entry_span(f"s{i}")) for i in range(1, 9)]
    wait_until(lambda: pipeline.queue_depth == 8, "eight queued batches")
    store.gate.set()
    for future in (first, *queued):
        future.result(timeout=WAIT)
    assert len(store.writes) == 2  # group commit: one write for the eight queued batches
    assert store.writes[0][0] == {"s0"}
    assert store.writes[1][0] == {f"s{i}" for i in range(1, 9)}
    assert pipeline.stats.batches == 9
    assert pipeline.stats.flushes == 2
    assert store.service_names() == {f"s{i}" for i in range(9)}


def test_failed_write_fails_the_futures_and_keeps_the_aggregates(
    store: RecordingStore, make_pipeline: Callable[..., IngestPipeline]
) -> None:
    pipeline = make_pipeline(tick_seconds=60.0)  # no idle retry between the two submits
    store.fail_next = 1
    failed = pipeline.submit(entry_span("lost?"))
    with pytest.raises(OSError, match="disk full"):
        failed.result(timeout=WAIT)
    assert pipeline.stats.flush_failures == 1
    assert store.service_names() == set()
    later = pipeline.submit(entry_span("later"))
    assert later.result(timeout=WAIT) is None
    # The next flush wrote both: nothing was lost.
    assert store.service_names() == {"lost?", "later"}
    assert store.calls() == {("user", "lost?", "entry"): 1, ("user", "later", "entry"): 1}


def test_failed_aggregates_are_merged_with_new_ones_for_the_same_key(
    store: RecordingStore, make_pipeline: Callable[..., IngestPipeline]
) -> None:
    pipeline = make_pipeline(tick_seconds=60.0)  # no idle retry between the submits
    store.fail_next = 2
    for _ in range(2):
        with pytest.raises(OSError):
            pipeline.submit(entry_span("same")).result(timeout=WAIT)
    pipeline.submit(entry_span("same")).result(timeout=WAIT)
    assert store.calls() == {("user", "same", "entry"): 3}
    (row,) = store.services(ALL_TIME)
    assert row.spans == 3


def test_failed_batch_is_written_by_the_idle_tick_without_new_traffic(
    store: RecordingStore, make_pipeline: Callable[..., IngestPipeline]
) -> None:
    pipeline = make_pipeline()
    store.fail_next = 1
    with pytest.raises(OSError):
        pipeline.submit(entry_span("retried")).result(timeout=WAIT)
    wait_until(lambda: store.service_names() == {"retried"}, "the retried flush")


# --------------------------------------------------------------------------- back-pressure


def test_full_queue_raises_overloaded(store: RecordingStore, make_pipeline: Callable[..., IngestPipeline]) -> None:
    pipeline = make_pipeline(queue_batches=1)
    store.gate.clear()
    first = pipeline.submit(entry_span("a"))
    wait_until(store.writing.is_set, "the worker to block in the store")
    second = pipeline.submit(entry_span("b"))
    with pytest.raises(OverloadedError):
        pipeline.submit(entry_span("refused"))
    with pytest.raises(OverloadedError):
        pipeline.submit(entry_span("refused"))
    assert pipeline.stats.overloaded == 2
    store.gate.set()
    first.result(timeout=WAIT)
    second.result(timeout=WAIT)
    assert store.service_names() == {"a", "b"}
    pipeline.submit(entry_span("c")).result(timeout=WAIT)  # room again


# --------------------------------------------------------------------------- shutdown


def test_stop_expires_pending_spans_into_edges_and_flushes(
    store: RecordingStore, make_pipeline: Callable[..., IngestPipeline]
) -> None:
    pipeline = make_pipeline(ttl=300.0)
    pipeline.submit(client_span("orders", "payments-api")).result(timeout=WAIT)
    assert store.service_names() == {"orders"}
    assert store.calls() == {}  # the client span still waits for a child
    assert pipeline.detector.pending == 1
    pipeline.stop(timeout=WAIT)
    assert store.calls() == {("orders", "payments-api", "virtual"): 1}
    with pytest.raises(NotRunningError):
        pipeline.submit(entry_span("too-late"))


def test_stop_drains_what_is_queued(store: RecordingStore, make_pipeline: Callable[..., IngestPipeline]) -> None:
    pipeline = make_pipeline()
    futures = [pipeline.submit(entry_span(f"q{i}")) for i in range(5)]
    pipeline.stop(timeout=WAIT)
    assert all(f.done() and f.exception() is None for f in futures)
    assert store.service_names() == {f"q{i}" for i in range(5)}


def test_submit_before_start_and_stop_twice(store: RecordingStore) -> None:
    pipeline = IngestPipeline(store)
    with pytest.raises(NotRunningError):
        pipeline.submit(entry_span("never"))
    pipeline.stop()  # never started: nothing to do
    pipeline.start()
    pipeline.stop(timeout=WAIT)
    pipeline.stop(timeout=WAIT)
    with pytest.raises(NotRunningError):
        pipeline.submit(entry_span("never"))


def test_tick_expires_with_a_fake_clock(store: RecordingStore, make_pipeline: Callable[..., IngestPipeline]) -> None:
    now = [1000.0]
    pipeline = make_pipeline(ttl=5.0, clock=lambda: now[0], tick_seconds=60.0)
    pipeline.submit(client_span("web", "search")).result(timeout=WAIT)
    pipeline.tick().result(timeout=WAIT)
    assert store.calls() == {}
    now[0] += 6
    pipeline.tick().result(timeout=WAIT)
    assert store.calls() == {("web", "search", "virtual"): 1}


def test_many_concurrent_submitters_lose_nothing(
    store: RecordingStore, make_pipeline: Callable[..., IngestPipeline]
) -> None:
    pipeline = make_pipeline(queue_batches=1024)
    futures: list[Future[None]] = []
    lock = threading.Lock()

    def submitter() -> None:
        for _ in range(50):
            future = pipeline.submit(entry_span("busy"))
            with lock:
                futures.append(future)

    threads = [threading.Thread(target=submitter) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(WAIT)
    for f in futures:
        f.result(timeout=WAIT)
    assert store.calls() == {("user", "busy", "entry"): 400}
    assert len(store.writes) < 400  # batched


# --------------------------------------------------------------------------- known bugs


def test_time_beyond_int64_does_not_poison_the_pipeline(
    store: RecordingStore, make_pipeline: Callable[..., IngestPipeline]
) -> None:
    pipeline = make_pipeline()
    poisoned = pipeline.submit(entry_span("evil", start=2**64 - 10_000_000))
    with contextlib.suppress(Exception):  # rejecting the bad span is fine; poisoning the rest is not
        poisoned.result(timeout=WAIT)
    pipeline.submit(entry_span("innocent")).result(timeout=WAIT)
    assert "innocent" in store.service_names()


def test_virtual_node_names_from_span_attributes_are_capped(store: RecordingStore) -> None:
    pipeline = IngestPipeline(store, ttl=300.0)
    pipeline.ingest(client_span("orders", "p" * 10_000))
    pipeline.finish()
    (edge,) = store.calls()
    assert len(edge[1]) <= MAX_NAME_LENGTH


def test_unencodable_rows_are_dropped_and_counted_not_retried_forever(
    store: RecordingStore, make_pipeline: Callable[..., IngestPipeline]
) -> None:
    pipeline = make_pipeline()
    # Straight into the pipeline (the decoder would reject it): a lone surrogate cannot be UTF-8 encoded.
    mixed = pipeline.submit([*entry_span("bad\ud800name"), *entry_span("kept")])
    assert mixed.result(timeout=WAIT) is None  # the good call of the same batch is kept
    later = pipeline.submit(entry_span("later"))
    assert later.result(timeout=WAIT) is None
    assert store.service_names() == {"kept", "later"}
    assert store.calls() == {("user", "kept", "entry"): 1, ("user", "later", "entry"): 1}
    # Dropped: the service row, the edge user → bad name, and its resource hints.
    assert pipeline.stats.unstorable_rows == 3
    assert pipeline.stats.flush_failures == 0


def test_a_transient_failure_keeps_a_batch_with_unstorable_rows_for_the_retry(
    store: RecordingStore, make_pipeline: Callable[..., IngestPipeline]
) -> None:
    pipeline = make_pipeline(tick_seconds=60.0)
    store.fail_next = 2  # the first write and the write without the bad rows both fail
    with pytest.raises(OSError):
        pipeline.submit([*entry_span("bad\udfffname"), *entry_span("kept")]).result(timeout=WAIT)
    pipeline.submit(entry_span("later")).result(timeout=WAIT)
    assert store.calls() == {("user", "kept", "entry"): 1, ("user", "later", "entry"): 1}


def test_a_resend_after_a_failed_write_and_the_ttl_counts_once(
    store: RecordingStore, make_pipeline: Callable[..., IngestPipeline]
) -> None:
    now = [1000.0]
    pipeline = make_pipeline(ttl=5.0, clock=lambda: now[0], tick_seconds=60.0)
    batch = entry_span("stalled")
    store.fail_next = 1
    with pytest.raises(OSError):
        pipeline.submit(batch).result(timeout=WAIT)  # the exporter sees an error and will resend
    now[0] += 30  # past the TTL: the span index has let go of the first attempt
    pipeline.tick().result(timeout=WAIT)  # the kept aggregates are written
    assert pipeline.detector.pending == 0
    assert pipeline.submit(list(batch)).result(timeout=WAIT) is None  # the resend is answered
    assert store.calls() == {("user", "stalled", "entry"): 1}
    (row,) = store.services(ALL_TIME)
    assert row.spans == 1
