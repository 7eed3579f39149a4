"""Per node, which edge rows go into it and out of it: the topology of a window's edge table, made
once per set of edges and shared by every window with the same name columns (graph.store.edge_names)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence


class Adjacency:
    """The rows of the edges into and out of each node (self-calls left out), in row order, with the
    callers of each node as a tuple, the self-calls' rows, every node named and the clients of each
    kind; each made on first use (two threads asking at once may both make one: the same, so either
    is kept). Shared between answers: never changed."""

    def __init__(self, sources: Sequence[str], targets: Sequence[str], source_kinds: Sequence[str] = ()) -> None:
        self._sources = sources
        self._targets = targets
        self._source_kinds = source_kinds
        self._made: tuple[dict[str, list[int]], dict[str, list[int]]] | None = None
        self._callers: dict[str, tuple[str, ...]] = {}
        self._self_rows: list[int] | None = None
        self._nodes: frozenset[str] | None = None
        self._clients: dict[str, frozenset[str]] = {}

    def _rows(self) -> tuple[dict[str, list[int]], dict[str, list[int]]]:
        if self._made is None:
            into: dict[str, list[int]] = {}
            out_of: dict[str, list[int]] = {}
            for row, (source, target) in enumerate(zip(self._sources, self._targets, strict=True)):
                if source != target:
                    into.setdefault(target, []).append(row)
                    out_of.setdefault(source, []).append(row)
            self._made = (into, out_of)
        return self._made

    def into(self, name: str) -> list[int]:
        """The rows of the edges into `name` (no self-call)."""
        return self._rows()[0].get(name, [])

    def out_of(self, name: str) -> list[int]:
        """The rows of the edges out of `name` (no self-call)."""
        return self._rows()[1].get(name, [])

    def callers(self, name: str) -> tuple[str, ...]:
        """The source of each edge into `name`, in row order (a caller twice when it calls in two ways)."""
        found = self._callers.get(name)
        if found is None:
            sources = self._sources
            found = self._callers[name] = tuple(sources[row] for row in self.into(name))
        return found

    def self_rows(self) -> list[int]:
        """The rows of self-calls (A → A)."""
        if self._self_rows is None:
            self._self_rows = [row for row, (s, t) in enumerate(zip(self._sources, self._targets, strict=True))
                               if s == t]
        return self._self_rows

    def nodes(self) -> frozenset[str]:
        """Every node an edge names (as source or target)."""
        if self._nodes is None:
            self._nodes = frozenset(self._sources) | frozenset(self._targets)
        return self._nodes

    def clients_of_kind(self, kind: str) -> frozenset[str]:
        """The sources whose kind (the `source_kinds` given) is `kind`."""
        found = self._clients.get(kind)
        if found is None:
            found = self._clients[kind] = frozenset(
                source for source, k in zip(self._sources, self._source_kinds, strict=True) if k == kind)
        return found

    def rows_touching(self, names: Iterable[str]) -> list[int]:
        """The rows of every edge from or to one of `names` (self-calls included), in row order."""
        wanted = set(names)
        if self._made is None:  # one pass over the rows rather than the whole adjacency made for a few nodes
            return [row for row, (s, t) in enumerate(zip(self._sources, self._targets, strict=True))
                    if s in wanted or t in wanted]
        rows = {row for name in wanted for row in (*self.into(name), *self.out_of(name))}
        rows.update(row for row in self.self_rows() if self._sources[row] in wanted)
        return sorted(rows)
