"""The one rule for span times every door applies: not older than the retention, not far ahead.

A span older than the retention would be deleted by the next compaction, and one far in the
future sits in buckets no window shows until then (and pins `last_seen`): both are rejected
with a partial-success reason instead. A batch is checked with a min/max pass first; spans are
looked at one by one only when the batch has an outlier.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from operator import attrgetter

from graph.model import DecodeResult, Span

_START = attrgetter("start_ns")
_END = attrgetter("end_ns")
_NS = 1_000_000_000


@dataclass(frozen=True, slots=True)
class SpanTimeRange:
    """Accept spans that start at most `max_age_days` ago and end at most `max_ahead_seconds` from now."""

    max_age_days: float
    max_ahead_seconds: float

    def bounds(self, now: float) -> tuple[int, int]:
        """The oldest accepted start and the latest accepted end, in Unix nanoseconds."""
        return int((now - self.max_age_days * 86_400) * _NS), int((now + self.max_ahead_seconds) * _NS)

    def apply(self, result: DecodeResult, now: float) -> None:
        """Reject the spans of `result` outside the range around `now` (Unix seconds)."""
        spans = result.spans
        if not spans:
            return
        oldest, latest = self.bounds(now)
        starts = list(map(_START, spans))
        if min(starts) >= oldest and max(starts) <= latest and max(map(_END, spans)) <= latest:
            return
        kept: list[Span] = []
        for span in spans:
            reason = self._reason(span, oldest, latest)
            if reason is None:
                kept.append(span)
            else:
                result.reject(f"span {span.span_id.hex()}: {reason}")
        result.spans = kept

    def _reason(self, span: Span, oldest: int, latest: int) -> str | None:
        if span.start_ns < oldest:
            return (f"start {_iso(span.start_ns)} is more than {self.max_age_days:g} days ago, past the "
                    "retention (compaction would delete it; see max_span_age_days and retention_days)")
        if max(span.start_ns, span.end_ns) > latest:
            late = max(span.start_ns, span.end_ns)
            return (f"time {_iso(late)} is more than {self.max_ahead_seconds:g} s in the future "
                    "(check the sender's clock; see max_span_future_seconds)")
        return None


def _iso(ns: int) -> str:
    """A Unix-nanosecond time as ISO 8601 (or the raw number when out of datetime's range)."""
    try:
        return datetime.fromtimestamp(ns / _NS, UTC).isoformat(timespec="seconds").replace("+00:00", "Z")
    except (OverflowError, OSError, ValueError):
        return f"{ns} ns"
