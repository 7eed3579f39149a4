"""Objectives' spans (`Store.inbound` with cuts) of the mirrored part of a window, from the mirror's
columns: the settled head of the window (from the horizon to the hour before the first cut, days of
rows) summed once and kept, the recent rest summed at every request.

The rule that keeps a kept head (and a kept hour) true: the mirror reports the oldest bucket of every
batch of rows it takes in (`changed`) and a head or hour reaching past it is dropped; letting go of
the days before a new horizon drops what starts before it (`forget_before`); other deletions
(compaction) drop everything (`clear`). Writes of live traffic land in the last minutes, after every
head. A head starting on an hour is joined from its hours' kept sums: when a window ending now moves
into the next hour, only the new hour is summed from rows.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from graph.model import Window
from graph.store.columns import Columns, WindowRanges
from graph.store.mirror_failing import GroupServers
from graph.store.schema import HOUR
from graph.store.series import InboundBucket

_ENTRIES = 4  # heads kept (a window ending now needs a new one once an hour)
_HOURS = 4 * 24 * 9  # hours kept (about 200 KB each at 2 000 services: a few windows' 8 mirrored days)
Rows = list[tuple[Any, ...]]


@dataclass(frozen=True, slots=True)
class Sums:
    """Per (service id, segment) key (service * segments + segment): the earliest bucket and the sums."""

    key: np.ndarray
    first: np.ndarray
    sums: np.ndarray

    @classmethod
    def of(cls, key: np.ndarray, first: np.ndarray, sums: np.ndarray) -> Sums:
        """Rows with repeated keys summed into one each (the earliest bucket kept)."""
        if not len(key):
            return cls(key, first, sums)
        order = np.argsort(key, kind="stable")
        key = key[order]
        starts = np.flatnonzero(np.r_[True, key[1:] != key[:-1]])
        return cls(key[starts], np.minimum.reduceat(first[order], starts),
                   np.add.reduceat(sums[order], starts, axis=0))


    @classmethod
    def joined(cls, parts: Sequence[Sums]) -> Sums:
        """Several parts' rows summed by key."""
        return cls.of(*(np.concatenate([getattr(p, name) for p in parts]) for name in ("key", "first", "sums")))


