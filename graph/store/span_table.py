"""A window's spans (`Store.inbound` with cuts) kept as numpy rows grouped by service, for readers that
compare each service's sums with an earlier request's before making any record of them."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from graph.store.series import InboundBucket


class SpanTable:
    """Per service name, its spans ordered as `Store.inbound` orders one service's (start, length);
    `block(name)` is the bytes of its (segment, calls, failed, server histogram) rows: equal bytes,
    equal sums in the same segments."""

    def __init__(self, key: np.ndarray, first: np.ndarray, sums: np.ndarray, name_of: dict[int, str],
                 bounds: Sequence[int]) -> None:
        count = len(bounds)
        service, segment = key // count, key % count
        order = np.lexsort((np.asarray(bounds, np.int64)[segment] - first, first, service))
        self.bounds = [int(b) for b in bounds]  # each segment's end: the cuts, then the window's end
        self._service = service[order]
        self._first = first[order]
        self._segment = segment[order]
        self._rows = np.ascontiguousarray(np.column_stack([self._segment, sums[order]]), np.int64)
        self._where: dict[str, tuple[int, int]] = {}
        if len(order):
            starts = np.flatnonzero(np.r_[True, self._service[1:] != self._service[:-1]])
            stops = np.r_[starts[1:], len(order)]
            self._where = {name_of[s]: (a, b) for s, a, b in zip(self._service[starts].tolist(), starts.tolist(),
                                                                  stops.tolist(), strict=True)}

    @property
    def names(self) -> list[str]:
        """The names with spans."""
        return list(self._where)

    def block(self, name: str) -> bytes:
        """The name's (segment, calls, failed, server histogram) rows as bytes (empty without spans)."""
        where = self._where.get(name)
        return self._rows[where[0]:where[1]].tobytes() if where is not None else b""

    def buckets(self, name: str) -> list[InboundBucket]:
        """The name's spans as `Store.inbound` gives them (oldest first, then shortest)."""
        where = self._where.get(name)
        if where is None:
            return []
        a, b = where
        rows = self._rows[a:b]
        first = self._first[a:b].tolist()
        stops = [self.bounds[s] for s in rows[:, 0].tolist()]
        return [InboundBucket(name, f, stop - f, r[1], r[2], tuple(r[3:]))
                for f, stop, r in zip(first, stops, rows.tolist(), strict=True)]
