"""The ingest pipeline: one worker thread owns the call detector and the aggregator.

Receivers hand payloads (with their decoder) or decoded batches over through a bounded
queue and wait for their future. The worker takes every batch that is waiting, decodes it,
runs the edge rules, expires the span index, writes the aggregates in one transaction
(group commit) and only then completes the futures: a successful Export reply means its
calls and sightings are durable.

Decoding on the worker rather than in the receivers' threads is deliberate: all of it runs
under one GIL anyway, and span records used by the thread (and core) that just created them
are far cheaper than records handed across threads (bench/ingest.py: about 15% of the CPU
time of ingest went to that hand-over and to threads contending for the GIL).
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections.abc import Callable, Iterable
from concurrent.futures import Future
from dataclasses import dataclass
from typing import Any

from collector.addresses import AddressBook, AddressSync
from collector.calls import CallDetector
from collector.resends import RecentBatches, batch_digest
from graph.aggregate import (
    DEFAULT_MAX_EDGES,
    DEFAULT_MAX_ENVIRONMENTS,
    DEFAULT_MAX_SERVICES,
    AggregateBatch,
    Aggregator,
)
from graph.model import USER_NODE, DecodeResult, Span
from graph.store.interface import Store
from graph.totals import EdgeTotals

log = logging.getLogger(__name__)

_STOP = object()
_TICK: list[Span] = []


class OverloadedError(Exception):
    """The ingest queue is full: the client should retry later."""


class NotRunningError(Exception):
    """The pipeline is stopping or stopped."""


@dataclass
class PipelineStats:
    """Counters exposed as metrics."""

    batches: int = 0
    resent_batches: int = 0
    overloaded: int = 0
    flushes: int = 0
    flush_failures: int = 0
    unstorable_rows: int = 0
    flush_seconds_total: float = 0.0
    last_flush_seconds: float = 0.0


class IngestPipeline:
    """Span batches in, durable aggregates out."""

    def __init__(
        self,
        store: Store,
        *,
        ttl: float = 5.0,
        max_pending: int = 200_000,
        clock: Callable[[], float] = time.monotonic,
        queue_batches: int = 64,
        max_queued_spans: int = 100_000,
        max_queued_bytes: int | None = None,
        max_services: int = DEFAULT_MAX_SERVICES,
        max_edges: int = DEFAULT_MAX_EDGES,
        max_environments: int = DEFAULT_MAX_ENVIRONMENTS,
        database_at_once: bool = False,
        tick_seconds: float = 0.5,
        entry_node: str = USER_NODE,
        messaging_ttl: float | None = None,
        address_memory_seconds: float = 7 * 86_400.0,
    ) -> None:
        self.store = store
        self.aggregator = Aggregator(store.bucket_seconds, max_services=max_services, max_edges=max_edges,
                                     max_environments=max_environments)
        self.detector = CallDetector(
            self.aggregator, ttl=ttl, max_pending=max_pending, clock=clock, database_at_once=database_at_once,
            entry_node=entry_node, messaging_ttl=messaging_ttl,
            addresses=AddressBook(address_memory_seconds),
        )
        self.addresses = AddressSync(self.detector.addresses)  # rule 9: learned addresses to and from the store
        self.stats = PipelineStats()
        self.recent = RecentBatches(clock)  # batches taken by the worker, to recognise resends
        self.totals = EdgeTotals()
        self.tick_seconds = tick_seconds
        self._queue: queue.Queue[object] = queue.Queue(maxsize=queue_batches)
        # Memory bound: decoded spans and payloads waiting for the worker, whatever the batch sizes.
        self.max_queued_spans = max_queued_spans
        # Payloads wait undecoded: by default as many bytes as the spans allowed to wait would take
        # in memory once decoded (about 512 bytes each), so `max_queued_spans` bounds both.
        self.max_queued_bytes = max_queued_spans * 512 if max_queued_bytes is None else max_queued_bytes
        self._queued_spans = 0
        self._queued_bytes = 0
        self._queued_lock = threading.Lock()
        self._thread: threading.Thread | None = None
        self._accepting = False

    # ------------------------------------------------------------------ threaded use (serve)

    def start(self, thread_setup: Callable[[], None] | None = None) -> None:
        """Start the worker thread; `thread_setup` runs first on it (to lower its CPU priority, say)."""
        self._accepting = True

        def work() -> None:
            if thread_setup is not None:
                thread_setup()
            self._run()

        self._thread = threading.Thread(target=work, name="ownermap-ingest", daemon=True)
        self._thread.start()

    def submit(self, spans: list[Span]) -> Future[None]:
        """Queue a decoded batch; the future completes once its results are committed.

        Raises OverloadedError when the queue is full and NotRunningError while stopping.
        """
        future: Future[None] = Future()
        self._put(spans, future, len(spans), 0)
        return future

    def submit_payload(self, decode: Callable[[], DecodeResult], size: int) -> Future[DecodeResult]:
        """Queue a payload of `size` bytes for the worker to decode (with `decode`) and ingest.

        The future's result is the DecodeResult, once committed (its `spans` emptied: the span
        index has them); or the decoder's exception.
        Raises OverloadedError when the queue is full and NotRunningError while stopping.
        """
        future: Future[DecodeResult] = Future()
        self._put(decode, future, 0, size)
        return future

    def _put(self, work: object, future: Future[Any], spans: int, size: int) -> None:
        if not self._accepting:
            raise NotRunningError("ownermap is shutting down")
        with self._queued_lock:
            if ((self._queued_spans and self._queued_spans + spans > self.max_queued_spans)
                    or (self._queued_bytes and self._queued_bytes + size > self.max_queued_bytes)):
                self.stats.overloaded += 1
                raise OverloadedError("ingest queue is full")
            try:
                self._queue.put_nowait((work, future, spans, size))
            except queue.Full:
                self.stats.overloaded += 1
                raise OverloadedError("ingest queue is full") from None
            self._queued_spans += spans
            self._queued_bytes += size

    def tick(self) -> Future[None]:
        """Ask the worker to expire the span index and flush now (tests, with a fake clock)."""
        future: Future[None] = Future()
        self._queue.put((_TICK, future, 0, 0))
        return future

    @property
    def queue_depth(self) -> int:
        """Batches waiting for the worker."""
        return self._queue.qsize()

    def stop(self, timeout: float = 30.0) -> None:
        """Stop accepting, drain what is queued, expire everything pending and flush."""
        self._accepting = False
        if self._thread is None:
            return
        self._queue.put(_STOP)
        self._thread.join(timeout)
        self._thread = None

    def _take(self) -> tuple[list[tuple[object, Future[Any], int, int]], bool]:
        """Everything waiting (at most 256 items, after waiting up to a tick for the first), and
        whether the stop marker was among it."""
        try:
            item = self._queue.get(timeout=self.tick_seconds)
        except queue.Empty:
            return [], False
        work: list[tuple[object, Future[Any], int, int]] = []
        stopping = False
        while item is not None:
            if item is _STOP:
                stopping = True
            else:
                work.append(item)  # type: ignore[arg-type]
            if len(work) >= 256:
                break
            try:
                item = self._queue.get_nowait()
            except queue.Empty:
                item = None
        return work, stopping

    def _run(self) -> None:
        stopping = False
        while not stopping:
            work, stopping = self._take()
            with self._queued_lock:
                self._queued_spans -= sum(spans for _, _, spans, _ in work)
                self._queued_bytes -= sum(size for _, _, _, size in work)
            done: list[tuple[Future[Any], DecodeResult | None]] = []
            for batch, future, _, _ in work:
                if not future.set_running_or_notify_cancel():
                    continue
                decoded: DecodeResult | None = None
                if callable(batch):  # a payload with its decoder
                    try:
                        decoded = batch()
                    except Exception as exc:  # undecodable: the receiver answers with the error
                        future.set_exception(exc)
                        continue
                    spans = decoded.spans
                else:
                    spans = batch  # type: ignore[assignment]
                done.append((future, decoded))
                if spans:
                    if self.recent.seen(batch_digest(spans)):
                        # A resend of a batch taken before (its reply was lost, late or an error): what
                        # it holds is committed, or kept for the next commit. Answered, not counted again.
                        self.stats.resent_batches += 1
                        self.detector.stats.duplicates += len(spans)
                    else:
                        self.stats.batches += 1
                        self.detector.add(spans)
                if decoded is not None:
                    decoded.spans.clear()  # the span index owns them now; let go of them on this thread
            del work
            if stopping:
                self.detector.expire_all()
            else:
                self.detector.expire()
            try:
                self.flush()
            except Exception as exc:
                log.exception("writing aggregates failed; they are kept for the next flush")
                for future, _ in done:
                    future.set_exception(exc)
                continue
            for future, decoded in done:
                future.set_result(decoded)

    def _write(self, batch: AggregateBatch) -> None:
        """Write a batch; when that fails and the batch holds unstorable rows, write it without them."""
        try:
            self.store.write(batch)
        except Exception:
            dropped = batch.drop_unstorable()
            if not dropped:
                raise  # nothing wrong with the data: a passing failure, the caller keeps the batch
            self.stats.unstorable_rows += dropped
            log.warning("dropped %d aggregate rows whose names cannot be stored (not UTF-8, or a NUL); "
                        "see ownermap_aggregate_rows_unstorable_total", dropped)
            if batch or batch.hints:
                self.store.write(batch)

    # ------------------------------------------------------------------ direct use (CLI ingest)

    def ingest(self, spans: Iterable[Span]) -> None:
        """Run the edge rules on a batch in the caller's thread (no flush)."""
        self.stats.batches += 1
        self.detector.add(spans)
        self.detector.expire()

    def finish(self) -> None:
        """Expire everything pending and flush (end of a file import)."""
        self.addresses.sync(self.store)  # other processes' learned addresses, before the last spans expire
        self.detector.expire_all()
        self.flush()

    def flush(self) -> None:
        """Write what the aggregator holds; on failure keep it for the next try.

        A write can fail for a passing reason (the database is locked or out of reach): then the
        batch is kept and retried at the next flush. It can also fail because of what it holds (a
        name the database cannot encode): retrying that would fail forever and hold every later
        batch back, so the offending rows are dropped (counted and logged) and the rest written.
        """
        batch = self.aggregator.drain()
        if not batch and not batch.hints:
            self.addresses.sync(self.store)
            return
        started = time.perf_counter()
        try:
            self._write(batch)
        except Exception:
            self.stats.flush_failures += 1
            self.aggregator.restore(batch)
            raise
        self.addresses.sync(self.store)  # after the aggregates: a failure here loses no call
        elapsed = time.perf_counter() - started
        self.totals.add(batch)
        self.stats.flushes += 1
        self.stats.flush_seconds_total += elapsed
        self.stats.last_flush_seconds = elapsed
