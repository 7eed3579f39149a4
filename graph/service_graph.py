"""The service dependency graph of one time window: its nodes and edges, built from the store.

Reach and blast radius: graph.reach; layout input: graph.layout; edges as the API shows them:
graph.edges; exports: graph.export (GraphML: `ServiceGraph.to_graphml`).
"""

from __future__ import annotations

import dataclasses
import functools
import io
import logging
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, NamedTuple

import networkx as nx
import orjson

from graph.adjacency import Adjacency
from graph.edges import Edge, MadeEdges, edge_dicts, histogram_quantiles, iso_ns, iso_ns_many, table_edge_dicts
from graph.layout import LayoutMixin, layered_layout
from graph.model import NodeKind, Window
from graph.reach import Topology, reach_counts
from graph.store.reads import WindowReads
from graph.store.rows import EdgeTable

log = logging.getLogger(__name__)
_XML_ILLEGAL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")


def xml_text(value: Any) -> Any:
    """Strings with characters XML 1.0 cannot hold replaced by U+FFFD; other values unchanged."""
    return _XML_ILLEGAL.sub("\ufffd", value) if isinstance(value, str) else value


@dataclass
class Node:
    """A service or virtual node seen in the window."""

    name: str
    kind: str
    spans: int = 0
    error_spans: int = 0
    first_seen_ns: int = 0
    last_seen_ns: int = 0
    hints: dict[str, str] = field(default_factory=dict)

    @property
    def is_virtual(self) -> bool:
        """Databases, queues, external peers and `user` are virtual (they sent no spans)."""
        return self.kind != NodeKind.SERVICE


def entry_node_id(name: str) -> str:
    """The id of the entry node `name` when a real service has that name too (rule 13)."""
    return f"{name} (entry)"


@functools.lru_cache(maxsize=64)
def warn_entry_collision(name: str) -> None:
    """Log once per name and process: a service is named like the entry node."""
    log.warning("a service is named %r like the entry node; the entry node is shown as %r. "
                "Set another entry_node (OWNERMAP_ENTRY_NODE)", name, entry_node_id(name))


def entry_apart(table: EdgeTable, services: dict[str, Node]) -> EdgeTable:
    """Rule 13: the entry node is never merged with a service of the same name. When one exists, the
    entry node's edges name it `<name> (entry)` (a copy of the table; the given one may be shared)."""
    user = NodeKind.USER
    clash = _adjacency_of(table).clients_of_kind(user) & services.keys()
    if not clash:
        return table
    for name in clash:
        warn_entry_collision(name)
    client = [entry_node_id(c) if kind == user and c in clash else c
              for c, kind in zip(table.client, table.client_kind, strict=True)]
    return dataclasses.replace(table, client=client, order=None, states=None, adjacency=None)


def _adjacency_of(table: EdgeTable) -> Adjacency:
    """The table's kept adjacency, else one made for it (once per table)."""
    if table.adjacency is None:
        table.adjacency = Adjacency(table.client, table.server, table.client_kind)
    return table.adjacency


class CallCount(NamedTuple):
    """An edge's calls without its histograms: what ownership and on-call answers add up."""

    source: str
    target: str
    calls: int
    errors: int


# CallCount from a 4-tuple without a Python-level call per edge (the namedtuple's own _make is one).
_new_call_count = functools.partial(tuple.__new__, CallCount)


