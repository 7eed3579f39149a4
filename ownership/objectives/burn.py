"""Burn rates over the last 5 m, 30 m, 1 h and 6 h, and fast/slow burn (DESIGN §3a)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from ownership.objectives.indicator import Events, total_events

BURN_WINDOWS: dict[str, int] = {"5m": 300, "30m": 1800, "1h": 3600, "6h": 21600}
FAST_BURN = 14.4  # 1 h and 5 m
SLOW_BURN = 6.0  # 6 h and 30 m


@dataclass(frozen=True, slots=True)
class Burn:
    """Burn rate per window (None when a window has no events) and whether it burns now."""

    rates: dict[str, float | None]
    fast: bool
    slow: bool

    @property
    def burning(self) -> bool:
        """Fast or slow burn."""
        return self.fast or self.slow


def window_events(buckets: Sequence[tuple[int, int, Events]], end: float) -> dict[str, Events]:
    """Per burn window, the events of the buckets (start, length, events) that overlap its last
    seconds before end (one pass over the buckets)."""
    since = {name: end - seconds for name, seconds in BURN_WINDOWS.items()}
    earliest = min(since.values())
    found: dict[str, list[Events]] = {name: [] for name in since}
    for start, length, e in buckets:
        if start < end and start + length > earliest:
            for name, first in since.items():
                if start + length > first:
                    found[name].append(e)
    return {name: total_events(items) for name, items in found.items()}


def burn(buckets: Sequence[tuple[int, int, Events]], end: float, target: float, min_calls: int) -> Burn:
    """Burn rate = (bad/total in w) / (1 - target) for each window; fast burn needs 1 h and 5 m both
    ≥ 14.4, slow burn 6 h and 30 m both ≥ 6, each with ≥ min_calls events in its shorter window."""
    events = window_events(buckets, end)
    rates = {name: (e.bad / e.total) / (1.0 - target) if e.total else None for name, e in events.items()}

    def both(long: str, short: str, level: float) -> bool:
        a, b = rates[long], rates[short]
        return a is not None and b is not None and a >= level and b >= level and events[short].total >= min_calls

    return Burn(rates, both("1h", "5m", FAST_BURN), both("6h", "30m", SLOW_BURN))
