"""graph.service_graph: quantiles, node kinds, self edges, reach queries, layers, GraphML."""

from __future__ import annotations

import random
import xml.etree.ElementTree as ET
from pathlib import Path

import networkx as nx
import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from graph.aggregate import Aggregator
from graph.model import HISTOGRAM_SIZE, LATENCY_BUCKETS, Window
from graph.service_graph import (
    Edge,
    Node,
    ServiceGraph,
    edge_dicts,
    histogram_quantiles,
    iso_ns,
    iso_ns_many,
)
from graph.store.sqlite import SQLiteStore
from tests.graph.store_builders import NS, T0, call, sighting, write

WINDOW = Window(float(T0 - 86400), float(T0 + 86400))


def hist(**buckets: int) -> list[int]:
    """A histogram from `b<index>=count` keyword arguments; bucket i is (LATENCY_BUCKETS[i-1], LATENCY_BUCKETS[i]],
    so b5 = (0.01, 0.025], b8 = (0.1, 0.2], b10 = (0.4, 0.8], b12 = (1, 1.4], b17 = (15, +Inf)."""
    counts = [0] * HISTOGRAM_SIZE
    for key, value in buckets.items():
        counts[int(key[1:])] = value
    return counts


def edge(source: str, target: str, calls: int = 1, ctype: str = "rpc", errors: int = 0) -> Edge:
    return Edge(source, target, ctype, calls, errors, [0] * HISTOGRAM_SIZE, [0] * HISTOGRAM_SIZE,
                T0 * NS, T0 * NS)


def graph_of(pairs: list[tuple[str, str]], include_self: bool = False, extra: tuple[str, ...] = ()) -> ServiceGraph:
    names = {n for pair in pairs for n in pair} | set(extra)
    nodes = {n: Node(n, "service") for n in names}
    return ServiceGraph(WINDOW, nodes, [edge(a, b) for a, b in pairs], include_self)


# ------------------------------------------------------------------ quantiles


def histogram_quantile(q: float, counts: list[int]) -> float | None:
    """The quantile of one histogram, as answers compute it."""
    return histogram_quantiles(q, np.array([counts], np.int64).reshape(1, len(counts)))[0]


def reference_quantile(q: float, counts: list[int]) -> float | None:
    """The definition, one bucket at a time: the oracle the computation for many rows must equal."""
    total = sum(counts)
    if total == 0:
        return None
    rank = q * total
    cumulative = 0
    for i, count in enumerate(counts):
        if cumulative + count >= rank and count > 0:
            if i >= len(LATENCY_BUCKETS):
                return LATENCY_BUCKETS[-1]
            lower = LATENCY_BUCKETS[i - 1] if i > 0 else 0.0
            upper = LATENCY_BUCKETS[i]
            return lower + (upper - lower) * (rank - cumulative) / count
        cumulative += count
    return LATENCY_BUCKETS[-1]


def test_quantile_of_empty_histogram_is_none() -> None:
    assert histogram_quantile(0.5, [0] * HISTOGRAM_SIZE) is None
    assert histogram_quantile(0.99, []) is None


@pytest.mark.parametrize(
    ("q", "counts", "expected"),
    [
        # 10 in (0, 0.002], 10 in (0.002, 0.004]: the median is the top of the first bucket
        (0.5, hist(b0=10, b1=10), 0.002),
        (0.75, hist(b0=10, b1=10), 0.003),  # rank 15: halfway into the second bucket
        (0.25, hist(b0=10, b1=10), 0.001),
        # 100 calls in (0.1, 0.2]: p95 = 0.1 + 0.1 * 95/100
        (0.95, hist(b8=100), 0.195),
        # 90 fast (0.01, 0.025], 10 slow (1, 1.4]: p95 → rank 95 → 1 + 0.4 * 5/10
        (0.95, hist(b5=90, b12=10), 1.2),
        (0.5, hist(b5=90, b12=10), 0.01 + 0.015 * 50 / 90),
        (0.99, hist(b5=90, b12=10), 1.0 + 0.4 * 9 / 10),
        (1.0, hist(b3=4), 0.008),
        # empty buckets in between are skipped: all 4 in (0.4, 0.8]
        (0.5, hist(b10=4), 0.6),
        (0.0, hist(b10=4), 0.4),
    ],
)
def test_histogram_quantile_hand_computed(q: float, counts: list[int], expected: float) -> None:
    assert histogram_quantile(q, counts) == pytest.approx(expected)


