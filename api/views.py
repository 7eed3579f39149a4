"""JSON views of the graph, joined with ownership through a pluggable lens."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any, Protocol

from api.responses import json_bytes
from graph.export import to_cytoscape, to_dot, to_mermaid
from graph.model import Window
from graph.service_graph import Node, ServiceGraph, Topology, edge_dicts, iso_ns
from ownership.lens import NodeOwnership


class OwnerLens(Protocol):
    """Answers who owns a node (ownership.analysis.CatalogLens or OwnershipAnalysis)."""

    def ownership(self, node: Node) -> NodeOwnership:
        """Ownership of one node of the graph."""


class OwnershipLens(OwnerLens, Protocol):
    """Also knows findings and suggested owners (ownership.analysis.OwnershipAnalysis)."""

    def suggested_owners(self, node: Node) -> list[dict[str, Any]]:
        """Likely owners of an orphaned node."""


def _summary(
    node: Node, own: NodeOwnership, calls_in: int, calls_out: int, errors_in: int, dependents: int,
    dependencies: int,
) -> dict[str, Any]:
    return {
        "name": node.name,
        "kind": node.kind,
        "owner": own.owner,
        "owner_status": own.owner_status,
        "catalog_ref": own.catalog_ref,
        "first_seen": iso_ns(node.first_seen_ns),
        "last_seen": iso_ns(node.last_seen_ns),
        "calls_in": calls_in,
        "calls_out": calls_out,
        "errors_in": errors_in,
        "dependents": dependents,
        "dependencies": dependencies,
        "findings": own.findings,
    }


def node_summaries(graph: ServiceGraph, lens: OwnershipLens) -> list[dict[str, Any]]:
    """The `services` list of GET /api/v1/services."""
    dependents = graph.dependent_counts()
    dependencies = graph.dependency_counts()
    calls_in: dict[str, int] = {}
    calls_out: dict[str, int] = {}
    errors_in: dict[str, int] = {}
    for edge in graph.edges:
        calls_in[edge.target] = calls_in.get(edge.target, 0) + edge.calls
        errors_in[edge.target] = errors_in.get(edge.target, 0) + edge.errors
        calls_out[edge.source] = calls_out.get(edge.source, 0) + edge.calls
    return [
        _summary(
            node, lens.ownership(node), calls_in.get(name, 0), calls_out.get(name, 0), errors_in.get(name, 0),
            dependents.get(name, 0), dependencies.get(name, 0),
        )
        for name, node in sorted(graph.nodes.items())
    ]


def node_summary(graph: ServiceGraph, lens: OwnershipLens, name: str) -> dict[str, Any]:
    """The summary of one node (computing reach only from that node)."""
    node = graph.nodes[name]
    upstream = graph.upstream(name)
    return _summary(
        node, lens.ownership(node), sum(e.calls for e in upstream), sum(e.calls for e in graph.downstream(name)),
        sum(e.errors for e in upstream), len(graph.dependents(name)), len(graph.dependencies(name)),
    )


def instrumentation(signals: dict[str, int]) -> dict[str, int]:
    """What a service's instrumentation misses in the window (service details)."""
    return {
        "unpaired_clients": signals.get("unpaired", 0),  # CLIENT/PRODUCER spans: no child, no peer named
        "unmatched_parents": signals.get("unmatched", 0),  # SERVER/CONSUMER spans: the parent never arrived
        "resolved_by_address": signals.get("resolved", 0),  # counted on a service through a learned address
    }


