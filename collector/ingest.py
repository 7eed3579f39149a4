"""What both OTLP receivers share: decode a payload, hand it to the pipeline, wait for durability."""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from concurrent.futures import TimeoutError as FutureTimeout
from dataclasses import dataclass, field

from collector.pipeline import IngestPipeline
from collector.span_times import SpanTimeRange
from graph.model import DecodeResult

# How long a receiver waits for the group commit before telling the client to retry.
COMMIT_TIMEOUT_SECONDS = 30.0


class CommitTimeoutError(Exception):
    """The batch was queued but not committed in time; the client should retry."""


@dataclass
class ReceiverStats:
    """Counters exposed as metrics, per transport."""

    requests: dict[str, int] = field(default_factory=dict)
    spans_received: int = 0
    spans_rejected: int = 0
    requests_rejected: int = 0

    def count(self, transport: str) -> None:
        """One request received over `transport`."""
        self.requests[transport] = self.requests.get(transport, 0) + 1


class Receiver:
    """Decode → submit → wait; shared by OTLP/gRPC, OTLP/HTTP and the Zipkin endpoint."""

    def __init__(
        self,
        pipeline: IngestPipeline,
        owner_keys: Sequence[str] = (),
        span_times: SpanTimeRange | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        """`span_times`, when given, rejects spans outside it (Unix time from `clock`) on every door."""
        self.pipeline = pipeline
        self.owner_keys = tuple(owner_keys)
        self.span_times = span_times
        self.clock = clock
        self.stats = ReceiverStats()

    def accept(self, transport: str, decode: Callable[[], DecodeResult], size: int = 0) -> DecodeResult:
        """Decode and commit one request of `size` bytes. Raises DecodeError, OverloadedError,
        NotRunningError or CommitTimeoutError; returns the decode result (with any rejected spans;
        its `spans` list is emptied once they are ingested).

        The pipeline's worker runs `decode` and then the span time rule (see collector.pipeline for why)."""
        self.stats.count(transport)
        received = 0

        def decode_and_count() -> DecodeResult:
            nonlocal received
            try:
                result = decode()
            except Exception:
                self.stats.requests_rejected += 1
                raise
            if self.span_times is not None:
                self.span_times.apply(result, self.clock())
            self.stats.spans_rejected += result.rejected
            received = len(result.spans)
            return result

        future = self.pipeline.submit_payload(decode_and_count, size)
        try:
            result = future.result(timeout=COMMIT_TIMEOUT_SECONDS)
        except FutureTimeout:
            raise CommitTimeoutError("the batch was not committed in time") from None
        self.stats.spans_received += received
        return result
