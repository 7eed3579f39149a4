"""Failing buckets and a team's episodes: maximal runs of consecutive failing buckets (DESIGN §3b)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

from graph.store.series import InboundBucket

HOUR = 3600
FINE_WINDOW_LIMIT = 24 * HOUR  # windows up to a day use the store's 5-minute buckets, longer ones hours


@dataclass(frozen=True, slots=True)
class Thresholds:
    """When a service's bucket is failing: both limits inclusive."""

    min_failed: int = 10
    error_ratio: float = 0.05

    def failing(self, calls: int, failed: int) -> bool:
        """At least `min_failed` failed calls and a failed/calls ratio of at least `error_ratio`."""
        return calls > 0 and failed >= self.min_failed and failed / calls >= self.error_ratio


@dataclass(frozen=True, slots=True)
class Slot:
    """Calls into one service during one bucket [start, end)."""

    service: str
    start: int
    end: int
    calls: int
    failed: int


@dataclass(frozen=True, slots=True)
class Episode:
    """A run of consecutive failing buckets of one team: [start, end), the services failing in it."""

    start: int
    end: int
    services: tuple[str, ...]


def slots(buckets: Iterable[InboundBucket], window_seconds: float) -> list[Slot]:
    """The store's buckets at the window's resolution: as they are for windows up to a day, the
    5-minute buckets summed into hours for longer windows."""
    if window_seconds <= FINE_WINDOW_LIMIT:
        return [Slot(b.service, b.bucket, b.end, b.calls, b.failed) for b in buckets]
    sums: dict[tuple[str, int], list[int]] = {}
    for b in buckets:
        hour = b.bucket - b.bucket % HOUR
        entry = sums.setdefault((b.service, hour), [max(hour + HOUR, b.end), 0, 0])
        entry[0] = max(entry[0], b.end)
        entry[1] += b.calls
        entry[2] += b.failed
    return [Slot(s, h, end, calls, failed) for (s, h), (end, calls, failed) in sums.items()]


def team_episodes(
    failing: Iterable[Slot], owners: Mapping[str, str | None]
) -> dict[str, list[Episode]]:
    """Each team's episodes from the failing slots of its services (a run continues while the next
    failing bucket starts no later than the run's end), oldest first."""
    by_team: dict[str, list[Slot]] = {}
    for slot in failing:
        team = owners.get(slot.service)
        if team is not None:
            by_team.setdefault(team, []).append(slot)
    return {team: merge_runs(found) for team, found in by_team.items()}


def merge_runs(failing: Sequence[Slot]) -> list[Episode]:
    """Maximal runs of touching or overlapping slots."""
    out: list[Episode] = []
    start = end = 0
    services: set[str] = set()
    for slot in sorted(failing, key=lambda s: (s.start, s.end)):
        if services and slot.start <= end:
            end = max(end, slot.end)
            services.add(slot.service)
            continue
        if services:
            out.append(Episode(start, end, tuple(sorted(services))))
        start, end, services = slot.start, slot.end, {slot.service}
    if services:
        out.append(Episode(start, end, tuple(sorted(services))))
    return out


def overlaps(start: float, end: float, window_start: float, window_end: float) -> bool:
    """True when [start, end) and the window share a moment."""
    return end > window_start and start < window_end
