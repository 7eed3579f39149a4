"""Who depends on whom: reach and blast radius over a window's topology."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable
from typing import Any, NamedTuple

import networkx as nx

from graph.model import NodeKind
from graph.store.rows import TopologyRows

# Reach answers a topology keeps: a topology is shared by every window with the same content (its
# digest), and dashboards ask about the same few services over and over.
REMEMBERED_REACHES = 256


def reach_counts(graph: nx.DiGraph, counted: set[str] | None = None) -> dict[str, int]:
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


class ReachListing(NamedTuple):
    """Nodes reached from one node: (name, kind, owner, distance) nearest first, then by name; and
    their owners, each once, in that order."""

    rows: list[tuple[str, str, str | None, int]]
    owners: list[str]


def _by_distance_then_name(item: tuple[str, int]) -> tuple[int, str]:
    return item[1], item[0]


class Topology:
    """Who calls whom (no counters), as adjacency dicts: enough for blast-radius questions, and cheap
    to build again when a moving window's edges change (no networkx graph to make).

    Self-calls are left out: a node does not depend on itself.
    """

    def __init__(self, kinds: dict[str, str], pairs: Iterable[tuple[str, str]]) -> None:
        self.kinds = kinds
        self._pairs = [(source, target) for source, target in pairs if source != target]
        self._lock = threading.Lock()
        self._adjacent: dict[bool, dict[str, list[str]]] = {}  # by direction, made when first asked
        self._reached: dict[tuple[bool, str, int | None], dict[str, int]] = {}  # answers, by direction, node, depth
        self._listed: dict[tuple[str, str, int | None, object], ReachListing] = {}  # the same with owners

    def _neighbours(self, callers: bool) -> dict[str, list[str]]:
        """Callers (or callees) of each node, in the order the pairs came (repeats kept: harmless)."""
        with self._lock:
            found = self._adjacent.get(callers)
            if found is None:
                found = {}
                for source, target in self._pairs:
                    if callers:
                        source, target = target, source
                    listed = found.get(source)
                    if listed is None:
                        found[source] = [target]
                    else:
                        listed.append(target)
                self._adjacent[callers] = found
            return found

    @classmethod
    def from_rows(cls, rows: TopologyRows) -> Topology:
        """Build from what Store.topology read."""
        edges, services = rows.rows()
        return cls(_node_kinds(services, edges), ((client, server) for client, server, _, _ in edges))

    def has_node(self, name: str) -> bool:
        """True when the node was seen in the window."""
        return name in self.kinds

    def dependents(self, name: str, depth: int | None = None) -> dict[str, int]:
        """Nodes that (transitively) call `name`, with their distance: who breaks if it breaks.
        Remembered with the topology (shared between answers: never change it)."""
        return self._reach(True, name, depth)

    def dependencies(self, name: str, depth: int | None = None) -> dict[str, int]:
        """Nodes that `name` (transitively) calls, with their distance (remembered, shared like dependents)."""
        return self._reach(False, name, depth)

    def listing(self, direction: str, name: str, depth: int | None, owner_of: Callable[[str, str], str | None],
                owners_key: object = None) -> ReachListing:
        """`dependents` (or `dependencies`) nearest first, then by name, with each node's kind and owner
        (`owner_of(name, kind)`), and the owners in the order they first appear. Remembered per
        `owners_key` (what `owner_of` answers from, e.g. the catalog lens; None: not remembered),
        shared like dependents."""
        key = (direction, name, depth, owners_key)
        found = self._listed.get(key) if owners_key is not None else None
        if found is None:
            reached = self.dependents(name, depth) if direction == "dependents" else self.dependencies(name, depth)
            rows = []
            owners: dict[str, None] = {}  # in order of first appearance
            kinds = self.kinds
            for other, distance in sorted(reached.items(), key=_by_distance_then_name):
                kind = kinds[other]
                owner = owner_of(other, kind)
                rows.append((other, kind, owner, distance))
                if owner:
                    owners[owner] = None
            found = ReachListing(rows, list(owners))
            if owners_key is not None:
                self._remember(self._listed, key, found)
        return found

    def _reach(self, callers: bool, name: str, depth: int | None) -> dict[str, int]:
        if name not in self.kinds:
            raise KeyError(name)
        key = (callers, name, depth)
        found = self._reached.get(key)
        if found is None:
            found = _distances(self._neighbours(callers), name, depth)
            self._remember(self._reached, key, found)
        return found

    def _remember(self, memory: dict[Any, Any], key: Any, answer: Any) -> None:
        """Keep an answer, forgetting every kept one of its kind when REMEMBERED_REACHES are kept."""
        with self._lock:
            if len(memory) >= REMEMBERED_REACHES:
                memory.clear()
            memory[key] = answer


def _distances(adjacent: dict[str, list[str]], name: str, depth: int | None) -> dict[str, int]:
    """Breadth-first distances from `name` (itself left out), at most `depth` hops."""
    seen = {name: 0}
    level, distance = [name], 0
    while level and (depth is None or distance < depth):
        distance += 1
        following = []
        for node in level:
            for other in adjacent.get(node, ()):
                if other not in seen:
                    seen[other] = distance
                    following.append(other)
        level = following
    del seen[name]
    return seen


def _node_kinds(services: Iterable[str], edges: Iterable[tuple[str, str, str, str]]) -> dict[str, str]:
    """Services that sent spans are services; any other node takes the kind its edges give it."""
    kinds = dict.fromkeys(services, NodeKind.SERVICE)
    for client, server, client_kind, server_kind in edges:
        kinds.setdefault(client, client_kind)
        kinds.setdefault(server, server_kind)
    return kinds
