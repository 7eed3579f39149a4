"""The web page: the service map coloured by ownership, orphans, teams and a detail panel.

Server-rendered (Jinja2); every link and filter works without JavaScript. Large graphs start
from the orphans and their neighbours and grow with "expand" links.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse
from fastapi.templating import Jinja2Templates
from markupsafe import Markup

from api.deps import Analysis, Graph, Params
from api.views import graph_edges, graph_nodes, node_detail, reach_view
from reports.render.svg import STATUS_COLOURS, STATUS_LABELS, render_svg

router = APIRouter(include_in_schema=False)
templates = Jinja2Templates(directory=str(Path(__file__).resolve().parent.parent / "templates"))
LARGE_GRAPH = 80
WINDOWS = ("15m", "1h", "24h", "7d", "30d")


def _visible(graph: Any, analysis: Any, view: str, team: str | None, expand: list[str]) -> tuple[set[str], str]:
    """Which nodes to draw, and a sentence saying why."""
    everything = set(graph.nodes)
    if team:
        owned = {n for n in everything if (analysis.of(n).owner or "").lower() == team.lower()}
        shown = graph.neighbourhood(owned, 1) | graph.neighbourhood(set(expand), 1)
        return shown, f"services of {team} and their neighbours"
    if view == "all" or (view == "auto" and len(everything) <= LARGE_GRAPH):
        return everything, "all services"
    orphans = {o.service for o in analysis.orphans()}
    shown = graph.neighbourhood(orphans, 1) | graph.neighbourhood(set(expand), 1)
    why = "orphans and their neighbours"
    if view == "auto":
        why += f" (the graph has {len(everything)} nodes; choose 'all' to draw everything)"
    return shown, why


@router.get("/", response_class=HTMLResponse)
def index(
    request: Request,
    graph: Graph,
    analysis: Analysis,
    params: Params,
    view: Annotated[str, Query(pattern="^(auto|all|orphans)$")] = "auto",
    team: Annotated[str | None, Query(max_length=256)] = None,
    node: Annotated[str | None, Query(max_length=1024)] = None,
    expand: Annotated[list[str] | None, Query(max_length=1024)] = None,
) -> HTMLResponse:
    """The page."""
    query = {k: v for k, v in request.query_params.multi_items() if k != "node"}
    window = request.query_params.get("window") or "7d"
    expand = [e for e in (expand or []) if e in graph.nodes][:50]

    def link(name: str) -> str:
        return "?" + urlencode([*query.items(), ("node", name)])

    def expand_link(name: str) -> str:
        return "?" + urlencode([*request.query_params.multi_items(), ("expand", name)])

    shown, why = _visible(graph, analysis, view, team, expand)
    nodes = [n for n in graph_nodes(graph, analysis) if n["id"] in shown]
    edges = [e for e in graph_edges(graph) if e["source"] in shown and e["target"] in shown]
    svg = render_svg(nodes, edges, graph.layout(shown), highlight={node} if node else None,
                     title="service map", link=link) if nodes else ""
    detail = None
    if node and node in graph.nodes:
        detail = node_detail(graph, analysis, node)
        detail["dependents_view"] = reach_view(graph.topology, lambda n, _: analysis.of(n).owner, node, "dependents",
                                               None, graph.window)
        detail["finding_details"] = [f.to_dict() for f in analysis.findings() if f.service == node]
        detail["expand_link"] = expand_link(node)
    context = {
        "request": request,
        "svg": Markup(svg),  # noqa: S704 - produced by the autoescaping map template
        "shown": len(nodes),
        "total": len(graph.nodes),
        "why": why,
        "window": window,
        "windows": WINDOWS,
        "env": params.env or "",
        "team": team or "",
        "view": view,
        "teams": [t.name for t in analysis.index.teams()],
        "orphans": analysis.orphans(),
        "team_views": analysis.teams(),
        "detail": detail,
        "node": node,
        "missing_node": bool(node and node not in graph.nodes),
        "colours": STATUS_COLOURS,
        "labels": STATUS_LABELS,
        "link": link,
        "window_label": graph.window.as_dict(),
    }
    return templates.TemplateResponse(request, "index.html", context)
