"""Layout input for drawing a window's graph: layered positions (a mixin of ServiceGraph, which
gives it `_graph`, the networkx view of the window)."""

from __future__ import annotations

import networkx as nx


class LayoutMixin:
    """`layout` for ServiceGraph."""

    _graph: nx.DiGraph

    def layout(self, names: set[str] | None = None) -> dict[str, tuple[int, int]]:
        """Left-to-right layered positions (layer, row) for the nodes (all, or a subset).

        Callers sit left of callees; cycles are condensed so every node gets a layer.
        """
        graph = self._graph if names is None else self._graph.subgraph(names)
        condensed = nx.condensation(graph)
        layer_of: dict[int, int] = {}
        for component in nx.topological_sort(condensed):
            layer_of[component] = 1 + max((layer_of[p] for p in condensed.predecessors(component)), default=-1)
        mapping = condensed.graph["mapping"]
        rows: dict[int, int] = {}
        positions: dict[str, tuple[int, int]] = {}
        for node in sorted(graph, key=lambda n: (layer_of[mapping[n]], n)):
            layer = layer_of[mapping[node]]
            positions[node] = (layer, rows.get(layer, 0))
            rows[layer] = rows.get(layer, 0) + 1
        return positions