def named_sums(found: Sums, names: Sequence[str], more: Rows, count: int) -> tuple[Sums, dict[int, str]]:
    """`found` (keys: ids in `names`, all of them valid, times `count` segments) with `more` (rows of
    `inbound_query` with cuts, from SQL) summed in, and the name of each service id in it."""
    size = len(names)
    known = {names[i]: i for i in np.unique(found.key // count).tolist()}
    if more:  # names not in `found` get ids past `names`
        ids = [known.setdefault(str(r[0]), size + len(known)) for r in more]
        extra = Sums(np.array(ids, np.int64) * count + np.array([int(r[2]) for r in more], np.int64),
                     np.array([int(r[1]) for r in more], np.int64),
                     np.array([[int(v) for v in r[3:]] for r in more], np.int64))
        found = Sums.joined([found, extra])
    return found, {i: n for n, i in known.items()}


def span_buckets(found: Sums, names: Sequence[str], more: Rows, cuts: Sequence[int], end: int) -> list[InboundBucket]:
    """The spans of `found` and `more` (see `named_sums`) summed per service and segment, ordered as
    `Store.inbound` orders them (bucket, service, length)."""
    count = len(cuts) + 1
    found, name_of = named_sums(found, names, more, count)
    service = found.key // count
    ranked = sorted(name_of, key=name_of.__getitem__)
    rank = np.zeros(max(name_of, default=0) + 1, np.int64)
    rank[np.array(ranked, np.int64)] = np.arange(len(ranked))
    seconds = np.array([*cuts, end], np.int64)[found.key % count] - found.first
    order = np.lexsort((seconds, rank[service], found.first))
    sums = found.sums[order]
    return list(map(InboundBucket, map(name_of.__getitem__, service[order].tolist()), found.first[order].tolist(),
                    seconds[order].tolist(), sums[:, 0].tolist(), sums[:, 1].tolist(),
                    map(tuple, sums[:, 2:].tolist())))


class SpanSums:
    """The mirrored part of windows' spans, with the heads of the windows asked for kept, and each
    whole hour's sums kept so that a head moving by an hour (a window ending now, once an hour) is
    joined from kept hours instead of summed from every row again."""

    def __init__(self, edges: Columns, columns: Sequence[int], servers: GroupServers, bucket_seconds: int) -> None:
        self._edges = edges
        self._columns = np.asarray(columns)
        self._servers = servers
        self._bucket_seconds = bucket_seconds
        self._kept: dict[tuple[int, int, int | None, str | None], Sums] = {}  # (start, end, env, service)
        self._hours: dict[tuple[int, int | None, str | None], Sums] = {}  # (hour, env, service)
        self._empty = Sums(np.zeros(0, np.int64), np.zeros(0, np.int64), np.zeros((0, len(columns)), np.int64))

    def changed(self, oldest: int) -> None:
        """Rows from bucket `oldest` on were taken in: drop the heads and hours reaching past it."""
        for key in [k for k in self._kept if k[1] > oldest]:
            del self._kept[key]
        for hour in [k for k in self._hours if k[0] + HOUR > oldest]:
            del self._hours[hour]

    def forget_before(self, horizon: int) -> None:
        """Rows before `horizon` were let go: drop what they were summed into."""
        for key in [k for k in self._kept if k[0] < horizon]:
            del self._kept[key]
        for hour in [k for k in self._hours if k[0] < horizon]:
            del self._hours[hour]

    def clear(self) -> None:
        """Rows were deleted: drop every head and hour."""
        self._kept.clear()
        self._hours.clear()

    def sums(self, window: Window, env: int | None, cuts: Sequence[int], service: str | None) -> Sums:
        """What `inbound_query` with (aligned) `cuts` sums for a window inside the mirror, keyed by
        service id (of `GroupServers.names`) and segment."""
        count = len(cuts) + 1
        head_end = int(min(cuts[0] if cuts else window.end, window.end)) // HOUR * HOUR
        parts = []
        if head_end > window.start:
            key = (int(window.start), head_end, env, service)
            head = self._kept.get(key)
            if head is None:
                head = self._head(Window(window.start, head_end), env, service)
                while len(self._kept) >= _ENTRIES:
                    self._kept.pop(next(iter(self._kept)))
                self._kept[key] = head
            # The head holds segment 0 only: renumber its keys for this many segments.
            parts.append(Sums(head.key * count, head.first, head.sums))
            window = Window(head_end, window.end)
        parts.append(self._sum(window, env, cuts, service))
        return Sums.joined(parts)

    def _head(self, window: Window, env: int | None, service: str | None) -> Sums:
        """A head's sums: a kept head with the same start extended by the hours after it (a window's
        end moved into the next hour, its start did not), else joined from its whole hours' when it
        starts on an hour (those not kept summed in one pass), else summed from its rows."""
        start, end = int(window.start), int(window.end)
        shorter = max((k[1] for k in self._kept if k[0] == start and k[1] < end and k[2:] == (env, service)),
                      default=None)
        if shorter is not None:
            kept = self._kept[(start, shorter, env, service)]
            return Sums.joined([kept, self._hour_sums(shorter, end, env, service)])
        if start % HOUR:
            return self._sum(window, env, (), service)
        return self._hour_sums(start, end, env, service)

    def _hour_sums(self, start: int, end: int, env: int | None, service: str | None) -> Sums:
        """The sums of the whole hours from start to end, from each hour's kept sums (the hours not
        kept are summed in one pass and kept)."""
        hours = range(start, end, HOUR)
        missing = [hour for hour in hours if (hour, env, service) not in self._hours]
        if missing:
            made = self._by_hour(Window(missing[0], missing[-1] + HOUR), env, service)
            if len(self._hours) + len(missing) > _HOURS:
                self._hours.clear()
            for hour in missing:
                self._hours[(hour, env, service)] = made.get(hour, self._empty)
        return Sums.joined([self._hours[(hour, env, service)] for hour in hours])

    def _by_hour(self, window: Window, env: int | None, service: str | None) -> dict[int, Sums]:
        """The window's sums (segment 0 only) of each hour that has rows."""
        count = len(self._servers.names.values) + 1  # server ids are below it
        found = self._sum(window, env, (), service, hour_stride=count)
        if not len(found.key):
            return {}
        hour, server = np.divmod(found.key, count)
        starts = np.flatnonzero(np.r_[True, hour[1:] != hour[:-1]])
        ends = [*starts[1:].tolist(), len(hour)]
        return {int(window.start) + int(hour[a]) * HOUR: Sums(server[a:b], found.first[a:b], found.sums[a:b])
                for a, b in zip(starts.tolist(), ends, strict=True)}

    def _sum(self, window: Window, env: int | None, cuts: Sequence[int], service: str | None,
             hour_stride: int = 0) -> Sums:
        """The sums of the window's edge rows (self-calls left out; only calls into `service` if given);
        with `hour_stride` (above every server id), keyed by hour of the window * stride + server
        instead of by (server, segment)."""
        edges, servers = self._edges, self._servers
        rows = edges.select(WindowRanges.of(window, self._bucket_seconds, env))
        group = edges.group[rows]
        server = servers.server[group]
        keep = ~servers.self_call[group]
        if service is not None:
            keep &= server == servers.names.ids.get(service, -1)
        rows, server = rows[keep], server[keep]
        bucket = edges.bucket[rows]
        if hour_stride:
            key = (bucket - int(window.start)) // HOUR * hour_stride + server
        else:
            key = server * (len(cuts) + 1) + np.searchsorted(np.asarray(cuts, np.int64), bucket, side="right")
        return Sums.of(key, bucket, edges.ints[rows][:, self._columns])
