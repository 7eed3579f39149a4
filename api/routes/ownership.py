"""Findings, teams, catalog reload and scaffolds."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query
from fastapi.responses import Response
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException

from api.deps import ApiStateDep, GraphQuery, GraphQueryDep, OwnershipAnalysisDep, ServiceGraphDep
from api.problems import NotFoundError
from api.responses import FastJSONResponse
from api.state import ApiState
from api.team_figures import TeamFigures
from graph.service_graph import ServiceGraph
from ownership.analysis import OwnershipAnalysis
from ownership.findings import ALL_CODES
from ownership.findings.codes import TEAM_CODES

router = APIRouter(prefix="/api/v1", tags=["ownership"])


@router.get("/findings", response_class=FastJSONResponse)
def list_findings(
    state: ApiStateDep,
    params: GraphQueryDep,
    analysis: OwnershipAnalysisDep,
    graph: ServiceGraphDep,
    code: Annotated[list[str] | None, Query(description=f"only these codes: {', '.join(ALL_CODES)}")] = None,
    owner: Annotated[str | None, Query(max_length=256, description="only findings of this team")] = None,
) -> FastJSONResponse:
    """Every finding of the window, most severe first."""
    unknown = sorted(set(code or ()) - set(ALL_CODES))
    if unknown:
        raise HTTPException(400, f"unknown finding code(s): {', '.join(unknown)}")
    teams = None
    if not code or TEAM_CODES & set(code):  # team findings need the on-call load (§3b)
        teams = state.team_facts(graph, params.env)
    findings = analysis.findings(code, owner, teams)
    return FastJSONResponse({"window": graph.window.as_dict(), "catalog_complete": state.catalog.complete,
                             "findings": [f.to_dict() for f in findings]})


def _team_figures(state: ApiState, params: GraphQuery, analysis: OwnershipAnalysis,
                  graph: ServiceGraph) -> TeamFigures:
    """The teams' on-call load (burn events from the objectives measured at the window's end) and the rest
    the teams view adds."""
    measured = analysis.objective_results() if params.env is None else None
    return TeamFigures.of(analysis, state.oncall(graph, params.env, objectives=measured))


@router.get("/teams")
def list_teams(state: ApiStateDep, params: GraphQueryDep, analysis: OwnershipAnalysisDep,
               graph: ServiceGraphDep) -> dict[str, Any]:
    """Every declared team with its services, findings (team findings included), cross-team dependencies,
    on-call load and objectives summary."""
    figures = _team_figures(state, params, analysis, graph)
    return {"window": graph.window.as_dict(), "teams": [figures.add_to(view) for view in analysis.teams()]}


@router.get("/teams/{team:path}")
def get_team(team: str, state: ApiStateDep, params: GraphQueryDep, analysis: OwnershipAnalysisDep,
             graph: ServiceGraphDep) -> dict[str, Any]:
    """One team."""
    try:
        view = analysis.team_view(team)
    except KeyError:
        raise NotFoundError(f"no team named {team!r} in the catalog") from None
    return {"window": graph.window.as_dict(), **_team_figures(state, params, analysis, graph).add_to(view)}


@router.post("/catalog/reload")
async def reload_catalog(state: ApiStateDep) -> dict[str, Any]:
    """Read the catalog files again and sync the live sources; returns counts, every error with its file and
    field, and each live source's status."""
    report = await run_in_threadpool(state.catalog.reload)
    return report.to_dict()


@router.get("/catalog/scaffold/{name:path}", response_class=Response)
def scaffold(name: str, analysis: OwnershipAnalysisDep, graph: ServiceGraphDep) -> Response:
    """A ready catalog-info.yaml for a service seen in the window."""
    if not graph.has_node(name):
        raise NotFoundError(f"no service named {name!r} in the window")
    body = analysis.scaffold(name)
    safe = "".join(ch if ch.isalnum() or ch in "-_." else "_" for ch in name)[:60] or "service"
    return Response(body, media_type="text/yaml; charset=utf-8",
                    headers={"Content-Disposition": f'attachment; filename="catalog-info-{safe}.yaml"'})
