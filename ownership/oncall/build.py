"""From a window's graph, the catalog and the store's buckets to the on-call report (§3b).

The store read is the caller's (`lookback` says which window to ask `Store.inbound` for); this
module joins what was read with the catalog and applies the what-if moves.
"""

from __future__ import annotations

import threading
import weakref
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field

from graph.model import NodeKind, Window
from graph.service_graph import ServiceGraph
from graph.store.reads import WindowReads as StoreReads
from graph.store.series import InboundBucket
from ownership.catalog.model import TIMEZONE_ANNOTATION, Entity
from ownership.catalog.timezone import zone_problem
from ownership.findings.documentation import declares_oncall
from ownership.identity import CatalogIndex
from ownership.lens import CatalogLens
from ownership.oncall.dependents import Dependents
from ownership.oncall.episodes import FINE_WINDOW_LIMIT, Thresholds
from ownership.oncall.hours import DEFAULT_WORKING_HOURS, WorkingHours, parse_working_hours
from ownership.oncall.load import LoadInputs, OncallReport, TeamInfo, team_loads
from ownership.oncall.moves import Move, apply_moves, check_moves

LOOKBACK_SECONDS = 24 * 3600  # how far before the window an episode's start is looked for
_TEAM_INFO_ENTRIES = 64  # move sets kept per catalog index
_TEAM_INFOS: weakref.WeakKeyDictionary[CatalogIndex, dict[tuple[Move, ...], list[TeamInfo]]] = \
    weakref.WeakKeyDictionary()
_TEAM_INFOS_LOCK = threading.Lock()


@dataclass(frozen=True)
class OncallSettings:
    """The on-call settings: failing-bucket thresholds and working hours."""

    thresholds: Thresholds = field(default_factory=Thresholds)
    working_hours: WorkingHours = field(default_factory=lambda: parse_working_hours(DEFAULT_WORKING_HOURS))

    @classmethod
    def of(cls, min_failed: int, error_ratio: float, working_hours: str) -> OncallSettings:
        """From the settings `episode_min_failed`, `episode_error_ratio` and `working_hours`."""
        return cls(Thresholds(min_failed, error_ratio), parse_working_hours(working_hours))


def lookback(window: Window) -> Window:
    """The window to read buckets for: the asked one and the day before it (episodes under way)."""
    return Window(window.start - LOOKBACK_SECONDS, window.end)


def seen_services(graph: ServiceGraph) -> list[str]:
    """Names of the services (not virtual nodes) seen in the graph's window."""
    return sorted(name for name, node in graph.nodes.items() if node.kind == NodeKind.SERVICE)


def validate_moves(texts: Iterable[str], graph: ServiceGraph, index: CatalogIndex) -> list[Move]:
    """The moves, checked against the services seen or catalogued and the declared teams (MoveError)."""
    services = {*seen_services(graph), *(e.name for e in index.services())}

    def team_name(text: str) -> str | None:
        try:
            team = index.team(text)
        except ValueError:
            return None
        return team.name if team is not None else None

    return check_moves(texts, services, team_name)


@dataclass(frozen=True)
class OncallReads:
    """What the on-call load reads from the store besides the window's graph: the failing buckets
    (lookback included, at the window's resolution) and the calls from callers that never report."""

    failing: list[InboundBucket]
    unmatched_in: dict[str, tuple[int, int]] | None  # service → (calls, failed) over the window (rule 11)


def read_oncall(store: StoreReads, window: Window, env: str | None, settings: OncallSettings,
                episodes_only: bool = False) -> OncallReads:
    """The store's answer for one window: only failing buckets leave the database. `episodes_only`:
    without rule 11's calls (the teams' call totals are then not known: see `oncall_report`)."""
    t = settings.thresholds
    hourly = window.end - window.start > FINE_WINDOW_LIMIT
    return OncallReads(store.failing(lookback(window), env, hourly, t.min_failed, t.error_ratio),
                       None if episodes_only else store.unmatched_in(window, env))