def node_detail(graph: ServiceGraph, lens: OwnershipLens, name: str) -> dict[str, Any]:
    """GET /api/v1/services/{name}: the summary plus catalog, hints, edges and suggestions."""
    summary = node_summary(graph, lens, name)
    node = graph.nodes[name]
    own = lens.ownership(node)
    unmatched_calls, unmatched_failed = graph.unmatched_in.get(name, (0, 0))
    return {
        **summary,
        "spans": node.spans,
        "error_spans": node.error_spans,
        # Rule 11: calls whose caller never reported (a SERVER span whose parent never arrived).
        "unmatched_in": {"calls": unmatched_calls, "failed": unmatched_failed},
        "instrumentation": instrumentation(graph.signals.get(name, {})),
        "catalog": own.catalog,
        "hints": node.hints,
        "upstream": edge_dicts(graph.upstream(name)),
        "downstream": edge_dicts(graph.downstream(name)),
        "suggested_owners": lens.suggested_owners(node),
    }


def reach_view(
    topology: Topology, owner_of: Callable[[str, str], str | None], name: str, direction: str, depth: int | None,
    window: Window, owners_key: object = None,
) -> dict[str, Any]:
    """Dependents or dependencies of a node, with the owners to notify (remembered by the topology per
    `owners_key`, what `owner_of` answers from; None: made afresh)."""
    listing = topology.listing(direction, name, depth, owner_of, owners_key)
    items = [{"name": other, "kind": kind, "owner": owner, "depth": distance}
             for other, kind, owner, distance in listing.rows]
    return {"service": name, "window": window.as_dict(), direction: items, "owners_to_notify": listing.owners}


def graph_nodes(graph: ServiceGraph, lens: OwnerLens) -> list[dict[str, Any]]:
    """Node objects of GET /api/v1/graph."""
    out = []
    for name in sorted(graph.nodes):
        node = graph.nodes[name]
        own = lens.ownership(node)
        out.append({"id": name, "kind": node.kind, "owner": own.owner, "owner_status": own.owner_status})
    return out


def graph_edges_json(graph: ServiceGraph) -> list[bytes]:
    """`graph_edges`, each as compact JSON (an edge whose sums did not change is not encoded again)."""
    named = graph.destinations
    return [json_bytes(_with_destinations(edge, named)) if edge["connection_type"] == "messaging" else body
            for edge, body in graph.encoded_edges()]


def graph_edges(graph: ServiceGraph) -> list[dict[str, Any]]:
    """Edge objects of GET /api/v1/graph; messaging edges list their `destinations` (rule 10)."""
    edges = graph.edge_dicts()
    named = graph.destinations
    if not any(e["connection_type"] == "messaging" for e in edges):
        return edges
    # The dicts may be shared with other answers (graph.edges.MadeEdges): messaging ones are copied.
    return [_with_destinations(e, named) if e["connection_type"] == "messaging" else e for e in edges]


def _with_destinations(edge: dict[str, Any], named: dict[tuple[str, str, str], list[str]]) -> dict[str, Any]:
    """A copy of a messaging edge's dict with its `destinations` (rule 10)."""
    return {**edge, "destinations": named.get((edge["source"], edge["target"], "messaging"), [])}


EXPORT_MEDIA_TYPES = {
    "dot": "text/vnd.graphviz",
    "mermaid": "text/plain; charset=utf-8",
    "graphml": "application/graphml+xml",
    "cytoscape": "application/json",
}


def export_graph(
    graph: ServiceGraph, nodes: list[dict[str, Any]], edges: list[dict[str, Any]], fmt: str, indent: int | None = None
) -> str:
    """The graph as DOT, Mermaid, GraphML or Cytoscape.js JSON (the API and `ownermap graph` share it)."""
    if fmt == "dot":
        return to_dot(nodes, edges)
    if fmt == "mermaid":
        return to_mermaid(nodes, edges)
    if fmt == "graphml":
        attrs = {n["id"]: {"kind": n["kind"], "owner": n["owner"], "owner_status": n["owner_status"]} for n in nodes}
        return graph.to_graphml(attrs)
    if fmt == "cytoscape":
        return json.dumps(to_cytoscape(nodes, edges), indent=indent, ensure_ascii=False)
    raise ValueError(f"unknown graph format {fmt!r}")
