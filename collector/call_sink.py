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
