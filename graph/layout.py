"""Layout input for drawing a window's graph: layered positions (a mixin of ServiceGraph, which
gives it `_graph`, the networkx view of the window), and the same for any drawn subgraph."""

from __future__ import annotations

from collections.abc import Iterable

import networkx as nx


def layered_layout(names: Iterable[str], pairs: Iterable[tuple[str, str]]) -> dict[str, tuple[int, int]]:
    """Layered (layer, row) positions of a drawn graph: callers left of callees.

    Strongly connected parts share a layer (the longest path over the condensation sets the
    layer); rows inside a layer follow the mean row of each node's callers (two sweeps of the
    barycentre heuristic, names breaking ties), so edges cross less. Costs O(V + E) of what is
    drawn; two nodes never share a slot.
    """
    graph = nx.DiGraph()
    graph.add_nodes_from(names)
    graph.add_edges_from((a, b) for a, b in pairs if a != b and a in graph and b in graph)
    condensed = nx.condensation(graph)
    mapping = condensed.graph["mapping"]
    layer_of: dict[int, int] = {}
    for component in nx.topological_sort(condensed):
        layer_of[component] = 1 + max((layer_of[p] for p in condensed.predecessors(component)), default=-1)
    layers: dict[int, list[str]] = {}
    for node in sorted(graph, key=str):
        layers.setdefault(layer_of[mapping[node]], []).append(node)
    row: dict[str, int] = {}

    def centre(node: str, layer: int) -> tuple[float, str]:
        """The mean row of the node's callers in earlier layers (its own row when it has none)."""
        placed = [row[p] for p in graph.predecessors(node) if layer_of[mapping[p]] < layer]
        return (sum(placed) / len(placed) if placed else float(row[node]), node)

    for sweep in range(2):
        for layer in sorted(layers):
            members = layers[layer]
            if sweep:
                members.sort(key=lambda node, layer=layer: centre(node, layer))
            for i, node in enumerate(members):
                row[node] = i
    return {node: (layer_of[mapping[node]], row[node]) for node in graph}


class LayoutMixin:
    """`layout` for ServiceGraph."""

    _graph: nx.DiGraph

    def layout(self, names: set[str] | None = None) -> dict[str, tuple[int, int]]:
        """Left-to-right layered positions (layer, row) for the nodes (all, or a subset).

        Callers sit left of callees; cycles are condensed so every node gets a layer. Only the
        drawn subgraph is laid out (`layered_layout`).
        """
        graph = self._graph if names is None else self._graph.subgraph(names)
        return layered_layout(graph.nodes, graph.edges)
