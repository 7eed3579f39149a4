"""The team map: one node per owning team plus one for the orphans, edges weighted by cross-team calls.

Built once per graph and catalog: `TeamMapCache` keeps the last few (keyed by window, env and
include_self; an entry counts only for the same graph object and the same catalog index object,
so a newer graph or a catalog reload builds a new one).
"""

from __future__ import annotations

import threading
import weakref
from dataclasses import dataclass, field
from typing import Any

from graph.model import NodeKind
from graph.service_graph import ServiceGraph
from ownership.analysis import OwnershipAnalysis

UNOWNED = "(unowned)"  # not a valid catalog name, so no team can be called that
ORPHAN_STATUSES = frozenset({"undocumented", "unowned", "owner_not_found", "owner_inactive"})


@dataclass
class TeamNode:
    """One team (or the orphans) on the map."""

    key: str
    label: str
    services: list[str] = field(default_factory=list)
    findings: int = 0
    orphans: int = 0
    calls_in: int = 0


@dataclass
class TeamMap:
    """Teams with their services and the calls between teams."""

    teams: dict[str, TeamNode]
    edges: dict[tuple[str, str], list[int]]  # (from team, to team) → [calls, errors]
    team_of: dict[str, str]  # node name → team key (nodes on no team are absent)

    def strongest_edges(self, limit: int) -> list[dict[str, Any]]:
        """The `limit` busiest cross-team edges, as map edges."""
        ranked = sorted(self.edges.items(), key=lambda kv: (-kv[1][0], kv[0]))[:limit]
        return [{"source": a, "target": b, "calls": calls, "errors": errors,
                 "title": f"{self.teams[a].label} → {self.teams[b].label}: {calls} calls, {errors} errors"}
                for (a, b), (calls, errors) in ranked]


def team_of(kind: str, owner: str | None, status: str | None) -> str | None:
    """The team a node is drawn in: its owner when owned, UNOWNED for an orphan, else none."""
    if status in ORPHAN_STATUSES:
        return UNOWNED
    if owner and (status == "ok" or (status == "virtual" and kind != NodeKind.USER)):
        return owner
    return None


def build_team_map(graph: ServiceGraph, analysis: OwnershipAnalysis) -> TeamMap:
    """The team map of a graph (one pass over its nodes and edges; no owner suggestions)."""
    titles = {t.name: (t.entity.title or t.name) for t in analysis.index.teams()}
    teams: dict[str, TeamNode] = {}
    where: dict[str, str] = {}
    for name, node in graph.nodes.items():
        own = analysis.ownership(node)
        key = team_of(node.kind, own.owner, own.owner_status)
        if key is None:
            continue
        where[name] = key
        team = teams.get(key)
        if team is None:
            team = teams[key] = TeamNode(key, "unowned services" if key == UNOWNED else titles.get(key, key))
        team.services.append(name)
        team.findings += len(own.findings)
        team.orphans += key == UNOWNED
    edges: dict[tuple[str, str], list[int]] = {}
    for edge in graph.edges:
        a, b = where.get(edge.source), where.get(edge.target)
        if a is None or b is None:
            continue
        if a == b:
            continue
        pair = edges.setdefault((a, b), [0, 0])
        pair[0] += edge.calls
        pair[1] += edge.errors
        teams[b].calls_in += edge.calls
    for team in teams.values():
        team.services.sort()
    return TeamMap(teams, edges, where)


class TeamMapCache:
    """The last few team maps (a handful of windows), each for one graph object and catalog index."""

    def __init__(self, size: int = 4) -> None:
        self.size = size
        self._entries: dict[tuple[Any, ...], tuple[weakref.ref[Any], weakref.ref[Any], TeamMap]] = {}
        self._lock = threading.Lock()

    def get(self, graph: ServiceGraph, analysis: OwnershipAnalysis, env: str | None) -> TeamMap:
        """The team map of this graph and catalog, built on first use."""
        key = (graph.window.start, graph.window.end, env, graph.include_self)
        with self._lock:
            hit = self._entries.get(key)
        if hit is not None and hit[0]() is graph and hit[1]() is analysis.index:
            return hit[2]
        made = build_team_map(graph, analysis)
        with self._lock:
            self._entries.pop(key, None)
            while len(self._entries) >= self.size:
                self._entries.pop(next(iter(self._entries)))
            self._entries[key] = (weakref.ref(graph), weakref.ref(analysis.index), made)
        return made
