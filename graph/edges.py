"""Edges of a window as the API shows them: latency percentiles from histograms, ISO times."""

from __future__ import annotations

import threading
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import numpy as np
import orjson

from graph.model import HISTOGRAM_SIZE, LATENCY_BUCKETS
from graph.store.rows import EdgeTable

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def iso_ns(ns: int) -> str | None:
    """Nanoseconds since the epoch as ISO 8601 UTC, to the millisecond (None for 0)."""
    if not ns:
        return None
    return (_EPOCH + timedelta(microseconds=ns // 1000)).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def iso_ns_many(values: Sequence[int]) -> list[str | None]:
    """`iso_ns` of many values at once (numpy: the same truncation to the millisecond)."""
    if not values:
        return []
    ns = np.asarray(values, np.int64)
    text = np.datetime_as_string(ns.astype("datetime64[ns]").astype("datetime64[ms]"), unit="ms").tolist()
    return [f"{t}Z" if v else None for t, v in zip(text, ns.tolist(), strict=True)]


_UPPER = np.array([*LATENCY_BUCKETS, LATENCY_BUCKETS[-1]])
_LOWER = np.array([0.0, *LATENCY_BUCKETS])


def histogram_quantiles(q: float, counts: np.ndarray) -> list[float | None]:
    """The q-quantile (seconds) of every histogram (one a row of `counts`), interpolating linearly
    inside the bucket that reaches the rank; None for an empty histogram, 15 s (the last bound)
    past the last bucket. Computed for all rows at once: thousands of edges per answer."""
    if counts.shape[1] == 0:
        return [None] * len(counts)
    totals = counts.sum(axis=1)
    rank = q * totals
    cumulative = np.cumsum(counts, axis=1)
    hit = (cumulative >= rank[:, None]) & (counts > 0)
    i = hit.argmax(axis=1)  # the first bucket reaching the rank
    rows = np.arange(len(counts))
    count = counts[rows, i]
    before = cumulative[rows, i] - count
    lower, upper = _LOWER[i], _UPPER[i]
    with np.errstate(divide="ignore", invalid="ignore"):
        value = lower + (upper - lower) * (rank - before) / count
    value = np.where(i >= len(LATENCY_BUCKETS), LATENCY_BUCKETS[-1], value)
    return [None if t == 0 else v for v, t in zip(value.tolist(), totals.tolist(), strict=True)]


@dataclass(slots=True)
class Edge:
    """One (client, server, connection_type) edge over the window."""

    source: str
    target: str
    connection_type: str
    calls: int
    errors: int
    client_hist: Sequence[int]  # a list, or a row of an EdgeTable's matrix
    server_hist: Sequence[int]
    first_seen_ns: int
    last_seen_ns: int
    exemplars: list[str] = field(default_factory=list)
    queue_sum: float = 0.0
    queue_count: int = 0



def _rounded_ms(values: list[float | None]) -> list[float | None]:
    """Seconds as milliseconds rounded to the microsecond (numpy: builtin round is ~1 µs a value)."""
    present = np.array([0.0 if v is None else v for v in values]) * 1000
    return [None if v is None else r for v, r in zip(values, np.round(present, 3).tolist(), strict=True)]


def edge_dicts(edges: Sequence[Edge]) -> list[dict[str, Any]]:
    """The API's edge objects, percentiles computed for all edges at once."""
    shape = (len(edges), HISTOGRAM_SIZE)
    return _edge_dicts(
        [e.source for e in edges], [e.target for e in edges], [e.connection_type for e in edges],
        [e.calls for e in edges], [e.errors for e in edges],
        np.array([e.client_hist for e in edges], np.int64).reshape(shape),
        np.array([e.server_hist for e in edges], np.int64).reshape(shape),
        [e.queue_sum for e in edges], [e.queue_count for e in edges], [e.first_seen_ns for e in edges],
        [e.last_seen_ns for e in edges], [e.exemplars for e in edges],
    )


class MadeEdges:
    """Edge objects made from EdgeTable rows whose state is named (graph.store.rows.EdgeStates: an
    edge of a window's kept sums, at a version): an edge whose sums did not change is not made again,
    nor encoded to JSON again. Held by whoever reads windows (graph.reads.GraphReader); kept for the
    last `windows` kept sums."""

    def __init__(self, windows: int = 2) -> None:
        self.windows = windows
        self._lock = threading.Lock()
        # token → versions, dicts, and per slot the dict last encoded with its JSON
        self._made: dict[int, tuple[np.ndarray, list[dict[str, Any] | None], dict[int, tuple[Any, bytes]]]] = {}

    def _kept(self, token: int, slots: int) -> tuple[np.ndarray, list[dict[str, Any] | None],
                                                     dict[int, tuple[Any, bytes]]]:
        versions, made, encoded = self._made.pop(token, None) or (np.zeros(0, np.int64), [], {})
        if len(versions) < slots:
            versions = np.r_[versions, np.full(slots - len(versions), -1, np.int64)]
            made = made + [None] * (slots - len(made))
        while len(self._made) >= self.windows:
            self._made.pop(next(iter(self._made)))
        self._made[token] = (versions, made, encoded)  # most recent last
        return versions, made, encoded

    def dicts(self, table: EdgeTable, rows: Sequence[int]) -> list[dict[str, Any]]:
        """`edge_dicts` of some rows of an EdgeTable, reusing those made for the same edge state.
        The dicts may be shared between answers: callers must not change them."""
        return self._made_dicts(table, rows)[1]

    def encoded(self, table: EdgeTable, rows: Sequence[int]) -> list[tuple[dict[str, Any], bytes]]:
        """`dicts` of the rows, each with its compact JSON (orjson), encoded again only when the
        edge's dict was made again."""
        slots, dicts, encoded = self._made_dicts(table, rows)
        if encoded is None:
            return [(edge, orjson.dumps(edge)) for edge in dicts]
        out = []
        for slot, edge in zip(slots, dicts, strict=True):
            kept = encoded.get(slot)
            if kept is None or kept[0] is not edge:
                kept = encoded[slot] = (edge, orjson.dumps(edge))
            out.append(kept)
        return out

    def _made_dicts(self, table: EdgeTable, rows: Sequence[int]) -> tuple[
            list[int], list[dict[str, Any]], dict[int, tuple[Any, bytes]] | None]:
        """The rows' kept-sums slots, their dicts (made again only where the version changed) and the
        slots' kept encodings (None, with no slots, when the table names no edge states)."""
        states = table.states
        if states is None or not len(rows):
            return [], table_edge_dicts(table, rows), None
        index = np.asarray(rows, np.int64)
        slots, versions = states.slots[index], states.versions[index]
        with self._lock:
            kept_versions, made, encoded = self._kept(states.token, int(slots.max()) + 1)
            missing = np.flatnonzero(kept_versions[slots] != versions)
        fresh = table_edge_dicts(table, index[missing].tolist()) if len(missing) else []
        slot_list = slots.tolist()
        with self._lock:
            for slot, edge in zip(slots[missing].tolist(), fresh, strict=True):
                made[slot] = edge
            kept_versions[slots[missing]] = versions[missing]
            return slot_list, [made[slot] for slot in slot_list], encoded  # type: ignore[misc]


def table_edge_dicts(table: EdgeTable, rows: Sequence[int]) -> list[dict[str, Any]]:
    """`edge_dicts` of some rows of an EdgeTable, read from its columns (no Edge objects)."""

    def pick(column: list[Any]) -> list[Any]:
        return [column[i] for i in rows]

    index = np.asarray(rows, np.int64)
    return _edge_dicts(
        pick(table.client), pick(table.server), pick(table.connection_type), pick(table.calls), pick(table.failed),
        table.client_hist[index], table.server_hist[index], pick(table.queue_sum), pick(table.queue_count),
        pick(table.first_seen_ns), pick(table.last_seen_ns), pick(table.exemplars),
    )


def _edge_dicts(
    source: list[str], target: list[str], ctype: list[str], calls: list[int], errors: list[int], client: np.ndarray,
    server: np.ndarray, queue_sum: list[float], queue_count: list[int], first_ns: list[int], last_ns: list[int],
    exemplars: list[list[str]],
) -> list[dict[str, Any]]:
    if not source:
        return []
    # Server-side latency where measured, else client-side.
    latency = np.where((server.sum(axis=1) > 0)[:, None], server, client)
    p50, p95, p99 = (_rounded_ms(histogram_quantiles(q, latency)) for q in (0.5, 0.95, 0.99))
    client_p95 = _rounded_ms(histogram_quantiles(0.95, client))
    first, last = iso_ns_many(first_ns), iso_ns_many(last_ns)
    return [
        {
            "source": source[i],
            "target": target[i],
            "connection_type": ctype[i],
            "calls": calls[i],
            "errors": errors[i],
            "p50_ms": p50[i],
            "p95_ms": p95[i],
            "p99_ms": p99[i],
            "client_p95_ms": client_p95[i],
            "queue_delay_avg_ms": round(queue_sum[i] / queue_count[i] * 1000, 3) if queue_count[i] else None,
            "first_seen": first[i],
            "last_seen": last[i],
            "exemplar_trace_ids": exemplars[i],
        }
        for i in range(len(source))
    ]