def test_quantile_in_inf_bucket_is_the_largest_finite_bound() -> None:
    assert histogram_quantile(0.5, hist(b17=3)) == LATENCY_BUCKETS[-1] == 15.0
    assert histogram_quantile(0.99, hist(b0=98, b17=2)) == 15.0
    assert histogram_quantile(0.5, hist(b0=98, b17=2)) == pytest.approx(0.002 * 50 / 98)


def test_quantile_is_monotonic_in_q() -> None:
    rng = random.Random(7)
    for _ in range(50):
        counts = [rng.choice((0, 0, 1, 5, 100)) for _ in range(HISTOGRAM_SIZE)]
        if not sum(counts):
            continue
        values = [histogram_quantile(q / 100, counts) for q in range(0, 101, 5)]
        assert values == sorted(values)
        assert all(0.0 <= v <= 15.0 for v in values)


def test_edge_to_dict_uses_server_latency_else_client() -> None:
    e = edge("a", "b", calls=100, errors=3)
    e.server_hist = hist(b8=100)
    e.client_hist = hist(b0=100)
    e.queue_sum, e.queue_count = 1.5, 3
    d = edge_dicts([e])[0]
    assert d["p95_ms"] == pytest.approx(195.0)
    assert d["client_p95_ms"] == pytest.approx(1.9)
    assert d["queue_delay_avg_ms"] == pytest.approx(500.0)
    assert (d["source"], d["target"], d["calls"], d["errors"]) == ("a", "b", 100, 3)
    assert d["first_seen"] == iso_ns(T0 * NS) == "2023-11-14T22:15:00.000Z"
    e.server_hist = [0] * HISTOGRAM_SIZE
    assert edge_dicts([e])[0]["p95_ms"] == pytest.approx(1.9)
    e.client_hist = [0] * HISTOGRAM_SIZE
    d = edge_dicts([e])[0]
    assert d["p50_ms"] is d["p95_ms"] is d["p99_ms"] is None


def test_iso_ns_zero_is_none() -> None:
    assert iso_ns(0) is None
    assert iso_ns(1_500_000_000) == "1970-01-01T00:00:01.500Z"


# ------------------------------------------------------------------ from the store: node kinds


@pytest.fixture
def store(tmp_path: Path) -> SQLiteStore:
    s = SQLiteStore(tmp_path / "g.db")
    yield s
    s.close()


def test_node_kinds_from_store(store: SQLiteStore) -> None:
    agg = Aggregator()
    sighting(agg, "checkout", T0 + 1, count=3, hints={"service.version": "9"})
    sighting(agg, "payments", T0 + 2)
    call(agg, "user", "checkout", T0 + 1, ctype="entry", client_kind="user")
    call(agg, "checkout", "payments", T0 + 1)
    call(agg, "checkout", "orders-db", T0 + 5, ctype="database", server_kind="database")
    call(agg, "checkout", "orders-db", T0 + 400, ctype="database", server_kind="database")
    call(agg, "checkout", "emails", T0 + 1, ctype="messaging", server_kind="messaging")
    call(agg, "checkout", "stripe", T0 + 1, ctype="virtual", server_kind="external")
    # rule 7: a virtual node named like a real service is that service
    call(agg, "checkout", "payments", T0 + 1, ctype="virtual", server_kind="external")
    call(agg, "payments", "checkout", T0 + 1, ctype="virtual", server_kind="external")
    write(store, agg)
    g = ServiceGraph.from_store(store, WINDOW)
    kinds = {name: node.kind for name, node in g.nodes.items()}
    assert kinds == {
        "checkout": "service", "payments": "service", "user": "user", "orders-db": "database",
        "emails": "messaging", "stripe": "external",
    }
    assert not g.nodes["payments"].is_virtual
    assert g.nodes["orders-db"].is_virtual
    assert g.nodes["orders-db"].first_seen_ns == (T0 + 5) * NS
    assert g.nodes["orders-db"].last_seen_ns == (T0 + 400) * NS
    assert g.nodes["checkout"].spans == 3
    assert g.nodes["checkout"].hints == {"service.version": "9"}
    assert g.nodes["payments"].hints == {}
    assert {e.connection_type for e in g.downstream("checkout") if e.target == "payments"} == {"rpc", "virtual"}


