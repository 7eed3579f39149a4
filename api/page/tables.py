"""The page's tables (orphans, teams), bounded: at most a screenful of rows each."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from api.page.neighbours import Adjacency
from api.page.teammap import UNOWNED, TeamMap
from graph.service_graph import ServiceGraph
from ownership.analysis import OwnershipAnalysis
from ownership.findings import ORPHAN_CODES

ORPHAN_ROWS = 50


@dataclass
class OrphanRow:
    """One orphan as the table shows it (dependents and suggestions only when the graph is small)."""

    service: str
    codes: list[str]
    dependents: int | None
    calls: int
    error_rate: float
    suggested_owners: list[dict[str, Any]] = field(default_factory=list)


def orphan_rows(graph: ServiceGraph, analysis: OwnershipAnalysis, team_map: TeamMap, small: bool
                ) -> tuple[list[OrphanRow], int]:
    """The riskiest orphans and how many there are.

    A small graph ranks them as the weekly report does (transitive dependents, suggestions); a
    large one by calls in, from the team map and the adjacency (no whole-graph reach or suggestions).
    """
    if small:
        every = analysis.orphans()
        return [OrphanRow(o.service, o.codes, o.dependents, o.calls, o.error_rate, o.suggested_owners)
                for o in every[:ORPHAN_ROWS]], len(every)
    unowned = team_map.teams.get(UNOWNED)
    adj = Adjacency.of(graph)
    rows = []
    for name in unowned.services if unowned else []:
        own = analysis.ownership(graph.nodes[name])
        if not ORPHAN_CODES & set(own.findings):
            continue
        callers = adj.callers.get(name, {})
        calls = sum(c for c, _ in callers.values())
        errors = sum(e for _, e in callers.values())
        rows.append(OrphanRow(name, sorted(set(own.findings)), None, calls,
                              round(errors / calls, 4) if calls else 0.0))
    rows.sort(key=lambda r: (-r.calls, -r.error_rate, r.service))
    return rows[:ORPHAN_ROWS], len(rows)


@dataclass
class TeamRow:
    """One declared team: members, services seen, findings, the teams it calls most."""

    team: str
    title: str | None
    members: int
    active: bool | None
    services: int
    findings: int
    calls_teams: list[str]


def team_rows(analysis: OwnershipAnalysis, team_map: TeamMap) -> list[TeamRow]:
    """Every declared team, from the team map (no per-team findings query)."""
    rows = []
    for team in analysis.index.teams():
        node = team_map.teams.get(team.name)
        called = sorted(((calls, b) for (a, b), (calls, _) in team_map.edges.items() if a == team.name),
                        reverse=True)[:3]
        rows.append(TeamRow(team.name, team.entity.title, len(team.members), team.active,
                            len(node.services) if node else 0, node.findings if node else 0,
                            [team_map.teams[b].label for _, b in called]))
    return rows
