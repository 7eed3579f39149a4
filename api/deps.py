"""Request dependencies (FastAPI `Annotated` style): state, window parameters, the graph, the analysis.

Each alias is named after the type it hands a route, with `Dep` after it: `ServiceGraphDep` is the
window's `ServiceGraph`, `OwnershipAnalysisDep` that graph joined with the catalog. `OwnerFilter`
is the optional `owner` query parameter (a team name).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Query, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from starlette.exceptions import HTTPException

from api.state import ApiState
from graph.bearer import BearerCheck
from graph.model import Window
from graph.service_graph import ServiceGraph
from graph.window import resolve_window
from ownership.analysis import OwnershipAnalysis


def get_state(request: Request) -> ApiState:
    """The shared API state."""
    return request.app.state.ownermap


ApiStateDep = Annotated[ApiState, Depends(get_state)]
_bearer = HTTPBearer(auto_error=False)


def require_token(
    state: ApiStateDep, request: Request, _scheme: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)]
) -> None:
    """Check the bearer token when `api_token` is set (graph.bearer: constant time, scheme in any case).

    `_bearer` only declares the scheme in the OpenAPI document; the check reads the header itself.
    """
    if not BearerCheck(state.config.api_token).allows(request.headers.get("authorization")):
        raise HTTPException(401, "missing or wrong bearer token", headers={"WWW-Authenticate": "Bearer"})


@dataclass
class GraphQuery:
    """The common query parameters: window or start/end, env, include_self."""

    window: Window
    env: str | None
    include_self: bool


def graph_query(
    state: ApiStateDep,
    window: Annotated[str | None, Query(max_length=16, description="<N>m, <N>h, <N>d or <N>w; default 7d")] = None,
    start: Annotated[str | None, Query(max_length=64, description="ISO 8601 start")] = None,
    end: Annotated[str | None, Query(max_length=64, description="ISO 8601 end (default now)")] = None,
    env: Annotated[str | None, Query(max_length=256, description="deployment environment")] = None,
    include_self: Annotated[bool, Query(description="include self-calls")] = False,
) -> GraphQuery:
    """Parse the window parameters (400 on anything malformed)."""
    # An empty env (the page's filter box left blank) means every environment.
    return GraphQuery(resolve_window(window, start, end, now=state.clock()), env or None, include_self)


GraphQueryDep = Annotated[GraphQuery, Depends(graph_query)]
OwnerFilter = Annotated[str | None, Query(max_length=256, description="only this team's services (and their edges)")]


def get_graph(state: ApiStateDep, params: GraphQueryDep) -> ServiceGraph:
    """The service graph of the requested window."""
    return state.graph(params.window, params.env, params.include_self)


ServiceGraphDep = Annotated[ServiceGraph, Depends(get_graph)]


def get_analysis(state: ApiStateDep, graph: ServiceGraphDep) -> OwnershipAnalysis:
    """The graph joined with the catalog."""
    return state.analysis(graph)


OwnershipAnalysisDep = Annotated[OwnershipAnalysis, Depends(get_analysis)]
