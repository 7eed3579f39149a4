"""SpanTimeRange: spans older than the retention or too far ahead are rejected with a reason; the
Receiver applies it to every door's decode result and counts the rejections."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from collector.ingest import Receiver
from collector.pipeline import IngestPipeline
from collector.span_times import SpanTimeRange
from graph.model import DecodeResult, Resource, Span, SpanKind
from graph.store.sqlite import SQLiteStore

NOW = 1_800_000_000.0
NS = 1_000_000_000
DAY = 86_400
RANGE = SpanTimeRange(max_age_days=90, max_ahead_seconds=3600)


def span(n: int, start_s: float, end_s: float | None = None) -> Span:
    start = int(start_s * NS)
    end = int((end_s if end_s is not None else start_s + 0.01) * NS)
    return Span(bytes(15) + b"\x01", n.to_bytes(8, "big"), b"", Resource("svc"), SpanKind.SERVER, start, end)


def kept(result: DecodeResult) -> list[int]:
    return [int.from_bytes(s.span_id, "big") for s in result.spans]


def test_spans_inside_the_range_are_all_kept_untouched() -> None:
    spans = [span(1, NOW - 89 * DAY), span(2, NOW), span(3, NOW + 3500, NOW + 3599)]
    result = DecodeResult(spans=list(spans))
    RANGE.apply(result, NOW)
    assert result.spans == spans and result.rejected == 0


def test_old_and_future_spans_are_rejected_with_reasons_and_the_rest_kept() -> None:
    result = DecodeResult(spans=[
        span(1, NOW - 91 * DAY), span(2, NOW - DAY), span(3, NOW + 7200), span(4, NOW, NOW + 7200), span(5, -5.0),
    ])
    RANGE.apply(result, NOW)
    assert kept(result) == [2]
    assert result.rejected == 4
    assert result.errors[0] == (
        "span 0000000000000001: start 2026-10-16T08:00:00Z is more than 90 days ago, past the retention "
        "(compaction would delete it; see max_span_age_days and retention_days)"
    )
    assert result.errors[1] == (
        "span 0000000000000003: time 2027-01-15T10:00:00Z is more than 3600 s in the future "
        "(check the sender's clock; see max_span_future_seconds)"
    )
    assert "in the future" in result.errors[2] and "days ago" in result.errors[3]


def test_an_empty_result_is_fine() -> None:
    result = DecodeResult(spans=[])
    RANGE.apply(result, NOW)
    assert result.rejected == 0


def test_bounds_follow_the_settings() -> None:
    assert SpanTimeRange(1, 0).bounds(NOW) == (int((NOW - DAY) * NS), int(NOW * NS))


# --------------------------------------------------------------------------- the Receiver, every door


@pytest.fixture
def pipeline() -> Iterator[IngestPipeline]:
    pipe = IngestPipeline(SQLiteStore(":memory:"), ttl=5.0)
    pipe.start()
    yield pipe
    pipe.stop()


def test_receiver_applies_the_range_and_counts_rejections(pipeline: IngestPipeline) -> None:
    receiver = Receiver(pipeline, span_times=RANGE, clock=lambda: NOW)
    result = receiver.accept("http", lambda: DecodeResult(spans=[span(1, NOW), span(2, NOW - 100 * DAY)]))
    assert result.rejected == 1 and "past the retention" in result.error_message
    assert receiver.stats.spans_rejected == 1 and receiver.stats.spans_received == 1


def test_receiver_without_a_range_keeps_every_time(pipeline: IngestPipeline) -> None:
    receiver = Receiver(pipeline, clock=lambda: NOW)
    result = receiver.accept("grpc", lambda: DecodeResult(spans=[span(1, NOW - 1000 * DAY)]))
    assert result.rejected == 0 and receiver.stats.spans_received == 1
