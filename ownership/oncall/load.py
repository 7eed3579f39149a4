"""Each team's on-call load over a window, from failing buckets, owners and who calls whom (§3b).

Pure: the caller reads the store and the catalog (`ownership.oncall.build`) and passes plain values.
"""

from __future__ import annotations

import operator
import statistics
from collections import defaultdict
from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any
from zoneinfo import ZoneInfo

from graph.model import Window
from graph.store.series import InboundBucket
from ownership.oncall.episodes import Episode, Slot, Thresholds, overlaps, slots, team_episodes
from ownership.oncall.hours import DEFAULT_WORKING_HOURS, WorkingHours, parse_working_hours
from ownership.oncall.moves import Move

OVERLOAD_MIN_EPISODES = 3
OVERLOAD_FACTOR = 2
_FIRST, _SECOND = operator.itemgetter(0), operator.itemgetter(1)


@dataclass(frozen=True, slots=True)
class TeamInfo:
    """What the catalog says about a team's on-call: members, rotation and time zone."""

    name: str
    members: int
    rotation_declared: bool
    rotation_size: int
    timezone: str = "UTC"


@dataclass(frozen=True)
class LoadInputs:
    """Everything one on-call computation reads (moves already applied to `owners`)."""

    window: Window
    teams: Sequence[TeamInfo]
    owners: Mapping[str, str | None]  # service → owning team, for every service of `buckets` and `seen`
    seen: Collection[str]  # services seen in the window
    buckets: Sequence[InboundBucket]  # calls into services per store bucket (or only failing ones), lookback included
    calls: Iterable[tuple[str, ...]] = ()  # (caller, callee, …) services in the window
    burn_events: Mapping[str, int] = field(default_factory=dict)
    thresholds: Thresholds = field(default_factory=Thresholds)
    working_hours: WorkingHours = field(default_factory=lambda: parse_working_hours(DEFAULT_WORKING_HOURS))
    totals: Sequence[InboundBucket] | None = None  # calls per service over the window (else: from `buckets`)
    callers: Mapping[str, Collection[str]] | None = None  # team → teams depending on it (else: from `calls`)


@dataclass
class TeamLoad:
    """One team's figures over the window."""

    team: str
    services: list[str]
    members: int
    rotation_declared: bool
    rotation_size: int
    calls: int
    failed: int
    episodes: list[Episode]
    off_hours_episodes: int
    burn_events: int
    depended_on_by: list[str]
    overloaded: bool = False

    @property
    def per_member(self) -> float | None:
        """Episodes per rotation member (None when the rotation is empty)."""
        return len(self.episodes) / self.rotation_size if self.rotation_size else None

    def to_dict(self) -> dict[str, Any]:
        """The JSON of one team in `GET /api/v1/oncall`."""
        per_member = self.per_member
        return {
            "team": self.team,
            "services": self.services,
            "members": self.members,
            "rotation": {"declared": self.rotation_declared, "size": self.rotation_size},
            "calls": self.calls,
            "failed": self.failed,
            "episodes": len(self.episodes),
            "off_hours_episodes": self.off_hours_episodes,
            "burn_events": self.burn_events,
            "per_member": round(per_member, 4) if per_member is not None else None,
            "depended_on_by": self.depended_on_by,
            "overloaded": self.overloaded,
        }


@dataclass
class OncallReport:
    """Every team's load over a window, and the what-if moves it assumed."""

    window: Window
    teams: list[TeamLoad]
    moves: list[Move] = field(default_factory=list)

    def team(self, name: str) -> TeamLoad | None:
        """One team's load by name."""
        return next((t for t in self.teams if t.team == name), None)

    def to_dict(self) -> dict[str, Any]:
        """The JSON of `GET /api/v1/oncall`."""
        return {
            "window": self.window.as_dict(),
            "teams": [t.to_dict() for t in self.teams],
            "moves": [m.to_dict() for m in self.moves],
        }


def team_loads(inputs: LoadInputs) -> list[TeamLoad]:
    """Every team's load, by team name, with `overloaded` decided against the others."""
    window = inputs.window
    found = slots(inputs.buckets, window.end - window.start)
    failing = [s for s in found if inputs.thresholds.failing(s.calls, s.failed)]
    episodes = team_episodes(failing, inputs.owners)
    summed = found if inputs.totals is None else [Slot(b.service, b.bucket, b.end, b.calls, b.failed)
                                                  for b in inputs.totals]
    totals = _totals(summed, inputs.owners, window)
    callers = inputs.callers if inputs.callers is not None else depended_on_by(inputs.calls, inputs.owners)
    services: dict[str, list[str]] = defaultdict(list)
    for name in sorted(inputs.seen):
        if (team := inputs.owners.get(name)) is not None:
            services[team].append(name)
    loads = []
    for info in sorted(inputs.teams, key=lambda t: t.name):
        inside = [e for e in episodes.get(info.name, []) if overlaps(e.start, e.end, window.start, window.end)]
        zone = ZoneInfo(info.timezone)
        calls, failed = totals.get(info.name, (0, 0))
        loads.append(TeamLoad(
            team=info.name, services=services.get(info.name, []), members=info.members,
            rotation_declared=info.rotation_declared, rotation_size=info.rotation_size,
            calls=calls, failed=failed, episodes=inside,
            off_hours_episodes=sum(inputs.working_hours.off_hours(e.start, zone) for e in inside),
            burn_events=int(inputs.burn_events.get(info.name, 0)),
            depended_on_by=sorted(callers.get(info.name, set())),
        ))
    mark_overloaded(loads)
    return loads


def mark_overloaded(loads: Sequence[TeamLoad]) -> None:
    """`overloaded`: at least 3 episodes and per_member more than twice the median per_member of the
    teams owning a service seen in the window (itself included)."""
    owning = [t.per_member for t in loads if t.services and t.per_member is not None]
    median = statistics.median(owning) if owning else None
    for load in loads:
        per_member = load.per_member
        load.overloaded = (
            median is not None and per_member is not None and len(load.episodes) >= OVERLOAD_MIN_EPISODES
            and per_member > OVERLOAD_FACTOR * median
        )


def depended_on_by(calls: Iterable[tuple[str, ...]], owners: Mapping[str, str | None]) -> dict[str, set[str]]:
    """For each team, the other teams whose services called its services (`calls`: (caller, callee, …))."""
    calls = calls if isinstance(calls, Sequence) else list(calls)
    owner = owners.get
    out: dict[str, set[str]] = defaultdict(set)
    # team pairs, each once, made in C (maps over the calls) rather than one Python step per call
    for a, b in set(zip(map(owner, map(_FIRST, calls)), map(owner, map(_SECOND, calls)), strict=True)):
        if a is not None and b is not None and a != b:
            out[b].add(a)
    return out


def _totals(found: Iterable[Slot], owners: Mapping[str, str | None], window: Window) -> dict[str, tuple[int, int]]:
    sums: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    for slot in found:
        team = owners.get(slot.service)
        if team is not None and overlaps(slot.start, slot.end, window.start, window.end):
            sums[team][0] += slot.calls
            sums[team][1] += slot.failed
    return {team: (calls, failed) for team, (calls, failed) in sums.items()}