def test_virtual_node_named_like_a_service_seen_only_as_virtual_stays_virtual(store: SQLiteStore) -> None:
    agg = Aggregator()
    sighting(agg, "a", T0)
    call(agg, "a", "payments", T0, ctype="virtual", server_kind="external")
    write(store, agg)
    assert ServiceGraph.from_store(store, WINDOW).nodes["payments"].kind == "external"
    sighting(agg, "payments", T0 + 3)
    write(store, agg)
    assert ServiceGraph.from_store(store, WINDOW).nodes["payments"].kind == "service"


def test_env_filter_and_window(store: SQLiteStore) -> None:
    agg = Aggregator()
    call(agg, "a", "b", T0, env="prod")
    call(agg, "a", "c", T0, env="dev")
    call(agg, "a", "d", T0 - 3 * 86400, env="prod")
    write(store, agg)
    assert set(ServiceGraph.from_store(store, WINDOW).nodes) == {"a", "b", "c"}
    assert set(ServiceGraph.from_store(store, WINDOW, env="prod").nodes) == {"a", "b"}
    assert set(ServiceGraph.from_store(store, Window(T0 - 4 * 86400, T0 + 1)).nodes) == {"a", "b", "c", "d"}


# ------------------------------------------------------------------ self edges


def test_self_edges_hidden_unless_include_self() -> None:
    nodes = {n: Node(n, "service") for n in "ab"}
    edges = [edge("a", "a", calls=5), edge("a", "b", calls=2)]
    hidden = ServiceGraph(WINDOW, nodes, list(edges))
    assert [(e.source, e.target) for e in hidden.edges] == [("a", "b")]
    assert [(e.source, e.target) for e in hidden.self_edges] == [("a", "a")]
    assert hidden.downstream("a") == [edges[1]]
    assert hidden.upstream("a") == []
    assert hidden.dependents("a") == {}
    assert hidden.dependencies("a") == {"b": 1}
    shown = ServiceGraph(WINDOW, nodes, list(edges), include_self=True)
    assert {(e.source, e.target) for e in shown.edges} == {("a", "a"), ("a", "b")}
    assert shown.upstream("a") == [edges[0]]
    # self edges never make a node its own dependent
    assert shown.dependents("a") == {}
    assert shown.dependent_counts()["a"] == 0
    assert shown.dependency_counts()["a"] == 1


# ------------------------------------------------------------------ reach


CHAIN = [("u", "fe"), ("fe", "co"), ("co", "pay"), ("pay", "bank"), ("co", "db"), ("admin", "co")]


def test_dependents_with_depth() -> None:
    g = graph_of(CHAIN)
    assert g.dependents("pay") == {"co": 1, "fe": 2, "admin": 2, "u": 3}
    assert g.dependents("pay", depth=1) == {"co": 1}
    assert g.dependents("pay", depth=2) == {"co": 1, "fe": 2, "admin": 2}
    assert g.dependents("u") == {}


def test_dependencies_with_depth() -> None:
    g = graph_of(CHAIN)
    assert g.dependencies("fe") == {"co": 1, "pay": 2, "db": 2, "bank": 3}
    assert g.dependencies("fe", depth=1) == {"co": 1}
    assert g.dependencies("bank") == {}


def test_reach_through_a_cycle_and_shortest_distance() -> None:
    g = graph_of([("a", "b"), ("b", "c"), ("c", "a"), ("a", "c"), ("c", "d")])
    assert g.dependents("d") == {"c": 1, "a": 2, "b": 2}
    assert g.dependencies("a") == {"b": 1, "c": 1, "d": 2}
    assert g.dependent_counts() == {"a": 2, "b": 2, "c": 2, "d": 3}
    assert g.dependency_counts() == {"a": 3, "b": 3, "c": 3, "d": 0}


