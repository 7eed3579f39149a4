"""Who calls whom per node of an edge table: rows into and out of each node, self-calls left out,
callers in row order; and a graph's calls per node read through it equal its edges'."""

from __future__ import annotations

from graph.adjacency import Adjacency
from graph.edges import Edge
from graph.model import NodeKind, Window
from graph.service_graph import Node, ServiceGraph

SOURCES = ["web", "api", "web", "api", "web", "db"]
TARGETS = ["api", "db", "api", "api", "cache", "db"]


def test_rows_into_and_out_of_each_node_leave_self_calls_out() -> None:
    adjacency = Adjacency(SOURCES, TARGETS)
    assert adjacency.into("api") == [0, 2]  # row 3 (api → api) is a self-call
    assert adjacency.out_of("web") == [0, 2, 4]
    assert adjacency.out_of("api") == [1]
    assert adjacency.into("db") == [1] and adjacency.out_of("db") == []
    assert adjacency.into("nobody") == [] and adjacency.out_of("nobody") == []


def test_callers_keep_row_order_and_repeats_and_are_made_once() -> None:
    adjacency = Adjacency(SOURCES, TARGETS)
    assert adjacency.callers("api") == ("web", "web")
    assert adjacency.callers("api") is adjacency.callers("api")
    assert adjacency.callers("web") == ()


def test_self_calls_nodes_clients_of_a_kind_and_rows_touching_some_nodes() -> None:
    kinds = ["user", "service", "user", "service", "service", "database"]
    adjacency = Adjacency(SOURCES, TARGETS, kinds)
    assert adjacency.self_rows() == [3, 5]
    assert adjacency.nodes() == {"web", "api", "db", "cache"}
    assert adjacency.clients_of_kind("user") == {"web"} and adjacency.clients_of_kind("queue") == set()
    every = range(len(SOURCES))
    for made in (False, True):  # before and after the rows of each node were made
        if made:
            adjacency.into("api")
        for names in ({"db"}, {"cache", "web"}, {"api"}, set(), {"nobody"}):
            assert adjacency.rows_touching(names) == [r for r in every if SOURCES[r] in names or TARGETS[r] in names]


def _edge(source: str, target: str, calls: int, errors: int) -> Edge:
    return Edge(source, target, "rpc", calls, errors, [], [], 0, 0)


def test_a_graph_of_edges_reads_calls_per_node_as_its_edges_say() -> None:
    edges = [_edge(s, t, 10 + i, i) for i, (s, t) in enumerate(zip(SOURCES, TARGETS, strict=True))]
    nodes = {n: Node(n, NodeKind.SERVICE) for n in {*SOURCES, *TARGETS}}
    for include_self in (False, True):
        graph = ServiceGraph(Window(0, 3600), nodes, edges, include_self=include_self)
        for name in nodes:
            assert [(c.source, c.calls, c.errors) for c in graph.calls_into(name)] == [
                (e.source, e.calls, e.errors) for e in edges if e.target == name and e.source != name]
            assert [(c.target, c.calls) for c in graph.calls_out_of(name)] == [
                (e.target, e.calls) for e in edges if e.source == name and e.target != name]
            assert graph.neighbours(name) == [
                *[(e.source, e.calls, "caller") for e in edges if e.target == name and e.source != name],
                *[(e.target, e.calls, "callee") for e in edges if e.source == name and e.target != name]]
