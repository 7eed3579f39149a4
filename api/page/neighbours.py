"""Who is next to whom, with call counts, and which part of a neighbourhood the map can draw."""

from __future__ import annotations

import threading
import weakref
from collections import deque
from collections.abc import Iterable
from dataclasses import dataclass, field

from graph.service_graph import ServiceGraph

# Adjacencies of the graphs that are alive (a cached window's graph serves many page requests).
_MADE: weakref.WeakKeyDictionary[ServiceGraph, Adjacency] = weakref.WeakKeyDictionary()
_MADE_LOCK = threading.Lock()
STUB_PREFIX = "\u2063more\u2063"  # ids of "+k more" boxes (an invisible separator keeps them apart from names)


@dataclass
class Adjacency:
    """Per node: callers and callees with the calls and errors between them (self-calls left out)."""

    callers: dict[str, dict[str, tuple[int, int]]] = field(default_factory=dict)
    callees: dict[str, dict[str, tuple[int, int]]] = field(default_factory=dict)

    @classmethod
    def of(cls, graph: ServiceGraph) -> Adjacency:
        """The graph's adjacency, made once per graph object and dropped with it."""
        with _MADE_LOCK:
            found = _MADE.get(graph)
        if found is None:
            found = cls.build((e.source, e.target, e.calls, e.errors) for e in graph.edges)
            with _MADE_LOCK:
                _MADE[graph] = found
        return found

    @classmethod
    def build(cls, edges: Iterable[tuple[str, str, int, int]]) -> Adjacency:
        """From (source, target, calls, errors); parallel edges (connection types) are summed."""
        adj = cls()
        for source, target, calls, errors in edges:
            if source == target:
                continue
            out = adj.callees.setdefault(source, {})
            c, e = out.get(target, (0, 0))
            out[target] = (c + calls, e + errors)
            adj.callers.setdefault(target, {})[source] = (c + calls, e + errors)
        return adj

    def neighbours(self, name: str) -> dict[str, int]:
        """Every node one edge away, either direction, with the calls between them."""
        out: dict[str, int] = {}
        for other, (calls, _) in self.callers.get(name, {}).items():
            out[other] = out.get(other, 0) + calls
        for other, (calls, _) in self.callees.get(name, {}).items():
            out[other] = out.get(other, 0) + calls
        return out

    def edges_among(self, names: set[str]) -> list[dict[str, int | str]]:
        """The edges between drawn nodes (work bounded by their degrees)."""
        return [
            {"source": source, "target": target, "calls": calls, "errors": errors}
            for source in sorted(names)
            for target, (calls, errors) in sorted(self.callees.get(source, {}).items())
            if target in names
        ]


@dataclass
class Stub:
    """A folded "+k more" box: `count` nodes beyond `anchor` that the map leaves out."""

    id: str
    anchor: str
    count: int
    calls: int
    upstream: bool  # the folded nodes mostly call the anchor


@dataclass
class Selection:
    """What a view draws: at most `cap` nodes, the rest folded into stubs next to a drawn node."""

    nodes: set[str]
    stubs: list[Stub]
    reached: int  # nodes in the whole neighbourhood (drawn + folded)


def select(adj: Adjacency, seeds: list[str], hops: int, cap: int) -> Selection:
    """The `hops`-neighbourhood of `seeds` (given best first), all of it when it fits in `cap`.

    Otherwise the seeds come first (in their order), then nodes nearer the seeds, and among
    those the ones with the most calls to the ring inside them; everything else is folded into
    one stub per drawn node it hangs from. The work is bounded by the neighbourhood's edges.
    """
    distance: dict[str, int] = {}
    parent: dict[str, str] = {}
    strength: dict[str, int] = {}
    order: list[str] = []
    queue: deque[str] = deque()
    for seed in seeds:
        if seed not in distance:
            distance[seed] = 0
            order.append(seed)
            queue.append(seed)
    while queue:
        name = queue.popleft()
        if distance[name] >= hops:
            continue
        for other, calls in adj.neighbours(name).items():
            if other not in distance:
                distance[other] = distance[name] + 1
                parent[other] = name
                order.append(other)
                queue.append(other)
            if distance[other] == distance[name] + 1:
                strength[other] = strength.get(other, 0) + calls
    if len(order) <= cap:
        return Selection(set(order), [], len(order))
    seeds_first = [n for n in order if distance[n] == 0][:cap]
    rest = sorted((n for n in order if distance[n] > 0), key=lambda n: (distance[n], -strength.get(n, 0), n))
    kept = set(seeds_first) | set(rest[: cap - len(seeds_first)])
    folded: dict[str, list[str]] = {}
    for name in order:
        if name in kept:
            continue
        anchor = name
        while anchor not in kept and anchor in parent:
            anchor = parent[anchor]
        if anchor in kept:
            folded.setdefault(anchor, []).append(name)
    stubs = []
    for anchor, names in sorted(folded.items()):
        stub_id = STUB_PREFIX + anchor
        if stub_id in kept:
            continue
        calls = sum(strength.get(n, 0) for n in names)
        upstream = sum(1 for n in names if anchor in adj.callees.get(n, {})) * 2 > len(names)
        stubs.append(Stub(stub_id, anchor, len(names), calls, upstream))
    return Selection(kept, stubs, len(order))
