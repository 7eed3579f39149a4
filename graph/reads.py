"""`GraphReader`: what the API reads windows through, whatever serves them (a SQL store summing
in the database, or the in-memory `graph.store.mirror.QueryMirror`). Its caches live here."""

from __future__ import annotations

import threading
from collections.abc import Callable

from graph.edges import MadeEdges
from graph.model import Window
from graph.service_graph import ServiceGraph, Topology
from graph.store.reads import WindowReads

TOPOLOGIES = 16  # topologies kept by content digest


class GraphReader:
    """Graphs and topologies of windows (read-only)."""

    def __init__(self, source: WindowReads) -> None:
        self._source = source
        self._lock = threading.Lock()
        self._topologies: dict[bytes, Topology] = {}
        self._made = MadeEdges()

    @property
    def bucket_seconds(self) -> int:
        """The finest bucket of the data (windows aligned to it ask for the same rows)."""
        return self._source.bucket_seconds

    def graph(self, window: Window, env: str | None, include_self: bool = False) -> ServiceGraph:
        """The service graph of a window."""
        return ServiceGraph.from_store(self._source, window, env, include_self, self._made)

    def topology(self, window: Window, env: str | None,
                 without_digest: Callable[[], Topology] | None = None) -> Topology:
        """Who calls whom in a window, reused while the source reports the same content digest.

        A source that gives no digest: `without_digest()` when given (e.g. a cached graph's), else
        built from the rows.
        """
        rows = self._source.topology(window, env)
        if rows.key is None:
            return without_digest() if without_digest is not None else Topology.from_rows(rows)
        with self._lock:
            found = self._topologies.get(rows.key)
        if found is None:
            found = Topology.from_rows(rows)
            with self._lock:
                if len(self._topologies) >= TOPOLOGIES:
                    self._topologies.pop(next(iter(self._topologies)))
                self._topologies[rows.key] = found
        return found
