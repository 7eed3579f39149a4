"""What the call detector reports to: the sink of its calls, and its counters."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from graph.model import Call, Span


class CallSink(Protocol):
    """Receives what the detector finds (implemented by graph.aggregate.Aggregator)."""

    def sightings(self, spans: list[Span]) -> None:
        """Each of these spans was seen (one call per batch)."""

    def call(self, call: Call) -> None:
        """One call client → server (the sink may keep the record)."""

    def signal(self, span: Span, signal: str) -> None:
        """An instrumentation signal of the span's service: `unpaired`, `unmatched`, `resolved`, or
        `unmatched_in` (a SERVER span whose parent never arrived: rule 11)."""


@dataclass
class DetectorStats:
    """Counters exposed as metrics."""

    spans: int = 0
    duplicates: int = 0
    calls: int = 0
    unpaired: int = 0
    unmatched: int = 0
    expired_early: int = 0
    invalid: int = 0
    resolved: int = 0  # unpaired CLIENT spans that reached a service through a learned address (rule 9)


def remove_waiting(table: dict[bytes, list[Span]], key: bytes, span: Span) -> bool:
    """Take `span` out of the list waiting under `key` (dropping an emptied list); False if absent."""
    waiting = table.get(key)
    if not waiting:
        return False
    for i, candidate in enumerate(waiting):
        if candidate is span:
            del waiting[i]
            if not waiting:
                del table[key]
            return True
    return False