def calls_into(graph: ServiceGraph, unmatched_in: Mapping[str, tuple[int, int]]) -> list[InboundBucket]:
    """Per service, the calls into it over the graph's window as `Store.inbound` counts them (every
    edge but self-calls, plus rule 11's), from the graph's sums: one record spanning the window. Read
    from the graph's edge table when it has one (no record per edge is made)."""
    calls: dict[str, int] = defaultdict(int)
    failed: dict[str, int] = defaultdict(int)
    for name, (c, f) in unmatched_in.items():
        calls[name] += c
        failed[name] += f
    table = graph.table
    edges = zip(table.client, table.server, table.calls, table.failed, strict=True) if table is not None \
        else graph.call_counts()
    for source, target, c, f in edges:
        if source != target:
            calls[target] += c
            failed[target] += f
    start, end = int(graph.window.start), int(graph.window.end)
    return [InboundBucket(name, start, end - start, c, failed[name], ()) for name, c in calls.items()]


def oncall_report(
    graph: ServiceGraph,
    lens: CatalogLens,
    buckets: Sequence[InboundBucket] | OncallReads,
    settings: OncallSettings,
    moves: Sequence[Move] = (),
    burn_events: Mapping[str, int] | None = None,
    episodes_only: bool = False,
    dependents: Dependents | None = None,
) -> OncallReport:
    """Every declared team's load over the graph's window, as if `moves` were made (nothing written).

    `buckets`: `read_oncall(…)`, or every bucket (`Store.inbound(lookback(graph.window))`);
    `burn_events`: team → objectives burning or breached now (§3a), 0 for teams not in it;
    `episodes_only`: what `oncall_overloaded` decides on (episodes, rotations, services), without the
    teams depending on each team (empty) and with call totals of the failing buckets only (so
    `read_oncall(…, episodes_only=True)` need not read rule 11's calls); `dependents`: how to find
    the teams depending on each team for the owners (`RememberedDependents.reader`), else from the
    graph's calls.
    """
    reads = buckets if isinstance(buckets, OncallReads) else OncallReads(list(buckets), None)
    totals = calls_into(graph, reads.unmatched_in) if reads.unmatched_in is not None and not episodes_only else None
    index = lens.index
    infos = team_infos(index, moves)
    teams = {t.name for t in infos}
    owners: dict[str, str | None] = {}
    for name in seen_services(graph):
        owner = lens.ownership(graph.nodes[name]).owner
        owners[name] = owner if owner in teams else None
    owners = apply_moves(owners, moves)
    inputs = LoadInputs(
        window=graph.window,
        teams=infos,
        owners=owners,
        seen=list(owners),
        buckets=reads.failing,
        totals=totals,
        calls=() if episodes_only or dependents is not None else graph.call_counts(),
        burn_events=burn_events or {},
        callers=dependents(owners) if dependents is not None and not episodes_only else None,
        thresholds=settings.thresholds,
        working_hours=settings.working_hours,
    )
    return OncallReport(graph.window, team_loads(inputs), list(moves))


def team_infos(index: CatalogIndex, moves: Sequence[Move] = ()) -> list[TeamInfo]:
    """Members, rotation and time zone of every declared team (one per name), after the moves:
    read from the catalog index alone (never changed once loaded), so found once per index and moves."""
    key = tuple(moves)
    with _TEAM_INFOS_LOCK:
        kept = _TEAM_INFOS.setdefault(index, {})
        found = kept.get(key)
    if found is None:
        found = _team_infos(index, key)
        with _TEAM_INFOS_LOCK:
            if len(kept) >= _TEAM_INFO_ENTRIES:
                kept.clear()
            kept[key] = found
    return list(found)


def _team_infos(index: CatalogIndex, moves: Sequence[Move]) -> list[TeamInfo]:
    owned: dict[str, list[Entity]] = {}
    for team in index.teams():
        owned.setdefault(team.name, []).extend(index.team_services(team.entity))
    for move in moves:
        match = index.match_service(move.service)
        if match is not None:
            for entities in owned.values():
                entities[:] = [e for e in entities if e is not match.entity]
            owned.setdefault(move.team, []).append(match.entity)
    out: dict[str, TeamInfo] = {}
    for team in index.teams():
        if team.name in out:
            continue
        entity = team.entity
        zone = entity.annotations.get(TIMEZONE_ANNOTATION, "UTC").strip()
        members = len(team.members)
        rotation = entity.oncall_members
        out[team.name] = TeamInfo(
            name=team.name,
            members=members,
            rotation_declared=declares_oncall(entity) or any(declares_oncall(e) for e in owned[team.name]),
            rotation_size=len(rotation) if rotation is not None else members,
            timezone="UTC" if zone_problem(zone) else zone,
        )
    return list(out.values())
