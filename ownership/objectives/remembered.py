"""Objective results remembered across requests: an objective is evaluated again only when something
its evaluation reads changed (consecutive requests move every window by a bucket, and most services'
sums over their burn windows and their whole window stay the same)."""

from __future__ import annotations

import bisect
import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable, Sequence

from graph.store.series import InboundBucket
from ownership.objectives.burn import BURN_WINDOWS
from ownership.objectives.evaluate import Limits, ObjectiveResult, evaluate
from ownership.objectives.model import Objective

_BURN_SECONDS = tuple(BURN_WINDOWS.values())


def inputs_key(objective: Objective, buckets: Sequence[InboundBucket], end: float) -> tuple[Hashable, ...]:
    """What `evaluate` reads of the buckets, as a key: of each bucket inside the window (in order), its
    calls, failed calls and server histogram, and in which burn windows it lies (a bucket ending after
    `end - w`; the windows are nested, so how many of them); the slice methods group buckets by their
    absolute starts, so for them the bucket's start and length too. Buckets outside the window are
    read by nothing."""
    start = end - objective.window_seconds
    since = sorted(end - seconds for seconds in _BURN_SECONDS)  # burn windows' starts, longest first
    absolute = objective.budgeting != "Occurrences"
    parts: list[Hashable] = []
    for b in buckets:
        stop = b.bucket + b.seconds
        if stop > start and b.bucket < end:
            burns = bisect.bisect_left(since, stop)  # the burn windows it ends inside
            if absolute:
                parts.append((b.bucket, b.seconds, burns, b.calls, b.failed, b.server_hist))
            else:
                parts.append((burns, b.calls, b.failed, b.server_hist))
    return tuple(parts)


class RememberedResults:
    """At most `entries` evaluations, the least recently used dropped first (thread-safe).

    The rule: a result is reused when its key is equal, and a key holds exactly what `evaluate` is
    computed from: the objective (the same object: see `remember`), the limits, whether the objective
    is matched, and its calls: `inputs_key` of its buckets at `end` (`result`), or, for spans read as
    rows (`board._SpansInto`), the bytes of its service's (segment, sums) rows with how many burn
    windows each segment ends inside. The owner and the window's start and end are not read by the
    evaluation: they are set on the reused result as the caller gives them now.
    """

    def __init__(self, entries: int = 8192) -> None:
        self._entries = max(1, entries)
        self._lock = threading.Lock()
        self._kept: OrderedDict[Hashable, ObjectiveResult] = OrderedDict()
        self.hits = 0  # results reused

    def __len__(self) -> int:
        return len(self._kept)

    def result(self, objective: Objective, buckets: Sequence[InboundBucket], end: float, *, matched: bool,
               owner: str | None, limits: Limits) -> ObjectiveResult:
        """`evaluate(objective, buckets, end, …)`, remembered."""
        key = ("buckets", id(objective), limits, matched, inputs_key(objective, buckets, end))
        return self.remember(key, objective, owner, end,
                             lambda: evaluate(objective, buckets, end, matched=matched, owner=owner, limits=limits))

    def remember(self, key: Hashable, objective: Objective, owner: str | None, end: float,
                 evaluated: Callable[[], ObjectiveResult]) -> ObjectiveResult:
        """The result kept under `key` (which must hold `id(objective)` and all else the evaluation
        reads), with this owner and window; else `evaluated()`, kept. The objective is told apart by
        identity (its entry holds it, so no other object can have its id meanwhile): equal but other
        objects, e.g. of a reloaded catalog, are evaluated again."""
        with self._lock:
            found = self._kept.get(key)
            if found is not None and found.objective is objective:
                self._kept.move_to_end(key)
                self.hits += 1
            else:
                found = None
        if found is None:
            found = evaluated()
            with self._lock:
                self._kept[key] = found
                while len(self._kept) > self._entries:
                    self._kept.popitem(last=False)
            return found
        return ObjectiveResult(objective, owner, end - objective.window_seconds, end, found.budget, found.burn,
                               found.status)
