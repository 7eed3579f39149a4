"""Reach over a window's topology: the same distances as networkx, without building a networkx graph."""

from __future__ import annotations

import random

import networkx as nx
import pytest

from graph.model import NodeKind
from graph.reach import Topology


@pytest.mark.parametrize("seed", range(8))
def test_topology_distances_equal_networkx_shortest_paths(seed: int, monkeypatch: pytest.MonkeyPatch) -> None:
    rng = random.Random(seed)
    names = [f"s{i}" for i in range(rng.randint(2, 40))]
    pairs = [(rng.choice(names), rng.choice(names)) for _ in range(rng.randint(0, 120))]  # cycles, self-calls
    expected = nx.DiGraph()
    expected.add_nodes_from(names)
    expected.add_edges_from((a, b) for a, b in pairs if a != b)

    def no_networkx(*args: object, **kwargs: object) -> None:
        raise AssertionError("a topology is built and asked without networkx")

    monkeypatch.setattr(nx, "DiGraph", no_networkx)
    topology = Topology(dict.fromkeys(names, NodeKind.SERVICE), pairs)
    for name in names:
        for depth in (None, 1, 2):
            for mine, graph in ((topology.dependencies(name, depth), expected),
                                (topology.dependents(name, depth), expected.reverse(copy=False))):
                want = nx.single_source_shortest_path_length(graph, name, cutoff=depth)
                want.pop(name)
                assert mine == want and list(mine) == list(want), (name, depth)  # same order too


def test_an_unknown_node_has_no_reach() -> None:
    topology = Topology({"a": NodeKind.SERVICE}, [])
    assert topology.dependents("a") == {} and not topology.has_node("b")
    with pytest.raises(KeyError):
        topology.dependents("b")


def _diamond() -> Topology:
    kinds = {"web": NodeKind.SERVICE, "api": NodeKind.SERVICE, "auth": NodeKind.SERVICE, "db": NodeKind.DATABASE}
    return Topology(kinds, [("web", "api"), ("web", "auth"), ("api", "db"), ("auth", "db")])


def test_a_listing_orders_by_distance_then_name_with_owners_once_in_that_order() -> None:
    owners = {"web": "frontend", "api": "payments", "auth": "payments"}
    listing = _diamond().listing("dependents", "db", None, lambda name, kind: owners.get(name), owners_key=None)
    assert listing.rows == [("api", "service", "payments", 1), ("auth", "service", "payments", 1),
                            ("web", "service", "frontend", 2)]
    assert listing.owners == ["payments", "frontend"]
    assert _diamond().listing("dependencies", "web", 1, lambda name, kind: kind, None).rows == [
        ("api", "service", "service", 1), ("auth", "service", "service", 1)]


def test_reach_answers_are_remembered_per_question_and_per_owners_key() -> None:
    topology = _diamond()
    assert topology.dependents("db") is topology.dependents("db")
    assert topology.dependents("db", 1) == {"api": 1, "auth": 1} != topology.dependents("db")
    first = topology.listing("dependents", "db", None, lambda name, kind: "team-a", owners_key="catalog-1")
    assert topology.listing("dependents", "db", None, lambda name, kind: "ignored", owners_key="catalog-1") is first
    other = topology.listing("dependents", "db", None, lambda name, kind: "team-b", owners_key="catalog-2")
    assert other.owners == ["team-b"] and first.owners == ["team-a"]
    # Without a key nothing is remembered: each listing asks owner_of again.
    assert topology.listing("dependents", "db", None, lambda name, kind: "team-c").owners == ["team-c"]
    assert topology.listing("dependents", "db", None, lambda name, kind: "team-d").owners == ["team-d"]