class ServiceGraph(LayoutMixin):
    """Nodes and edges of one window, with dependency queries over its topology."""

    def __init__(
        self, window: Window, nodes: dict[str, Node], edges: list[Edge] | EdgeTable, include_self: bool = False,
        made: MadeEdges | None = None,
    ) -> None:
        self.window = window
        self.nodes = nodes
        # Per (client, server, connection_type): the destinations of a messaging edge (rule 10).
        self.destinations: dict[tuple[str, str, str], list[str]] = {}
        # Addresses learned for several services since the window's start (rule 9): they stay virtual.
        self.ambiguous_addresses: list[dict[str, Any]] = []
        # Per service: (calls, failed) from callers that never report (rule 11).
        self.unmatched_in: dict[str, tuple[int, int]] = {}
        # Per service: rule 11 calls and instrumentation signals (unpaired, unmatched, resolved).
        self.signals: dict[str, dict[str, int]] = {}
        self.include_self = include_self
        self._made = made  # edge objects made before, reused for edges whose sums did not change
        self.table = edges if isinstance(edges, EdgeTable) else None
        if isinstance(edges, EdgeTable):
            # Edge objects are made on first use: the map's answer is read from the columns.
            self._self_rows = _adjacency_of(edges).self_rows()
            if include_self or not self._self_rows:
                self._rows = list(range(len(edges)))
            else:
                self_calls = set(self._self_rows)
                self._rows = [i for i in range(len(edges)) if i not in self_calls]
        else:
            self.self_edges = [e for e in edges if e.source == e.target]
            self.edges = edges if include_self else [e for e in edges if e.source != e.target]

    @functools.cached_property
    def edges(self) -> list[Edge]:
        """The edges of the window (self-calls only with include_self)."""
        return self._table_edges(self._rows)

    @functools.cached_property
    def self_edges(self) -> list[Edge]:
        """The self-calls (A → A) of the window, shown or not."""
        return self._table_edges(self._self_rows)

    def call_counts(self) -> list[CallCount]:
        """(source, target, calls, errors) of each edge (self-calls only with include_self), read from
        the columns when the graph has them: no Edge with its histograms is made. Made once per graph."""
        return self._call_counts

    def adjacency(self) -> Adjacency:
        """The rows of the edges into and out of each node (self-calls left out): the table's (kept with
        its name columns across windows), else made for this graph (rows of `_call_columns`)."""
        return _adjacency_of(self.table) if self.table is not None else self._own_adjacency

    @functools.cached_property
    def _own_adjacency(self) -> Adjacency:
        sources, targets, _, _ = self._call_columns
        return Adjacency(sources, targets)

    @functools.cached_property
    def _call_columns(self) -> tuple[Sequence[str], Sequence[str], Sequence[int], Sequence[int]]:
        """Source, target, calls and errors per row: the table's columns, else one row per edge."""
        t = self.table
        if t is not None:
            return t.client, t.server, t.calls, t.failed
        edges = self.edges
        return ([e.source for e in edges], [e.target for e in edges], [e.calls for e in edges],
                [e.errors for e in edges])

    def calls_into(self, name: str) -> list[CallCount]:
        """The calls of each edge into `name` (no self-call), in row order."""
        return self._calls_of(self.adjacency().into(name))

    def calls_out_of(self, name: str) -> list[CallCount]:
        """The calls of each edge out of `name` (no self-call), in row order."""
        return self._calls_of(self.adjacency().out_of(name))

    def _calls_of(self, rows: list[int]) -> list[CallCount]:
        sources, targets, calls, errors = self._call_columns
        return [_new_call_count((sources[r], targets[r], calls[r], errors[r])) for r in rows]

    def neighbours(self, name: str) -> list[tuple[str, int, str]]:
        """(caller, calls, "caller") of each edge into `name`, then (callee, calls, "callee") of each edge out
        of it (no self-call), in row order."""
        sources, targets, calls, _ = self._call_columns
        adjacency = self.adjacency()
        return [*[(sources[r], calls[r], "caller") for r in adjacency.into(name)],
                *[(targets[r], calls[r], "callee") for r in adjacency.out_of(name)]]

    @functools.cached_property
    def _call_counts(self) -> list[CallCount]:
        t = self.table
        if t is None or "edges" in self.__dict__:
            return [CallCount(e.source, e.target, e.calls, e.errors) for e in self.edges]
        every = list(map(_new_call_count, zip(t.client, t.server, t.calls, t.failed, strict=True)))
        return every if len(self._rows) == len(t) else [every[i] for i in self._rows]

    def _table_edges(self, rows: list[int]) -> list[Edge]:
        t = self.table
        assert t is not None
        # Histograms stay rows of the table's matrices (edge_dicts stacks them back without copying
        # every counter into Python integers).
        every = zip(t.client, t.server, t.connection_type, t.calls, t.failed, t.client_hist, t.server_hist,
                    t.first_seen_ns, t.last_seen_ns, t.exemplars, t.queue_sum, t.queue_count, strict=True)
        if len(rows) == len(t):  # all of them (the usual case): no lookups by index
            return [Edge(*values) for values in every]
        wanted = set(rows)
        return [Edge(*values) for i, values in enumerate(every) if i in wanted]

    def edge_dicts(self) -> list[dict[str, Any]]:
        """The API's edge objects, ordered by source, target and connection type."""
        if self.table is None:
            return edge_dicts(sorted(self.edges, key=lambda e: (e.source, e.target, e.connection_type)))
        rows = self._ordered_rows(self.table)
        return self._made.dicts(self.table, rows) if self._made is not None else table_edge_dicts(self.table, rows)

    def encoded_edges(self) -> list[tuple[dict[str, Any], bytes]]:
        """`edge_dicts`, each with its compact JSON (remembered with the dict when edges are made from
        kept sums: an edge whose sums did not change is not encoded again)."""
        if self.table is None or self._made is None:
            return [(edge, orjson.dumps(edge)) for edge in self.edge_dicts()]
        return self._made.encoded(self.table, self._ordered_rows(self.table))

    def _ordered_rows(self, t: EdgeTable) -> list[int]:
        """The table rows of the edges shown, ordered by source, target and connection type."""
        if t.order is None:
            return sorted(self._rows, key=lambda i: (t.client[i], t.server[i], t.connection_type[i]))
        return t.order if self.include_self else [i for i in t.order if t.client[i] != t.server[i]]

    @functools.cached_property
    def topology(self) -> Topology:
        """Who calls whom (built on first use: the map and the edge lists do not need it)."""
        return Topology({name: node.kind for name, node in self.nodes.items()},
                        ((e.source, e.target) for e in self.edges))

    @functools.cached_property
    def _graph(self) -> nx.DiGraph:
        """The networkx view of the window (for counts, neighbourhoods and the layout)."""
        graph = nx.DiGraph()
        graph.add_nodes_from(self.nodes)
        graph.add_edges_from((e.source, e.target) for e in self.edges if e.source != e.target)
        return graph

    @classmethod
    def from_store(
        cls, store: WindowReads, window: Window, env: str | None = None, include_self: bool = False,
        made: MadeEdges | None = None,
    ) -> ServiceGraph:
        """Build the graph of a window from what serves its rows (a store or the query mirror)."""
        hints = store.hints()
        services, table = store.window_rows(window, env)
        nodes: dict[str, Node] = {}
        for row in services:
            nodes[row.service] = Node(
                row.service, NodeKind.SERVICE, row.spans, row.error_spans, row.first_seen_ns, row.last_seen_ns,
                hints.get(row.service, {}),
            )

        def seen(name: str, kind: str, first: int, last: int) -> None:
            node = nodes.get(name)
            if node is None:
                node = nodes[name] = Node(name, kind, first_seen_ns=first)
            if node.kind != NodeKind.SERVICE:  # a virtual node was seen when its edges were
                if first < node.first_seen_ns:
                    node.first_seen_ns = first
                if last > node.last_seen_ns:
                    node.last_seen_ns = last

        table = entry_apart(table, nodes)
        # Only edges with a node that sent no spans make or widen a virtual node.
        adjacency = _adjacency_of(table)
        unseen = adjacency.nodes() - nodes.keys()
        for i in adjacency.rows_touching(unseen) if unseen else ():
            first, last = table.first_seen_ns[i], table.last_seen_ns[i]
            seen(table.client[i], table.client_kind[i], first, last)
            seen(table.server[i], table.server_kind[i], first, last)
        graph = cls(window, nodes, table, include_self, made)
        graph.destinations = store.edge_destinations(window, env)
        graph.ambiguous_addresses = store.ambiguous_addresses(int(window.start))
        graph.signals = store.signals(window, env)
        graph.unmatched_in = {name: (c["calls"], c["failed"]) for name, c in graph.signals.items() if c["calls"]}
        return graph

    # ------------------------------------------------------------------ queries

    def has_node(self, name: str) -> bool:
        """True when the node was seen in the window."""
        return name in self.nodes

    def upstream(self, name: str) -> list[Edge]:
        """Edges into `name`."""
        return [e for e in self.edges if e.target == name]

    def downstream(self, name: str) -> list[Edge]:
        """Edges out of `name`."""
        return [e for e in self.edges if e.source == name]

    def dependents(self, name: str, depth: int | None = None) -> dict[str, int]:
        """Nodes that (transitively) call `name`, with their distance: who breaks if it breaks."""
        return self.topology.dependents(name, depth)

    def dependencies(self, name: str, depth: int | None = None) -> dict[str, int]:
        """Nodes that `name` (transitively) calls, with their distance."""
        return self.topology.dependencies(name, depth)

    def dependent_counts(self, services_only: bool = False) -> dict[str, int]:
        """Number of distinct transitive dependents of every node (only services, if asked)."""
        counted = {n for n, node in self.nodes.items() if node.kind == NodeKind.SERVICE} if services_only else None
        return reach_counts(self._graph.reverse(copy=False), counted)

    def dependency_counts(self) -> dict[str, int]:
        """Number of distinct transitive dependencies of every node."""
        return reach_counts(self._graph)

    def neighbourhood(self, names: set[str], radius: int = 1) -> set[str]:
        """The given nodes and everything within `radius` hops of them, either direction."""
        undirected = self._graph.to_undirected(as_view=True)
        found: set[str] = set()
        for name in names:
            if name in self._graph:
                found.update(nx.single_source_shortest_path_length(undirected, name, cutoff=radius))
        return found

    def to_graphml(self, node_attrs: dict[str, dict[str, Any]]) -> str:
        """GraphML of the window (attributes must be scalars; XML-illegal characters are replaced)."""
        graph = nx.MultiDiGraph()
        for name, attrs in node_attrs.items():
            graph.add_node(xml_text(name), **{k: xml_text(v) for k, v in attrs.items() if v is not None})
        for edge, data in zip(self.edges, edge_dicts(self.edges), strict=True):
            graph.add_edge(
                xml_text(edge.source), xml_text(edge.target), key=edge.connection_type,
                **{k: xml_text(v) for k, v in data.items() if v is not None and not isinstance(v, list)},
            )
        buffer = io.BytesIO()
        nx.write_graphml(graph, buffer, encoding="utf-8")
        return buffer.getvalue().decode("utf-8")


__all__ = [
    "CallCount", "Edge", "MadeEdges", "Node", "ServiceGraph", "Topology", "edge_dicts", "histogram_quantiles", "iso_ns",
    "iso_ns_many", "layered_layout",
]
