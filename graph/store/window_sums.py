"""Per-edge sums over one window of mirrored rows, kept current as rows change.

Summing a week of rows (hundreds of thousands, fifty counters each) takes a good part of a
second; between two requests for the same window only a few hundred rows change. A `WindowSums`
is built once by summing, then each changed row adds its difference. That stays exact because
stored rows only ever grow: counters add, first_seen only goes down, last_seen only up, a row's
kinds never change. A window that moves (one ending "now" moves every 5 minutes) follows by
`move_to`: rows that entered are added, and the edges that lost rows are summed again from the
rows they keep. Rows deleted by compaction mean building afresh (the mirror drops its sums).
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from typing import Any

import numpy as np

from graph.store.columns import Columns, PutResult, WindowRanges, group_rows
from graph.store.rows import EdgeStates, exemplar_ids

_TOKENS = itertools.count(1)


class WindowSums:
    """Sums per edge group of the rows one window counts (slots in first-seen order).

    Each slot has a version, bumped whenever its sums change: with the sums' token it names an
    edge's state, so that an answer can reuse what it made of the edges that did not change.
    """

    def __init__(self, columns: Columns, ranges: WindowRanges, kind_names: list[str]) -> None:
        self.token = next(_TOKENS)
        self.ranges = ranges
        sums = _per_group(columns, columns.select(ranges), kind_names)
        self.group, self.ints, self.floats, self.first = sums.group, sums.ints, sums.floats, sums.first
        self.last, self.kinds, self.latest = sums.last, sums.kinds, sums.latest
        self.size = len(self.group)
        self._slot_of = {g: slot for slot, g in enumerate(self.group.tolist())}
        # The trace ids of each slot's latest row, read from its text once, not at every answer.
        self.exemplars = [exemplar_ids(columns.extra[row]) for row in self.latest.tolist()]
        self.alive = np.ones(self.size, bool)  # a slot whose edge has no row left in the window is not
        self.version = np.zeros(self.size, np.int64)
        self._order: list[int] | None = None

    def apply(self, columns: Columns, put: PutResult, kind_names: list[str]) -> None:
        """Add what one `Columns.put` changed among the rows this window counts."""
        counted = columns.in_window(put.positions, self.ranges)
        if not counted.any():
            return
        positions = put.positions[counted]
        fresh = put.fresh[counted]
        slots = np.array([self._slot(g) for g in columns.group[positions].tolist()], np.int64)
        old_ints = np.where(fresh[:, None], 0, put.old_ints[counted])
        old_floats = np.where(fresh[:, None], 0.0, put.old_floats[counted])
        self.alive[slots] = True
        self.version[slots] += 1
        np.add.at(self.ints, slots, columns.ints[positions] - old_ints)
        np.add.at(self.floats, slots, columns.floats[positions] - old_floats)
        np.minimum.at(self.first, slots, columns.first[positions])
        rank_of = _rank_of(kind_names)
        for slot, row in zip(slots.tolist(), positions.tolist(), strict=True):
            last = int(columns.last[row])
            if last > self.last[slot] or (last == self.last[slot] and row > self.latest[slot]):
                self.last[slot], self.latest[slot] = last, row
            if self.latest[slot] == row:  # the slot's exemplars come from its latest row: parse when that changed
                self.exemplars[slot] = exemplar_ids(columns.extra[row])
            for side in (0, 1):  # the least kind by name, as SQL's MIN
                kind = int(columns.kinds[row, side])
                if rank_of[kind] < rank_of[self.kinds[slot, side]]:
                    self.kinds[slot, side] = kind

    def _slot(self, group: int) -> int:
        """The slot of a group, a new one (zeroed, first_seen at its maximum) when it first appears."""
        slot = self._slot_of.get(group)
        if slot is not None:
            return slot
        slot = self._slot_of[group] = self.size
        if self.size == len(self.group):
            grow = max(16, self.size)
            self.group = np.r_[self.group, np.zeros(grow, np.int64)]
            self.ints = np.r_[self.ints, np.zeros((grow, self.ints.shape[1]), np.int64)]
            self.floats = np.r_[self.floats, np.zeros((grow, self.floats.shape[1]), np.float64)]
            self.first = np.r_[self.first, np.full(grow, np.iinfo(np.int64).max, np.int64)]
            self.last = np.r_[self.last, np.full(grow, np.iinfo(np.int64).min, np.int64)]
            self.latest = np.r_[self.latest, np.full(grow, -1, np.int64)]
            self.kinds = np.r_[self.kinds, np.full((grow, 2), -1, np.int64)]
            self.alive = np.r_[self.alive, np.zeros(grow, bool)]
            self.version = np.r_[self.version, np.zeros(grow, np.int64)]
        self.group[slot] = group
        self.exemplars.append([])
        self.size += 1
        self._order = None
        return slot

    def move_to(self, columns: Columns, ranges: WindowRanges, kind_names: list[str]) -> bool:
        """Follow the window to other ranges of the same environment. False, changing nothing, when
        a quarter or more of the rows would change (building afresh is then as cheap)."""
        if ranges.env != self.ranges.env:
            return False
        was, now = columns.in_window(None, self.ranges), columns.in_window(None, ranges)
        entering, leaving = np.flatnonzero(now & ~was), np.flatnonzero(was & ~now)
        if len(entering) + len(leaving) > max(1000, int(now.sum()) // 4):
            return False
        self.ranges = ranges
        if len(entering):  # added like new rows
            none_before = PutResult(entering, np.zeros((len(entering), self.ints.shape[1]), np.int64),
                                    np.zeros((len(entering), self.floats.shape[1])), np.ones(len(entering), bool))
            self.apply(columns, none_before, kind_names)
        if len(leaving):  # sums cannot take away a minimum: the edges concerned are summed again
            self._sum_again(columns, np.unique(columns.group[leaving]), np.flatnonzero(now), kind_names)
        return True

    def _sum_again(self, columns: Columns, groups: np.ndarray, window_rows: np.ndarray, kind_names: list[str]) -> None:
        """Recompute the slots of some groups from the window's rows (emptying those left without)."""
        slots = np.array([self._slot_of[g] for g in groups.tolist()], np.int64)
        self.version[slots] += 1
        self.ints[slots], self.floats[slots] = 0, 0.0
        self.first[slots], self.last[slots] = np.iinfo(np.int64).max, np.iinfo(np.int64).min
        self.latest[slots], self.kinds[slots], self.alive[slots] = -1, -1, False
        for slot in slots.tolist():
            self.exemplars[slot] = []
        keep = window_rows[np.isin(columns.group[window_rows], groups)]
        sums = _per_group(columns, keep, kind_names)
        found = np.array([self._slot_of[g] for g in sums.group.tolist()], np.int64)
        self.ints[found], self.floats[found], self.first[found] = sums.ints, sums.floats, sums.first
        self.kinds[found], self.latest[found], self.last[found] = sums.kinds, sums.latest, sums.last
        self.alive[found] = True
        for slot, row in zip(found.tolist(), sums.latest.tolist(), strict=True):
            self.exemplars[slot] = exemplar_ids(columns.extra[row])

    def order(self, key_of_group: list[Any]) -> list[int]:
        """Positions in `view()` of the live slots, sorted by their groups' keys."""
        if self._order is None:  # all slots' order, kept until a slot is added
            groups = self.group[: self.size].tolist()
            self._order = sorted(range(self.size), key=lambda slot: key_of_group[groups[slot]])
        order = np.array(self._order, np.int64)
        alive = self.alive[: self.size]
        position = np.cumsum(alive) - 1
        return position[order[alive[order]]].tolist()

    def states(self) -> EdgeStates:
        """The names of the live slots' states, in `view()` order."""
        live = np.flatnonzero(self.alive[: self.size])
        return EdgeStates(self.token, live, self.version[live])

    def live_kinds(self) -> tuple[np.ndarray, np.ndarray]:
        """group and kinds of every live slot."""
        live = np.flatnonzero(self.alive[: self.size])
        return self.group[live], self.kinds[live]

    def view(self) -> GroupSums:
        """The sums of every live slot (with their exemplar ids)."""
        live = np.flatnonzero(self.alive[: self.size])
        every = len(live) == self.size
        exemplars = self.exemplars[: self.size] if every else [self.exemplars[slot] for slot in live.tolist()]
        return GroupSums(self.group[live], self.ints[live], self.floats[live], self.first[live], self.last[live],
                         self.kinds[live], self.latest[live], exemplars)


