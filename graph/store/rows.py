"""Row types: what the store reads and writes, as named records rather than positional tuples."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from graph.adjacency import Adjacency
from graph.aggregate import AggregateBatch
from graph.model import HISTOGRAM_SIZE, MAX_EXEMPLARS

Rows = list[tuple[Any, ...]]
TopologyEdge = tuple[str, str, str, str]  # client, server, client_kind, server_kind


class TopologyRows:
    """A window's edges as (client, server, client_kind, server_kind) and its services, read lazily,
    with a digest of that content when the store can give one (equal digests: equal content)."""

    def __init__(self, key: bytes | None, read: Callable[[], tuple[list[TopologyEdge], list[str]]]) -> None:
        self.key = key
        self._read = read
        self._rows: tuple[list[TopologyEdge], list[str]] | None = None

    def rows(self) -> tuple[list[TopologyEdge], list[str]]:
        """The edges and the services."""
        if self._rows is None:
            self._rows = self._read()
        return self._rows


def batch_rows(batch: AggregateBatch) -> tuple[Rows, Rows, Rows]:
    """Rows for the three upserts of one batch."""
    edge_rows = [
        (
            *key, e.client_kind, e.server_kind, e.calls, e.failed, e.client_sum, e.server_sum,
            e.queue_sum, e.queue_count, *e.client_hist, *e.server_hist, e.first_ns, e.last_ns,
            ",".join(e.exemplars),
        )
        for key, e in batch.edges.items()
    ]
    service_rows = [(*key, s.spans, s.errors, s.first_ns, s.last_ns) for key, s in batch.services.items()]
    last_seen: dict[str, int] = {}
    for (_, service, _), s in batch.services.items():
        last_seen[service] = max(last_seen.get(service, 0), s.last_ns)
    hint_rows = [
        (service, json.dumps(hints, sort_keys=True), last_seen.get(service, 0))
        for service, hints in batch.hints.items()
    ]
    return edge_rows, service_rows, hint_rows


@dataclass(slots=True)
class EdgeRow:
    """An edge summed over a window."""

    client: str
    server: str
    connection_type: str
    client_kind: str
    server_kind: str
    calls: int
    failed: int
    client_sum: float
    server_sum: float
    queue_sum: float
    queue_count: int
    client_hist: list[int]
    server_hist: list[int]
    first_seen_ns: int
    last_seen_ns: int
    exemplars: list[str] = field(default_factory=list)

    @classmethod
    def from_sql(cls, row: tuple[Any, ...]) -> EdgeRow:
        """Build from a row of `edge_query`."""
        n = HISTOGRAM_SIZE
        client, server, ctype, ck, sk, calls, failed, csum, ssum, qsum, qcount = row[:11]
        client_hist = [int(v) for v in row[11:11 + n]]
        server_hist = [int(v) for v in row[11 + n:11 + 2 * n]]
        first, last, exemplars = row[11 + 2 * n:]
        return cls(
            client, server, ctype, ck, sk, int(calls), int(failed), float(csum), float(ssum),
            float(qsum), int(qcount), client_hist, server_hist, int(first), int(last),
            exemplar_ids(exemplars or ""),
        )


def exemplar_ids(joined: str) -> list[str]:
    """The distinct trace ids of a comma-joined exemplars column (at most MAX_EXEMPLARS)."""
    return [e for e in dict.fromkeys(joined.split(",")) if e][:MAX_EXEMPLARS]


@dataclass(frozen=True)
class EdgeStates:
    """Names of the states of an EdgeTable's rows: (token, slot, version) per row, as arrays. Equal
    names: equal sums (graph.store.window_sums bumps a slot's version whenever its sums change)."""

    token: int  # the kept sums the rows come from
    slots: np.ndarray  # per row, its slot in those sums
    versions: np.ndarray  # per row, the slot's version


@dataclass
class EdgeTable:
    """Edges summed over a window as columns (one entry per edge); histograms are matrices with
    one edge a row. Answers about thousands of edges are computed from these without a Python
    object per edge and per counter."""

    client: list[str]
    server: list[str]
    connection_type: list[str]
    client_kind: list[str]
    server_kind: list[str]
    calls: list[int]
    failed: list[int]
    client_sum: list[float]
    server_sum: list[float]
    queue_sum: list[float]
    queue_count: list[int]
    client_hist: np.ndarray
    server_hist: np.ndarray
    first_seen_ns: list[int]
    last_seen_ns: list[int]
    exemplars: list[list[str]]
    order: list[int] | None = None  # the rows sorted by (client, server, connection_type), when known
    states: EdgeStates | None = None  # per row, a name of its current state, when known
    adjacency: Adjacency | None = None  # the rows into and out of each node, when kept with the names

    def __len__(self) -> int:
        return len(self.client)

    def rows(self) -> list[EdgeRow]:
        """One EdgeRow per edge."""
        client_hist, server_hist = self.client_hist.tolist(), self.server_hist.tolist()
        return [
            EdgeRow(*values, client_hist[i], server_hist[i], first, last, exemplars)
            for i, (*values, first, last, exemplars) in enumerate(zip(
                self.client, self.server, self.connection_type, self.client_kind, self.server_kind, self.calls,
                self.failed, self.client_sum, self.server_sum, self.queue_sum, self.queue_count,
                self.first_seen_ns, self.last_seen_ns, self.exemplars, strict=True))
        ]

    @classmethod
    def from_rows(cls, rows: list[EdgeRow]) -> EdgeTable:
        """Columns of EdgeRows."""
        shape = (len(rows), HISTOGRAM_SIZE)
        return cls(
            [r.client for r in rows], [r.server for r in rows], [r.connection_type for r in rows],
            [r.client_kind for r in rows], [r.server_kind for r in rows], [r.calls for r in rows],
            [r.failed for r in rows], [r.client_sum for r in rows], [r.server_sum for r in rows],
            [r.queue_sum for r in rows], [r.queue_count for r in rows],
            np.array([r.client_hist for r in rows], np.int64).reshape(shape),
            np.array([r.server_hist for r in rows], np.int64).reshape(shape),
            [r.first_seen_ns for r in rows], [r.last_seen_ns for r in rows], [r.exemplars for r in rows],
        )


@dataclass
class ServiceRow:
    """A service's sightings summed over a window."""

    service: str
    spans: int
    error_spans: int
    first_seen_ns: int
    last_seen_ns: int


@dataclass
class ChangeSet:
    """What `SqlStore.read_changes` found: rows as (resolution 0 = 5-minute / 1 = hourly, row)."""

    watermark: int
    compactions: int
    fine_cutoff: int
    expired: int
    edges: list[tuple[int, tuple[Any, ...]]] = field(default_factory=list)
    services: list[tuple[int, tuple[Any, ...]]] = field(default_factory=list)
    below_horizon: bool = False  # a changed row lies before the horizon (what readers sum in SQL changed)
