"""SVG maps of what a view selected: services (with folded stubs) or teams. Only the drawn
nodes are looked up, joined with edges and laid out."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from api.page.neighbours import Adjacency, Selection
from api.page.teammap import UNOWNED, TeamMap
from graph.service_graph import ServiceGraph, layered_layout
from ownership.analysis import OwnershipAnalysis
from reports.render.svg import render_svg

TEAM_EDGES_PER_TEAM = 2  # the team map draws about this many of the busiest edges per team


def draw_services(
    graph: ServiceGraph, analysis: OwnershipAnalysis, adj: Adjacency, selection: Selection,
    link: Callable[[str], str], highlight: str | None, title: str,
) -> str:
    """The selected services and their edges, each folded part as a "+k more" box next to its anchor."""
    nodes: list[dict[str, Any]] = []
    for name in sorted(selection.nodes):
        node = graph.nodes[name]
        own = analysis.ownership(node)
        nodes.append({"id": name, "kind": node.kind, "owner": own.owner, "owner_status": own.owner_status})
    edges = adj.edges_among(selection.nodes)
    pairs = [(str(e["source"]), str(e["target"])) for e in edges]
    for stub in selection.stubs:
        nodes.append({
            "id": stub.id, "kind": "stub", "label": f"+{stub.count} more", "sub": f"next to {stub.anchor}",
            "tooltip": f"{stub.count} more nodes next to {stub.anchor}, left out (the least called); "
                       f"open {stub.anchor} to see them",
            "aria": f"{stub.count} more next to {stub.anchor}", "href": link(stub.anchor),
        })
        pair = (stub.id, stub.anchor) if stub.upstream else (stub.anchor, stub.id)
        pairs.append(pair)
        edges.append({"source": pair[0], "target": pair[1], "calls": stub.calls, "errors": 0,
                      "title": f"{stub.count} more nodes: {stub.calls} calls"})
    positions = layered_layout([n["id"] for n in nodes], pairs)
    return render_svg(nodes, edges, positions, highlight={highlight} if highlight else None, title=title, link=link)


def draw_teams(team_map: TeamMap, team_link: Callable[[str], str], orphans_link: str) -> tuple[str, int, int]:
    """The team map; returns the SVG with the numbers of drawn and of all cross-team edges."""
    nodes = []
    for key, team in sorted(team_map.teams.items()):
        orphans = key == UNOWNED
        services = f"{len(team.services)} service{'s' if len(team.services) != 1 else ''}"
        findings = f"{team.findings} finding{'s' if team.findings != 1 else ''}"
        nodes.append({
            "id": key, "kind": "team", "label": team.label, "owner": None,
            "owner_status": "unowned" if orphans else "ok",
            "sub": f"{services} · {findings}",
            "tooltip": f"{team.label}: {services}, {findings}, {team.calls_in} calls in from other teams",
            "aria": f"{'unowned services' if orphans else 'team ' + team.label}: {services}, {findings}",
            "href": orphans_link if orphans else team_link(key),
        })
    edges = team_map.strongest_edges(TEAM_EDGES_PER_TEAM * max(1, len(nodes)))
    positions = layered_layout([n["id"] for n in nodes], [(e["source"], e["target"]) for e in edges])
    svg = render_svg(nodes, edges, positions, title="team map")
    return svg, len(edges), len(team_map.edges)
