"""Cumulative counters since the process started, for the Prometheus series (ownermap.metrics):
per edge (the service-graph series) and per service the calls from callers that never report
(DESIGN §2 rule 11). Updated by the writer thread after each written batch, read by scrapes."""

from __future__ import annotations

import threading

from graph.aggregate import AggregateBatch, EdgeAggregate
from graph.unmatched import SIGNALS


class EdgeTotals:
    """Cumulative counters per (client, server, connection_type) since the process started, for the
    Prometheus service-graph series. Updated by the writer thread, read by scrapes."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._totals: dict[tuple[str, str, str], EdgeAggregate] = {}
        self._unmatched: dict[str, tuple[int, int]] = {}  # service → (calls, failed)
        self._signals: dict[str, list[int]] = {}  # service → counts of graph.unmatched.SIGNALS

    def add(self, batch: AggregateBatch) -> None:
        """Count a batch that was written."""
        with self._lock:
            for (_, client, server, ctype, _), edge in batch.edges.items():
                key = (client, server, ctype)
                total = self._totals.get(key)
                if total is None:
                    total = self._totals[key] = EdgeAggregate(edge.client_kind, edge.server_kind, edge.first_ns)
                total.merge(edge)
            for (_, service, _), agg in batch.unmatched.items():
                calls, failed = self._unmatched.get(service, (0, 0))
                self._unmatched[service] = (calls + agg.calls, failed + agg.failed)
                counts = self._signals.setdefault(service, [0] * len(SIGNALS))
                for i, name in enumerate(SIGNALS):
                    counts[i] += getattr(agg, name)

    def snapshot(self) -> list[tuple[tuple[str, str, str], EdgeAggregate]]:
        """A consistent copy of the totals."""
        with self._lock:
            return [(key, total.copy()) for key, total in self._totals.items()]

    def unmatched_in(self) -> dict[str, tuple[int, int]]:
        """Per service: (calls, failed) from callers that never report (rule 11), since the start."""
        with self._lock:
            return dict(self._unmatched)

    def signals(self) -> dict[str, dict[str, int]]:
        """Per service: the instrumentation signals counted since the start."""
        with self._lock:
            return {service: dict(zip(SIGNALS, counts, strict=True)) for service, counts in self._signals.items()}
