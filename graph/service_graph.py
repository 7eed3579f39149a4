"""The service dependency graph of one time window (the only module that touches networkx)."""

from __future__ import annotations

import functools
import io
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import networkx as nx
import numpy as np

from graph.model import HISTOGRAM_SIZE, LATENCY_BUCKETS, NodeKind, Window
from graph.store.reads import WindowReads
from graph.store.rows import EdgeTable, TopologyRows

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def iso_ns(ns: int) -> str | None:
    """Nanoseconds since the epoch as ISO 8601 UTC, to the millisecond (None for 0)."""
    if not ns:
        return None
    return (_EPOCH + timedelta(microseconds=ns // 1000)).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def iso_ns_many(values: Sequence[int]) -> list[str | None]:
    """`iso_ns` of many values at once (numpy: the same truncation to the millisecond)."""
    if not values:
        return []
    ns = np.asarray(values, np.int64)
    text = np.datetime_as_string(ns.astype("datetime64[ns]").astype("datetime64[ms]"), unit="ms").tolist()
    return [f"{t}Z" if v else None for t, v in zip(text, ns.tolist(), strict=True)]


_UPPER = np.array([*LATENCY_BUCKETS, LATENCY_BUCKETS[-1]])
_LOWER = np.array([0.0, *LATENCY_BUCKETS])


def histogram_quantiles(q: float, counts: np.ndarray) -> list[float | None]:
    """The q-quantile (seconds) of every histogram (one a row of `counts`), interpolating linearly
    inside the bucket that reaches the rank; None for an empty histogram, 15 s (the last bound)
    past the last bucket. Computed for all rows at once: thousands of edges per answer."""
    if counts.shape[1] == 0:
        return [None] * len(counts)
    totals = counts.sum(axis=1)
    rank = q * totals
    cumulative = np.cumsum(counts, axis=1)
    hit = (cumulative >= rank[:, None]) & (counts > 0)
    i = hit.argmax(axis=1)  # the first bucket reaching the rank
    rows = np.arange(len(counts))
    count = counts[rows, i]
    before = cumulative[rows, i] - count
    lower, upper = _LOWER[i], _UPPER[i]
    with np.errstate(divide="ignore", invalid="ignore"):
        value = lower + (upper - lower) * (rank - before) / count
    value = np.where(i >= len(LATENCY_BUCKETS), LATENCY_BUCKETS[-1], value)
    return [None if t == 0 else v for v, t in zip(value.tolist(), totals.tolist(), strict=True)]


_XML_ILLEGAL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")


def xml_text(value: Any) -> Any:
    """Strings with characters XML 1.0 cannot hold replaced by U+FFFD; other values unchanged."""
    return _XML_ILLEGAL.sub("\ufffd", value) if isinstance(value, str) else value


@dataclass(slots=True)
class Edge:
    """One (client, server, connection_type) edge over the window."""

    source: str
    target: str
    connection_type: str
    calls: int
    errors: int
    client_hist: Sequence[int]  # a list, or a row of an EdgeTable's matrix
    server_hist: Sequence[int]
    first_seen_ns: int
    last_seen_ns: int
    exemplars: list[str] = field(default_factory=list)
    queue_sum: float = 0.0
    queue_count: int = 0



def _rounded_ms(values: list[float | None]) -> list[float | None]:
    """Seconds as milliseconds rounded to the microsecond (numpy: builtin round is ~1 µs a value)."""
    present = np.array([0.0 if v is None else v for v in values]) * 1000
    return [None if v is None else r for v, r in zip(values, np.round(present, 3).tolist(), strict=True)]


def edge_dicts(edges: Sequence[Edge]) -> list[dict[str, Any]]:
    """The API's edge objects, percentiles computed for all edges at once."""
    shape = (len(edges), HISTOGRAM_SIZE)
    return _edge_dicts(
        [e.source for e in edges], [e.target for e in edges], [e.connection_type for e in edges],
        [e.calls for e in edges], [e.errors for e in edges],
        np.array([e.client_hist for e in edges], np.int64).reshape(shape),
        np.array([e.server_hist for e in edges], np.int64).reshape(shape),
        [e.queue_sum for e in edges], [e.queue_count for e in edges], [e.first_seen_ns for e in edges],
        [e.last_seen_ns for e in edges], [e.exemplars for e in edges],
    )


# Edge objects made from an EdgeTable row whose state is named (graph.store.window_sums: an edge of
# a window's kept sums, at a version): an edge whose sums did not change is not made again.
_MADE: dict[tuple[int, int], tuple[int, dict[str, Any]]] = {}
_MADE_LIMIT = 200_000


def table_edge_dicts(table: EdgeTable, rows: Sequence[int]) -> list[dict[str, Any]]:
    """`edge_dicts` of some rows of an EdgeTable, read from its columns (no Edge objects). The
    dicts may be shared between answers: callers must not change them."""
    states = table.states
    if states is None:
        return _table_rows_dicts(table, rows)
    out: list[dict[str, Any] | None] = []
    missing: list[int] = []
    for i in rows:
        token, slot, version = states[i]
        made = _MADE.get((token, slot))
        if made is not None and made[0] == version:
            out.append(made[1])
        else:
            missing.append(len(out))
            out.append(None)
    if missing:
        if len(_MADE) + len(missing) > _MADE_LIMIT:
            _MADE.clear()
        for position, made_now in zip(missing, _table_rows_dicts(table, [rows[p] for p in missing]), strict=True):
            token, slot, version = states[rows[position]]
            _MADE[(token, slot)] = (version, made_now)
            out[position] = made_now
    return out  # type: ignore[return-value]


def _table_rows_dicts(table: EdgeTable, rows: Sequence[int]) -> list[dict[str, Any]]:
    def pick(column: list[Any]) -> list[Any]:
        return [column[i] for i in rows]

    index = np.asarray(rows, np.int64)
    return _edge_dicts(
        pick(table.client), pick(table.server), pick(table.connection_type), pick(table.calls), pick(table.failed),
        table.client_hist[index], table.server_hist[index], pick(table.queue_sum), pick(table.queue_count),
        pick(table.first_seen_ns), pick(table.last_seen_ns), pick(table.exemplars),
    )


def _edge_dicts(
    source: list[str], target: list[str], ctype: list[str], calls: list[int], errors: list[int], client: np.ndarray,
    server: np.ndarray, queue_sum: list[float], queue_count: list[int], first_ns: list[int], last_ns: list[int],
    exemplars: list[list[str]],
) -> list[dict[str, Any]]:
    if not source:
        return []
    # Server-side latency where measured, else client-side.
    latency = np.where((server.sum(axis=1) > 0)[:, None], server, client)
    p50, p95, p99 = (_rounded_ms(histogram_quantiles(q, latency)) for q in (0.5, 0.95, 0.99))
    client_p95 = _rounded_ms(histogram_quantiles(0.95, client))
    first, last = iso_ns_many(first_ns), iso_ns_many(last_ns)
    return [
        {
            "source": source[i],
            "target": target[i],
            "connection_type": ctype[i],
            "calls": calls[i],
            "errors": errors[i],
            "p50_ms": p50[i],
            "p95_ms": p95[i],
            "p99_ms": p99[i],
            "client_p95_ms": client_p95[i],
            "queue_delay_avg_ms": round(queue_sum[i] / queue_count[i] * 1000, 3) if queue_count[i] else None,
            "first_seen": first[i],
            "last_seen": last[i],
            "exemplar_trace_ids": exemplars[i],
        }
        for i in range(len(source))
    ]


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


def _reach_counts(graph: nx.DiGraph, counted: set[str] | None = None) -> dict[str, int]:
    """How many other nodes (of `counted`, default all) each node reaches.

    One pass over the condensation in reverse topological order, with Python integers as
    bitsets: O(V + E) big-integer ORs instead of one traversal per node.
    """
    condensed = nx.condensation(graph)
    members = condensed.graph["mapping"]
    bit_of = {node: 1 << i for i, node in enumerate(graph)}
    mask = sum(bit_of[n] for n in counted if n in bit_of) if counted is not None else -1
    own: dict[int, int] = {}
    for node, component in members.items():
        own[component] = own.get(component, 0) | bit_of[node]
    reach: dict[int, int] = {}
    for component in reversed(list(nx.topological_sort(condensed))):
        bits = 0
        for successor in condensed.successors(component):
            bits |= reach[successor] | own[successor]
        reach[component] = bits
    counts = {}
    for node, component in members.items():
        cycle_peers = own[component] & ~bit_of[node]
        counts[node] = ((reach[component] | cycle_peers) & mask).bit_count()
    return counts


class Topology:
    """Who calls whom (no counters) over a networkx DiGraph: enough for blast-radius questions.

    Self-calls are left out: a node does not depend on itself.
    """

    def __init__(self, kinds: dict[str, str], pairs: Iterable[tuple[str, str]]) -> None:
        self.kinds = kinds
        self._graph = nx.DiGraph()
        self._graph.add_nodes_from(kinds)
        self._graph.add_edges_from((source, target) for source, target in pairs if source != target)

    @classmethod
    def from_rows(cls, rows: TopologyRows) -> Topology:
        """Build from what Store.topology read."""
        edges, services = rows.rows()
        return cls(_node_kinds(services, edges), ((client, server) for client, server, _, _ in edges))

    def has_node(self, name: str) -> bool:
        """True when the node was seen in the window."""
        return name in self.kinds

    def dependents(self, name: str, depth: int | None = None) -> dict[str, int]:
        """Nodes that (transitively) call `name`, with their distance: who breaks if it breaks."""
        lengths = nx.single_source_shortest_path_length(self._graph.reverse(copy=False), name, cutoff=depth)
        lengths.pop(name, None)
        return dict(lengths)

    def dependencies(self, name: str, depth: int | None = None) -> dict[str, int]:
        """Nodes that `name` (transitively) calls, with their distance."""
        lengths = nx.single_source_shortest_path_length(self._graph, name, cutoff=depth)
        lengths.pop(name, None)
        return dict(lengths)


def _node_kinds(services: Iterable[str], edges: Iterable[tuple[str, str, str, str]]) -> dict[str, str]:
    """Services that sent spans are services; any other node takes the kind its edges give it."""
    kinds = dict.fromkeys(services, NodeKind.SERVICE)
    for client, server, client_kind, server_kind in edges:
        kinds.setdefault(client, client_kind)
        kinds.setdefault(server, server_kind)
    return kinds


class ServiceGraph:
    """Nodes and edges of one window, with dependency queries over its topology."""

    def __init__(
        self, window: Window, nodes: dict[str, Node], edges: list[Edge] | EdgeTable, include_self: bool = False
    ) -> None:
        self.window = window
        self.nodes = nodes
        self.include_self = include_self
        self.memo: dict[Any, Any] = {}  # derived results computed once per graph (e.g. its ownership)
        self.table = edges if isinstance(edges, EdgeTable) else None
        if isinstance(edges, EdgeTable):
            # Edge objects are made on first use: the map's answer is read from the columns.
            pairs = list(zip(edges.client, edges.server, strict=True))
            self._rows = [i for i, (s, t) in enumerate(pairs) if include_self or s != t]
            self._self_rows = [i for i, (s, t) in enumerate(pairs) if s == t]
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
        t = self.table
        if t.order is None:
            rows = sorted(self._rows, key=lambda i: (t.client[i], t.server[i], t.connection_type[i]))
        else:
            rows = t.order if self.include_self else [i for i in t.order if t.client[i] != t.server[i]]
        return table_edge_dicts(t, rows)

    @functools.cached_property
    def topology(self) -> Topology:
        """Who calls whom (built on first use: the map and the edge lists do not need it)."""
        return Topology({name: node.kind for name, node in self.nodes.items()},
                        ((e.source, e.target) for e in self.edges))

    @property
    def _graph(self) -> nx.DiGraph:
        return self.topology._graph

    @classmethod
    def from_store(
        cls, store: WindowReads, window: Window, env: str | None = None, include_self: bool = False
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

        for client, server, client_kind, server_kind, first, last in zip(
                table.client, table.server, table.client_kind, table.server_kind, table.first_seen_ns,
                table.last_seen_ns, strict=True):
            seen(client, client_kind, first, last)
            seen(server, server_kind, first, last)
        return cls(window, nodes, table, include_self)

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
        return _reach_counts(self._graph.reverse(copy=False), counted)

    def dependency_counts(self) -> dict[str, int]:
        """Number of distinct transitive dependencies of every node."""
        return _reach_counts(self._graph)

    def neighbourhood(self, names: set[str], radius: int = 1) -> set[str]:
        """The given nodes and everything within `radius` hops of them, either direction."""
        undirected = self._graph.to_undirected(as_view=True)
        found: set[str] = set()
        for name in names:
            if name in self._graph:
                found.update(nx.single_source_shortest_path_length(undirected, name, cutoff=radius))
        return found

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
    "Edge", "Node", "ServiceGraph", "Topology", "edge_dicts", "histogram_quantiles", "iso_ns",
    "iso_ns_many",
]