@dataclass
class GroupSums:
    """Per edge group (one entry each, same order in every field): its rows summed over a window."""

    group: np.ndarray  # the edge group id (graph.store.mirror interns (client, server, connection_type))
    ints: np.ndarray  # integer counters, one row per group (mirror._INT_NAMES)
    floats: np.ndarray  # float sums, one row per group
    first: np.ndarray  # least first_seen
    last: np.ndarray  # greatest last_seen
    kinds: np.ndarray  # least (client, server) kind ids by name, as SQL's MIN
    latest: np.ndarray  # the row whose exemplars the group shows (the last of those at `last`)
    exemplars: list[list[str]] | None = None  # the trace ids of each group's latest row, when read


def _per_group(columns: Columns, rows: np.ndarray, kind_names: list[str]) -> GroupSums:
    """Per edge group of the given rows: its sums (exemplars not read)."""
    rows, starts, latest = group_rows(rows, columns.group, columns.last)
    if not len(rows):
        empty = np.zeros(0, np.int64)
        return GroupSums(empty, np.zeros((0, columns.ints.shape[1]), np.int64),
                         np.zeros((0, columns.floats.shape[1])), empty, empty, np.zeros((0, 2), np.int64), empty)
    ranks = _rank_of(kind_names)[columns.kinds[rows]]
    return GroupSums(
        group=columns.group[rows[starts]], ints=np.add.reduceat(columns.ints[rows], starts, axis=0),
        floats=np.add.reduceat(columns.floats[rows], starts, axis=0),
        first=np.minimum.reduceat(columns.first[rows], starts), last=columns.last[latest],
        kinds=_kind_ids(np.minimum.reduceat(ranks, starts, axis=0), kind_names), latest=latest,
    )


def _rank_of(kind_names: list[str]) -> np.ndarray:
    """Each kind id's position in name order (and -1, a new slot's kind, last of all)."""
    order = sorted(range(len(kind_names)), key=kind_names.__getitem__)
    rank = np.empty(len(kind_names) + 1, np.int64)  # index -1: a slot's kind before any row
    rank[order] = np.arange(len(kind_names))
    rank[-1] = len(kind_names)
    return rank


def _kind_ids(ranks: np.ndarray, kind_names: list[str]) -> np.ndarray:
    """Kind ids from name-order ranks."""
    order = np.array(sorted(range(len(kind_names)), key=kind_names.__getitem__), np.int64)
    return order[ranks]
