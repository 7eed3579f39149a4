"""Per node, which edge rows go into it and out of it: the topology of a window's edge table, made
once per set of edges and shared by every window with the same name columns (graph.store.edge_names)."""

from __future__ import annotations

import threading
from collections.abc import Sequence


class Adjacency:
    """The rows of the edges into and out of each node (self-calls left out), in row order, with the
    callers of each node as a tuple; made on first use. Shared between answers: never changed."""

    def __init__(self, sources: Sequence[str], targets: Sequence[str]) -> None:
        self._sources = sources
        self._targets = targets
        self._lock = threading.Lock()
        self._made: tuple[dict[str, list[int]], dict[str, list[int]]] | None = None
        self._callers: dict[str, tuple[str, ...]] = {}

    def _rows(self) -> tuple[dict[str, list[int]], dict[str, list[int]]]:
        made = self._made
        if made is None:
            with self._lock:
                if self._made is None:
                    into: dict[str, list[int]] = {}
                    out_of: dict[str, list[int]] = {}
                    for row, (source, target) in enumerate(zip(self._sources, self._targets, strict=True)):
                        if source != target:
                            into.setdefault(target, []).append(row)
                            out_of.setdefault(source, []).append(row)
                    self._made = (into, out_of)
                made = self._made
        return made

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
