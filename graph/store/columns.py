"""Aggregate rows as growable numpy columns (the in-memory side of graph.store.mirror)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from graph.model import Window
from graph.store.schema import HOUR
from graph.store.sql import bucket_range

FINE, HOURLY = 0, 1  # a row's resolution: a 5-minute bucket or an hourly rollup


class Interner:
    """Small integer ids for repeated values (edge keys, environments, kinds, services); ids are
    only ever added, so a list of values read once stays valid."""

    def __init__(self) -> None:
        self.ids: dict[Any, int] = {}
        self.values: list[Any] = []

    def __call__(self, value: Any) -> int:
        found = self.ids.get(value)
        if found is None:
            found = self.ids[value] = len(self.values)
            self.values.append(value)
        return found


@dataclass
class PutResult:
    """What `Columns.put` changed: row positions, their values before, and which rows are new."""

    positions: np.ndarray
    old_ints: np.ndarray
    old_floats: np.ndarray
    fresh: np.ndarray


def packed_key(resolution: int, bucket: int, group: int, env: int) -> int:
    """One integer for a row key (a tuple of four would cost about 100 bytes more per row held).
    Distinct keys give distinct integers: group and env ids are below 2**40 and 2**20, buckets ≥ 0."""
    return (((bucket << 1 | resolution) << 40 | group) << 20) | env


class Columns:
    """Growable numpy columns with a key → row index; a deleted row is marked invalid."""

    _ARRAYS = ("resolution", "bucket", "group", "env", "valid", "ints", "floats", "first", "last", "kinds")

    def __init__(self, int_width: int, float_width: int) -> None:
        self.size = 0
        self.dead = 0
        self.index: dict[int, int] = {}  # packed_key(resolution, bucket, group, env) → row
        self.resolution = np.zeros(0, np.int8)
        self.bucket = np.zeros(0, np.int64)
        self.group = np.zeros(0, np.int64)
        self.env = np.zeros(0, np.int64)
        self.valid = np.zeros(0, bool)
        self.ints = np.zeros((0, int_width), np.int64)
        self.floats = np.zeros((0, float_width), np.float64)
        self.first = np.zeros(0, np.int64)
        self.last = np.zeros(0, np.int64)
        self.kinds = np.zeros((0, 2), np.int64)  # client and server kind ids (edges only)
        self.extra: list[Any] = []  # per row: its exemplars (edges only)

    def _grow(self, needed: int) -> None:
        capacity = len(self.bucket)
        if needed <= capacity:
            return
        capacity = max(needed, capacity * 2, 1024)
        for name in self._ARRAYS:
            old = getattr(self, name)
            new = np.zeros((capacity, *old.shape[1:]), old.dtype)
            new[: self.size] = old[: self.size]
            setattr(self, name, new)

    def put(self, keys: list[tuple[int, int, int, int]], ints: np.ndarray, floats: np.ndarray,
            first: Sequence[int], last: Sequence[int], kinds: Sequence[tuple[int, int]], extra: list[Any]) -> PutResult:
        """Insert rows, or replace the rows with the same keys (the store sends whole rows)."""
        latest = {key: i for i, key in enumerate(keys)}  # a key given twice: its last row wins
        if len(latest) < len(keys):
            keep = sorted(latest.values())
            keys = [keys[i] for i in keep]
            ints, floats = ints[keep], floats[keep]
            first, last = [first[i] for i in keep], [last[i] for i in keep]
            kinds, extra = [kinds[i] for i in keep], [extra[i] for i in keep]
        positions_list, fresh_list = [], []
        added = 0
        for key in keys:
            packed = packed_key(*key)
            row = self.index.get(packed)
            if row is None:
                row = self.index[packed] = self.size + added
                added += 1
            fresh_list.append(row >= self.size)
            positions_list.append(row)
        self._grow(self.size + added)
        self.extra.extend([None] * added)
        self.size += added
        positions = np.array(positions_list, np.int64)
        result = PutResult(positions, self.ints[positions].copy(), self.floats[positions].copy(),
                           np.array(fresh_list, bool))
        key_columns = np.array(keys, np.int64).reshape(len(keys), 4)
        self.resolution[positions] = key_columns[:, 0]
        self.bucket[positions] = key_columns[:, 1]
        self.group[positions] = key_columns[:, 2]
        self.env[positions] = key_columns[:, 3]
        self.valid[positions] = True
        self.ints[positions] = ints
        self.floats[positions] = floats
        self.first[positions] = first
        self.last[positions] = last
        self.kinds[positions] = np.array(kinds, np.int64).reshape(len(keys), 2)
        for i, row in enumerate(positions.tolist()):
            self.extra[row] = extra[i]
        return result

    def delete(self, mask: np.ndarray) -> int:
        """Forget the (valid) rows selected by a boolean mask over the first `size` rows; how many."""
        rows = np.flatnonzero(mask & self.valid[: self.size])
        if not len(rows):
            return 0
        self.valid[rows] = False
        for r, b, g, e in zip(self.resolution[rows].tolist(), self.bucket[rows].tolist(),
                              self.group[rows].tolist(), self.env[rows].tolist(), strict=True):
            del self.index[packed_key(r, b, g, e)]
        self.dead += len(rows)
        if self.dead > self.size // 2:
            self._pack()
        return len(rows)

    def _pack(self) -> None:
        """Drop deleted rows so the arrays stay proportional to the live data."""
        keep = np.flatnonzero(self.valid[: self.size])
        for name in self._ARRAYS:
            setattr(self, name, getattr(self, name)[keep].copy())
        self.extra = [self.extra[row] for row in keep.tolist()]
        self.size, self.dead = len(keep), 0
        self.index = {
            packed_key(r, b, g, e): row
            for row, (r, b, g, e) in enumerate(zip(self.resolution.tolist(), self.bucket.tolist(),
                                                   self.group.tolist(), self.env.tolist(), strict=True))
        }

    def in_window(self, rows: np.ndarray | None, ranges: WindowRanges) -> np.ndarray:
        """Which of the given rows (None: each of the first `size`, read in place) a window counts (the
        bucket ranges of window_params, the env)."""
        pick = slice(0, self.size) if rows is None else rows
        bucket = self.bucket[pick]
        fine = self.resolution[pick] == FINE
        in_fine = (bucket >= ranges.fine[0]) & (bucket < ranges.fine[1])
        in_hours = (bucket >= ranges.hours[0]) & (bucket < ranges.hours[1])
        mask = self.valid[pick] & np.where(fine, in_fine, in_hours)
        if ranges.env is not None:
            mask &= self.env[pick] == ranges.env
        return mask

    def select(self, ranges: WindowRanges) -> np.ndarray:
        """Rows of a window."""
        return np.flatnonzero(self.in_window(None, ranges))


@dataclass(frozen=True)
class WindowRanges:
    """The bucket ranges a window reads (as graph.store.sql.window_params) and its environment id."""

    fine: tuple[int, int]
    hours: tuple[int, int]
    env: int | None

    @classmethod
    def of(cls, window: Window, bucket_seconds: int, env: int | None) -> WindowRanges:
        """The ranges of a window at a bucket size.

        The ends are rounded up to whole buckets: buckets are multiples of their size, so the
        same rows are counted, and a window ending "now" keeps the same ranges (and its sums)
        until the next bucket begins.
        """
        def up(end: int, size: int) -> int:
            return -(-end // size) * size

        fine, hours = bucket_range(window, bucket_seconds), bucket_range(window, HOUR)
        return cls((fine[0], up(fine[1], bucket_seconds)), (hours[0], up(hours[1], HOUR)), env)


def group_rows(rows: np.ndarray, group: np.ndarray, last: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Rows sorted by group, each group's first position, and its latest row (the last of the rows
    with the greatest last_seen: whose exemplars the window shows)."""
    if not len(rows):
        return rows, np.zeros(0, np.int64), rows
    rows = rows[np.argsort(group[rows], kind="stable")]
    groups = group[rows]
    starts = np.flatnonzero(np.r_[True, groups[1:] != groups[:-1]])
    lasts = last[rows]
    sizes = np.diff(np.r_[starts, len(rows)])
    at_max = lasts == np.repeat(np.maximum.reduceat(lasts, starts), sizes)
    latest = rows[np.maximum.reduceat(np.where(at_max, np.arange(len(rows)), -1), starts)]
    return rows, starts, latest
