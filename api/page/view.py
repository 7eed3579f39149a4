"""Which map a request gets: the team map, a focus, a team, the orphans or everything (DESIGN §4a)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from api.page.drawing import draw_services, draw_teams
from api.page.neighbours import Adjacency, Selection, select
from api.page.teammap import UNOWNED, TeamMap
from graph.service_graph import ServiceGraph
from ownership.analysis import OwnershipAnalysis


@dataclass
class MapView:
    """A drawn map and the sentence that says what it shows."""

    kind: str  # "teams", "focus", "team", "orphans", "all"
    svg: str
    shown: int  # real nodes (or teams) drawn, stubs not counted
    folded: int  # nodes left out of the drawing, folded into "+k more" boxes
    why: str


@dataclass
class Links:
    """How the view links to other views (each keeps the window parameters)."""

    node: Callable[[str], str]
    team: Callable[[str], str]
    orphans: str


def _by_calls(adj: Adjacency, names: list[str]) -> list[str]:
    """Busiest first (calls in and out), names breaking ties."""
    return sorted(names, key=lambda n: (-sum(adj.neighbours(n).values()), n))


def _services(graph: ServiceGraph, analysis: OwnershipAnalysis, adj: Adjacency, chosen: Selection, links: Links,
              highlight: str | None, kind: str, why: str) -> MapView:
    svg = draw_services(graph, analysis, adj, chosen, links.node, highlight, f"service map: {why}")
    folded = chosen.reached - len(chosen.nodes)
    if folded:
        why += f" ({len(chosen.nodes)} of {chosen.reached} drawn; the least called are folded into '+k more' boxes)"
    return MapView(kind, svg, len(chosen.nodes), folded, why)


def focus_view(graph: ServiceGraph, analysis: OwnershipAnalysis, name: str, hops: int, cap: int,
               links: Links) -> MapView:
    """`name` and its `hops`-neighbourhood, the least called folded beyond `cap`."""
    adj = Adjacency.of(graph)
    chosen = select(adj, [name], hops, cap)
    return _services(graph, analysis, adj, chosen, links, name, "focus",
                     f"{name} and everything within {hops} hop{'s' if hops > 1 else ''}")


def team_services(graph: ServiceGraph, analysis: OwnershipAnalysis, team: str) -> list[str]:
    """Nodes whose owner is `team` (any case, any owner status)."""
    wanted = team.casefold()
    return [n for n, node in graph.nodes.items() if (analysis.ownership(node).owner or "").casefold() == wanted]


def team_view(graph: ServiceGraph, analysis: OwnershipAnalysis, team: str, cap: int, links: Links) -> MapView:
    """The team's services and their direct neighbours."""
    adj = Adjacency.of(graph)
    chosen = select(adj, _by_calls(adj, team_services(graph, analysis, team)), 1, cap)
    return _services(graph, analysis, adj, chosen, links, None, "team", f"services of {team} and their neighbours")


def orphans_view(graph: ServiceGraph, team_map: TeamMap, analysis: OwnershipAnalysis, cap: int,
                 links: Links) -> MapView:
    """The orphans (busiest first) and their direct neighbours."""
    adj = Adjacency.of(graph)
    unowned = team_map.teams.get(UNOWNED)
    chosen = select(adj, _by_calls(adj, unowned.services if unowned else []), 1, cap)
    return _services(graph, analysis, adj, chosen, links, None, "orphans", "orphans and their neighbours")


def all_view(graph: ServiceGraph, analysis: OwnershipAnalysis, links: Links) -> MapView:
    """Every node (only asked for when the graph fits the cap)."""
    adj = Adjacency.of(graph)
    chosen = Selection(set(graph.nodes), [], len(graph.nodes))
    return _services(graph, analysis, adj, chosen, links, None, "all", "all services")


def teams_view(team_map: TeamMap, total: int, cap: int, links: Links) -> MapView:
    """The team map."""
    svg, drawn, edges = draw_teams(team_map, links.team, links.orphans)
    why = (f"the team map: the window has {total} nodes, more than the {cap} a service map draws; "
           "open a team, search for a service, or choose one in the tables below")
    if drawn < edges:
        why += f" (the {drawn} busiest of {edges} team-to-team edges are drawn)"
    return MapView("teams", svg, len(team_map.teams), 0, why)
