"""The web page (DESIGN §4a): a team map, focus and team views, search, orphans and teams.

Server-rendered (Jinja2); every link, filter and the search work without JavaScript. What the
server computes for a view is bounded by what it draws; the team map is cached per window and
catalog (api/page/teammap.py).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.templating import Jinja2Templates
from markupsafe import Markup

from api.deps import ApiStateDep, GraphQueryDep, OwnershipAnalysisDep, ServiceGraphDep
from api.page.objectives import service_cards, team_cards
from api.page.oncall import team_oncall
from api.page.search import search
from api.page.tables import orphan_rows, team_rows
from api.page.teammap import TeamMapCache
from api.page.view import Links, MapView, all_view, focus_view, orphans_view, team_view, teams_view
from api.views import node_detail, reach_view
from reports.render.svg import STATUS_COLOURS, STATUS_LABELS
from reports.render.times import register as register_times

router = APIRouter(include_in_schema=False)
templates = Jinja2Templates(directory=str(Path(__file__).resolve().parent.parent / "templates"))
register_times(templates.env)
WINDOWS = ("15m", "1h", "24h", "7d", "30d")
templates.env.globals.update(windows=WINDOWS, colours=STATUS_COLOURS, labels=STATUS_LABELS)  # the same on every page
VIEW_PARAMS = ("node", "team", "view", "hops", "q")  # what a link to another view replaces
PANEL_ROWS = 50


def _team_maps(request: Request) -> TeamMapCache:
    """The app's team map cache (one per app, made on first use)."""
    cache = getattr(request.app.state, "ownermap_team_maps", None)
    if cache is None:
        cache = request.app.state.ownermap_team_maps = TeamMapCache()
    return cache


def _choose_view(graph: Any, analysis: Any, team_map: Any, cap: int, links: Links, view: str,
                 team: str | None, node: str | None, hops: int) -> MapView:
    total = len(graph.nodes)
    if node and node in graph.nodes:
        return focus_view(graph, analysis, node, hops, cap, links)
    if team:
        return team_view(graph, analysis, team, cap, links)
    if view == "orphans":
        return orphans_view(graph, team_map, analysis, cap, links)
    if view in ("all", "auto") and total <= cap:
        return all_view(graph, analysis, links)
    return teams_view(team_map, total, cap, links)


def _search(q: str | None, graph: Any, titles: dict[str, str], url: Callable[..., str]) -> Response | list[str]:
    """A search that names one node or team: a redirect to its view; else the nearest names."""
    if q is None or not q.strip():
        return []
    found = search(q, graph.nodes, titles)
    if found.node is not None:
        return RedirectResponse(url(("node", found.node)), status_code=303)
    if found.team is not None:
        return RedirectResponse(url(("team", found.team)), status_code=303)
    return found.nearest


def _detail_panel(graph: Any, analysis: Any, node: str, hops: int, url: Callable[..., str]) -> dict[str, Any]:
    """The side panel of a focused node: its details, dependents, findings and busiest calls."""
    detail = node_detail(graph, analysis, node)
    reach = reach_view(graph.topology, lambda n, _: analysis.ownership(graph.nodes[n]).owner, node,
                       "dependents", None, graph.window)
    detail["dependents_count"] = len(reach["dependents"])
    reach["dependents"] = reach["dependents"][:PANEL_ROWS]
    detail["dependents_view"] = reach
    detail["finding_details"] = [f.to_dict() for f in analysis.findings() if f.service == node]
    calls = sorted(detail["upstream"] + detail["downstream"], key=lambda e: (-e["calls"], e["source"], e["target"]))
    detail["calls_count"] = len(calls)
    detail["calls"] = calls[:PANEL_ROWS]
    detail["wider"] = url(("node", node), ("hops", str(hops + 1))) if hops < 3 else None
    detail["narrower"] = url(("node", node), ("hops", str(hops - 1))) if hops > 1 else None
    return detail


def _panels(state: Any, graph: Any, analysis: Any, env: str | None, node: str | None, team: str | None, hops: int,
            url: Callable[..., str]) -> dict[str, Any]:
    """The service panel (with its objectives) and the team's objectives and on-call load, when asked for."""
    detail = _detail_panel(graph, analysis, node, hops, url) if node and node in graph.nodes else None
    objectives = state.objectives(graph.window.end, env) if detail is not None or team else []  # measured once
    if detail is not None:
        detail["objectives"] = service_cards(objectives, analysis.index, node)
    return {
        "detail": detail,
        "team_objectives": team_cards(objectives, team) if team else [],
        "oncall": team_oncall(state.oncall(graph, env, objectives=objectives), team) if team and not node else None,
    }


@router.get("/", response_class=HTMLResponse)
def index(
    request: Request,
    state: ApiStateDep,
    graph: ServiceGraphDep,
    analysis: OwnershipAnalysisDep,
    params: GraphQueryDep,
    view: Annotated[str, Query(pattern="^(auto|all|orphans|teams)$")] = "auto",
    team: Annotated[str | None, Query(max_length=256)] = None,
    node: Annotated[str | None, Query(max_length=1024)] = None,
    hops: Annotated[int, Query(ge=1, le=3)] = 1,
    q: Annotated[str | None, Query(max_length=256)] = None,
) -> Response:
    """The page."""
    cap = state.config.map_max_nodes
    keep = [(k, v) for k, v in request.query_params.multi_items() if k not in VIEW_PARAMS]
    window = request.query_params.get("window") or "7d"

    def url(*extra: tuple[str, str]) -> str:
        return "?" + urlencode([*keep, *extra])

    links = Links(node=lambda name: url(("node", name)), team=lambda name: url(("team", name)),
                  orphans=url(("view", "orphans")))
    team_map = _team_maps(request).get(graph, analysis, params.env)
    titles = {t.name: t.entity.title or t.name for t in analysis.index.teams()}
    nearest = _search(q, graph, titles, url)
    if isinstance(nearest, Response):
        return nearest
    shown = _choose_view(graph, analysis, team_map, cap, links, view, team, node, hops)
    orphans, orphan_count = orphan_rows(graph, analysis, team_map, len(graph.nodes) <= cap)
    context = {
        **_panels(state, graph, analysis, params.env, node, team, hops, url),
        "request": request,
        "map": shown,
        "svg": Markup(shown.svg),  # noqa: S704 - produced by the autoescaping map template
        "total": len(graph.nodes),
        "cap": cap,
        "window": window,
        "env": params.env or "",
        "team": team or "",
        "view": view,
        "hops": hops,
        "q": q or "",
        "nearest": nearest,
        "names": sorted({*graph.nodes, *titles}),
        "teams": sorted(titles),
        "orphans": orphans,
        "orphan_count": orphan_count,
        "team_rows": team_rows(analysis, team_map),
        "node": node,
        "missing_node": bool(node and node not in graph.nodes),
        "link": links.node,
        "team_link": links.team,
        "orphans_link": links.orphans,
        "teams_link": url(("view", "teams")),
        "window_label": graph.window.as_dict(),
        "now": state.clock(),
    }
    return templates.TemplateResponse(request, "index.html", context)
