"""The Objective record: one declared SLO objective, whatever file declared it."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

Sli = Literal["availability", "latency"]
Budgeting = Literal["Occurrences", "Timeslices", "RatioTimeslices"]
BUDGETING_METHODS: tuple[str, ...] = ("Occurrences", "Timeslices", "RatioTimeslices")
DEFAULT_WINDOW = "28d"
DEFAULT_WINDOW_SECONDS = 28 * 86400


@dataclass(frozen=True, slots=True)
class Objective:
    """One objective: what share of the calls into `service` must be good over a rolling window.

    `sli` is availability (good = not failed) or latency (good = server duration within
    `threshold_ms`). `threshold_ms` is None for a latency objective ownermap cannot estimate (a
    foreign metric without `ownermap.io/threshold-ms`). `estimated` is true when the declared
    indicator reads another system's metrics and ownermap estimates it from the traces.
    """

    name: str
    service: str
    source: str  # the file that declared it
    source_format: str  # openslo, owners.yaml or backstage
    sli: Sli
    target: float  # a fraction, 0 < target < 1
    window_seconds: int = DEFAULT_WINDOW_SECONDS
    threshold_ms: float | None = None
    budgeting: Budgeting = "Occurrences"
    timeslice_target: float | None = None  # Timeslices: a slice is good when its ratio meets this
    timeslice_seconds: int | None = None  # the declared timeSliceWindow, None: the store's buckets
    estimated: bool = False
    line: int | None = None

    @property
    def key(self) -> tuple[str, str, str]:
        """What tells two objectives apart: service, name and file."""
        return (self.service.lower(), self.name, self.source)