def test_parallel_edges_of_several_types_stay_apart_and_link_once() -> None:
    nodes = {n: Node(n, "service") for n in "ab"}
    g = ServiceGraph(WINDOW, nodes, [edge("a", "b", 2, "rpc"), edge("a", "b", 3, "virtual")])
    assert sorted((e.connection_type, e.calls) for e in g.downstream("a")) == [("rpc", 2), ("virtual", 3)]
    assert list(g._graph.edges) == [("a", "b")]
    assert g.dependency_counts() == {"a": 1, "b": 0}


def test_isolated_node_has_no_reach() -> None:
    g = graph_of([("a", "b")], extra=("lonely",))
    assert g.dependent_counts()["lonely"] == 0
    assert g.dependency_counts()["lonely"] == 0
    assert g.has_node("lonely")
    assert not g.has_node("nope")


def _random_pairs(rng: random.Random, n: int, m: int) -> list[tuple[str, str]]:
    return [(f"s{rng.randrange(n)}", f"s{rng.randrange(n)}") for _ in range(m)]


@pytest.mark.parametrize("seed", range(25))
def test_reach_counts_equal_networkx_descendants(seed: int) -> None:
    rng = random.Random(seed)
    n = rng.randint(1, 40)
    pairs = _random_pairs(rng, n, rng.randint(0, 3 * n))  # includes cycles and self loops
    g = graph_of(pairs, extra=tuple(f"s{i}" for i in range(n)))
    reference = nx.DiGraph()
    reference.add_nodes_from(g.nodes)
    reference.add_edges_from((a, b) for a, b in pairs if a != b)
    assert g.dependency_counts() == {v: len(nx.descendants(reference, v)) for v in reference}
    assert g.dependent_counts() == {v: len(nx.ancestors(reference, v)) for v in reference}
    probe = f"s{rng.randrange(n)}"
    assert set(g.dependents(probe)) == nx.ancestors(reference, probe)
    assert set(g.dependencies(probe)) == nx.descendants(reference, probe)
    depth = rng.randint(1, 3)
    lengths = nx.single_source_shortest_path_length(reference, probe, cutoff=depth)
    lengths.pop(probe)
    assert g.dependencies(probe, depth) == lengths


# ------------------------------------------------------------------ layout


@pytest.mark.parametrize("seed", range(10))
def test_layout_puts_callers_left_of_callees(seed: int) -> None:
    rng = random.Random(100 + seed)
    n = rng.randint(2, 30)
    pairs = _random_pairs(rng, n, 2 * n)
    g = graph_of(pairs)
    positions = g.layout()
    assert set(positions) == set(g.nodes)
    assert len(set(positions.values())) == len(positions)  # no two nodes share a slot
    layers = {name: layer for name, (layer, _) in positions.items()}
    reference = nx.DiGraph(pairs)
    component = {v: i for i, comp in enumerate(nx.strongly_connected_components(reference)) for v in comp}
    for a, b in pairs:
        if component[a] != component[b]:
            assert layers[a] < layers[b], (a, b, layers)
        else:
            assert layers[a] == layers[b]


def test_layout_of_a_chain_and_rows() -> None:
    g = graph_of([("u", "fe"), ("fe", "co"), ("co", "db"), ("u", "db"), ("fe", "cache")])
    assert g.layout() == {"u": (0, 0), "fe": (1, 0), "cache": (2, 0), "co": (2, 1), "db": (3, 0)}


def test_layout_of_a_subset() -> None:
    g = graph_of(CHAIN)
    assert g.layout({"co", "pay", "bank"}) == {"co": (0, 0), "pay": (1, 0), "bank": (2, 0)}


def test_neighbourhood() -> None:
    g = graph_of(CHAIN)
    assert g.neighbourhood({"pay"}) == {"pay", "co", "bank"}
    assert g.neighbourhood({"pay"}, radius=2) == {"pay", "co", "bank", "fe", "admin", "db"}
    assert g.neighbourhood({"nope"}) == set()


# ------------------------------------------------------------------ GraphML


