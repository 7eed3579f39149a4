"""The graph of a window, in JSON or an export format."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query
from fastapi.responses import Response

from api.deps import ApiStateDep, OwnerFilter, ServiceGraphDep
from api.responses import json_bytes
from api.views import EXPORT_MEDIA_TYPES, export_graph, graph_edges, graph_edges_json, graph_nodes
from graph.service_graph import ServiceGraph
from ownership.lens import CatalogLens

router = APIRouter(prefix="/api/v1", tags=["graph"])

GraphFormat = Literal["json", "dot", "graphml", "mermaid", "cytoscape"]


def _owned(
    nodes: list[dict[str, Any]], edges: list[dict[str, Any]], owner: str | None
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """Keep the owner's nodes, the edges touching them, and the nodes at their other ends."""
    if not owner:
        return nodes, edges
    mine = {n["id"] for n in nodes if (n["owner"] or "").lower() == owner.lower()}
    kept_edges = [e for e in edges if e["source"] in mine or e["target"] in mine]
    shown = mine | {e["source"] for e in kept_edges} | {e["target"] for e in kept_edges}
    return [n for n in nodes if n["id"] in shown], kept_edges


def _json_body(graph: ServiceGraph, lens: CatalogLens, owner: str | None) -> bytes:
    """The JSON answer: the whole graph's edges joined from their remembered encodings, the same bytes
    as encoding the answer at once; an owner's part encoded at once."""
    nodes = graph_nodes(graph, lens)
    if owner:
        nodes, edges = _owned(nodes, graph_edges(graph), owner)
        return json_bytes({"window": graph.window.as_dict(), "nodes": nodes, "edges": edges,
                           "ambiguous_addresses": graph.ambiguous_addresses})
    return b"".join((b'{"window":', json_bytes(graph.window.as_dict()), b',"nodes":', json_bytes(nodes),
                     b',"edges":[', b",".join(graph_edges_json(graph)), b'],"ambiguous_addresses":',
                     json_bytes(graph.ambiguous_addresses), b"}"))


@router.get("/graph", response_model=None)
def get_graph(
    graph: ServiceGraphDep, state: ApiStateDep, format: Annotated[GraphFormat, Query()] = "json",
    owner: OwnerFilter = None,
) -> dict[str, Any] | Response:
    """Nodes and edges of the window; with `owner`, that team's nodes, their edges and neighbours."""
    lens = state.catalog_lens()  # owners only: the map needs no findings
    if format == "json":
        # The JSON body is kept with the (cached) graph: repeated requests for a window reuse it.
        # Keyed by the catalog index object (a reload makes a new one), as analyses are: an id()
        # could be reused by the next catalog's lens while this graph is still cached.
        key = ("json", lens.index, (owner or "").lower())
        answers = state.answers(graph)
        body = answers.bodies.get(key) if answers is not None else None
        if body is None:
            body = _json_body(graph, lens, owner)
            if answers is not None:
                answers.bodies[key] = body
        return Response(body, media_type="application/json")
    nodes, edges = _owned(graph_nodes(graph, lens), graph_edges(graph), owner)
    return Response(export_graph(graph, nodes, edges, format), media_type=EXPORT_MEDIA_TYPES[format])
