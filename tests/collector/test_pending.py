"""The span index's pending count and max_pending bound count only what is really waiting."""

from __future__ import annotations

from collector.calls import CallDetector
from graph.aggregate import Aggregator
from graph.model import Resource, Span, SpanKind

TRACE = bytes(range(16))


def _span(service: str, span_id: int, parent: int | None, kind: SpanKind) -> Span:
    return Span(TRACE, span_id.to_bytes(8, "big"), parent.to_bytes(8, "big") if parent else b"",
                Resource(service), kind, 1_700_000_000_000_000_000, 1_700_000_000_001_000_000)


def test_a_child_paired_after_waiting_no_longer_counts_as_pending() -> None:
    detector = CallDetector(Aggregator(), ttl=60, clock=lambda: 0.0)
    detector.add([_span("b", 2, 1, SpanKind.SERVER)])
    assert detector.pending == 2  # indexed itself, and waiting for its parent
    detector.add([_span("a", 1, None, SpanKind.CLIENT)])
    assert detector.pending == 2  # both indexed; nothing waits any more
    assert detector.stats.calls == 1


def test_max_pending_expires_only_live_entries_early() -> None:
    aggregator = Aggregator()
    detector = CallDetector(aggregator, ttl=60, max_pending=4, clock=lambda: 0.0)
    detector.add([_span("b", 2, 1, SpanKind.SERVER), _span("a", 1, None, SpanKind.CLIENT)])
    assert detector.stats.expired_early == 0
    detector.add([_span("c", 10 + i, None, SpanKind.INTERNAL) for i in range(3)])
    assert detector.pending == 4
    assert detector.stats.expired_early == 1  # the oldest indexed span, not the stale waiting entry
    assert detector.stats.calls == 1