def test_graphml_parses_back_and_escapes_names() -> None:
    hostile = '<script>alert("x")</script>&amp;'
    nodes = {n: Node(n, "service") for n in ("a", hostile, "q'uote")}
    nodes["db"] = Node("db", "database")
    e1 = edge("a", hostile, calls=7, errors=1)
    e1.server_hist = hist(b8=7)
    edges = [e1, edge(hostile, "db", ctype="database"), edge("a", hostile, ctype="virtual"), edge("a", "a")]
    g = ServiceGraph(WINDOW, nodes, edges)
    attrs = {name: {"kind": node.kind, "owner": "team-<b>" if name == "a" else None, "owner_status": "ok"}
             for name, node in nodes.items()}
    text = g.to_graphml(attrs)
    assert "<script>" not in text
    parsed = nx.parse_graphml(text, force_multigraph=True)
    assert set(parsed.nodes) == set(nodes)
    assert parsed.nodes["a"]["owner"] == "team-<b>"
    assert "owner" not in parsed.nodes["db"]
    assert parsed.nodes["db"]["kind"] == "database"
    assert parsed.number_of_edges() == 3  # the self edge is hidden
    assert set(parsed["a"][hostile]) == {"rpc", "virtual"}
    rpc = parsed["a"][hostile]["rpc"]
    assert rpc["calls"] == 7 and rpc["errors"] == 1
    assert rpc["p95_ms"] == pytest.approx(195.0)
    ET.fromstring(text.encode())  # well-formed XML


def test_graphml_with_control_characters_is_well_formed() -> None:
    name = "bad\x01name\x1b[31m"
    g = ServiceGraph(WINDOW, {name: Node(name, "service"), "b": Node("b", "service")}, [edge(name, "b")])
    text = g.to_graphml({name: {"kind": "service", "owner": "team\x00x"}, "b": {"kind": "service"}})
    ET.fromstring(text.encode())  # regression: control characters used to make this not well-formed
    parsed = nx.parse_graphml(text, force_multigraph=True)
    assert set(parsed.nodes) == {"bad\ufffdname\ufffd[31m", "b"}
    assert parsed.nodes["bad\ufffdname\ufffd[31m"]["owner"] == "team\ufffdx"
    assert parsed.number_of_edges() == 1


histograms = st.lists(
    st.lists(st.one_of(st.just(0), st.integers(0, 5), st.integers(0, 2**40)), min_size=HISTOGRAM_SIZE,
             max_size=HISTOGRAM_SIZE),
    min_size=1, max_size=20,
)


@given(histograms, st.sampled_from([0.0, 0.01, 0.5, 0.95, 0.99, 1.0]))
def test_quantiles_of_many_histograms_equal_the_one_at_a_time_function(rows: list[list[int]], q: float) -> None:
    assert histogram_quantiles(q, np.array(rows, np.int64)) == [reference_quantile(q, row) for row in rows]


@given(st.lists(st.one_of(st.just(0), st.integers(1, 2**63 - 1)), max_size=20))
def test_timestamps_of_many_values_equal_the_one_at_a_time_function(values: list[int]) -> None:
    assert iso_ns_many(values) == [iso_ns(v) for v in values]


def test_timestamps_are_truncated_to_the_millisecond() -> None:
    assert iso_ns(1_790_000_000_999_999_999) == "2026-09-21T14:13:20.999Z"
    assert iso_ns(0) is None


def test_call_counts_are_the_edges_read_from_the_columns(store: SQLiteStore) -> None:
    agg = Aggregator()
    call(agg, "a", "b", T0, failed=True)
    call(agg, "a", "b", T0 + 1)
    call(agg, "a", "a", T0 + 2)
    call(agg, "b", "db", T0 + 3, ctype="database", server_kind="database")
    write(store, agg)
    for include_self in (False, True):
        g = ServiceGraph.from_store(store, WINDOW, include_self=include_self)
        counts = sorted(g.call_counts())  # before `edges` is made: from the table
        assert "edges" not in g.__dict__
        expected = [("a", "b", 2, 1), ("b", "db", 1, 0)] + ([("a", "a", 1, 0)] if include_self else [])
        assert counts == sorted(expected) == sorted((e.source, e.target, e.calls, e.errors) for e in g.edges)
