"""Services, one service, and who depends on it (blast radius)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query

from api.deps import ApiStateDep, GraphQuery, GraphQueryDep, OwnerFilter, OwnershipAnalysisDep, ServiceGraphDep
from api.problems import NotFoundError
from api.responses import FastJSONResponse
from api.state import ApiState
from api.views import node_detail, node_summaries, reach_view
from graph.service_graph import ServiceGraph

router = APIRouter(prefix="/api/v1", tags=["services"])

Depth = Annotated[int | None, Query(ge=1, le=50, description="how many hops (default: all)")]


def _known(graph: ServiceGraph, name: str) -> None:
    if not graph.has_node(name):
        raise NotFoundError(f"no service or node named {name!r} in the window")


@router.get("/services", response_class=FastJSONResponse)
def list_services(
    graph: ServiceGraphDep, analysis: OwnershipAnalysisDep, owner: OwnerFilter = None
) -> FastJSONResponse:
    """Every service and virtual node seen in the window (with `owner`: that team's only)."""
    services = node_summaries(graph, analysis)
    if owner:
        services = [s for s in services if (s["owner"] or "").lower() == owner.lower()]
    return FastJSONResponse({"window": graph.window.as_dict(), "services": services})


def _reach(state: ApiState, params: GraphQuery, name: str, direction: str, depth: int | None) -> dict[str, Any]:
    # Only who calls whom is needed: the window's topology, not its counters or findings.
    topology = state.topology(params.window, params.env)
    if not topology.has_node(name):
        raise NotFoundError(f"no service or node named {name!r} in the window")
    lens = state.catalog_lens()
    return reach_view(topology, lambda node, kind: lens.of(node, kind).owner, name, direction, depth, params.window,
                      owners_key=lens)


@router.get("/services/{name:path}/dependents", response_class=FastJSONResponse)
def dependents(name: str, state: ApiStateDep, params: GraphQueryDep, depth: Depth = None) -> FastJSONResponse:
    """Who breaks if `name` breaks: its transitive callers, and their owners to notify."""
    return FastJSONResponse(_reach(state, params, name, "dependents", depth))


@router.get("/services/{name:path}/dependencies", response_class=FastJSONResponse)
def dependencies(name: str, state: ApiStateDep, params: GraphQueryDep, depth: Depth = None) -> FastJSONResponse:
    """What `name` (transitively) calls."""
    return FastJSONResponse(_reach(state, params, name, "dependencies", depth))


@router.get("/services/{name:path}")
def get_service(
    name: str, graph: ServiceGraphDep, analysis: OwnershipAnalysisDep, state: ApiStateDep
) -> dict[str, Any]:
    """One service with its edges, catalog entry and suggested owners."""
    _known(graph, name)
    return {"window": graph.window.as_dict(), **node_detail(graph, analysis, name)}
