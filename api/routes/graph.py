"""The graph of a window, in JSON or an export format."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query
from fastapi.responses import JSONResponse, Response

from api.deps import Graph, Lens
from api.views import graph_edges, graph_nodes
from graph.export import to_cytoscape, to_dot, to_mermaid

router = APIRouter(prefix="/api/v1", tags=["graph"])

GraphFormat = Literal["json", "dot", "graphml", "mermaid", "cytoscape"]


@router.get("/graph", response_model=None)
def get_graph(graph: Graph, lens: Lens, format: Annotated[GraphFormat, Query()] = "json") -> dict[str, Any] | Response:
    """Nodes and edges of the window."""
    if format == "json":
        # The JSON body is kept with the (cached) graph: repeated requests for a window reuse it.
        body = graph.memo.get(("json", id(lens)))
        if body is None:
            content = {"window": graph.window.as_dict(), "nodes": graph_nodes(graph, lens), "edges": graph_edges(graph)}
            body = graph.memo[("json", id(lens))] = JSONResponse(content).body
        return Response(body, media_type="application/json")
    nodes = graph_nodes(graph, lens)
    edges = graph_edges(graph)
    if format == "dot":
        return Response(to_dot(nodes, edges), media_type="text/vnd.graphviz")
    if format == "mermaid":
        return Response(to_mermaid(nodes, edges), media_type="text/plain; charset=utf-8")
    if format == "graphml":
        attrs = {n["id"]: {"kind": n["kind"], "owner": n["owner"], "owner_status": n["owner_status"]} for n in nodes}
        return Response(graph.to_graphml(attrs), media_type="application/graphml+xml")
    return JSONResponse(to_cytoscape(nodes, edges))
