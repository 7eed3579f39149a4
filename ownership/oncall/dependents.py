"""The teams depending on each team (`depended_on_by`), remembered per window topology: a window
moved by a bucket almost always has the same callers and callees as the last one, and going over
20 000 calls again costs more than the rest of a team's figures."""

from __future__ import annotations

import threading
import weakref
from collections import OrderedDict
from collections.abc import Callable, Hashable, Iterable, Mapping
from typing import Any

from graph.model import NodeKind
from graph.store.rows import TopologyRows
from ownership.oncall.load import depended_on_by

Dependents = Callable[[Mapping[str, str | None]], Mapping[str, set[str]]]
_BY_SOURCE: weakref.WeakKeyDictionary[Any, RememberedDependents] = weakref.WeakKeyDictionary()
_LOCK = threading.Lock()


class RememberedDependents:
    """`depended_on_by` per (topology digest, owners), at most `entries` of them (thread-safe).

    The rule: a window's topology digest (from the reads that built its graph; equal digests, equal
    callers, callees, kinds and services) and the owner of every seen service are all the answer is
    computed from. It is computed from the topology rows of that digest, not from a graph that may
    have been read before a write: the graph names a client of kind `user` that shares a service's
    name `<name> (entry)`, which owns nothing, so such calls are left out, as are calls from or to
    virtual nodes, which own nothing either. Without a digest, the graph's calls are used as given.
    """

    def __init__(self, entries: int = 8) -> None:
        self._entries = entries
        self._lock = threading.Lock()
        self._kept: OrderedDict[Hashable, Mapping[str, set[str]]] = OrderedDict()

    def reader(self, topology: TopologyRows, calls: Callable[[], Iterable[tuple[str, ...]]]) -> Dependents:
        """How to find the dependents of each team for some owners: `calls` (the graph's calls) is
        read only when the topology has no digest."""

        def dependents(owners: Mapping[str, str | None]) -> Mapping[str, set[str]]:
            if topology.key is None:
                return depended_on_by(calls(), owners)
            key = (topology.key, frozenset(owners.items()))
            with self._lock:
                found = self._kept.get(key)
            if found is None:
                edges, _ = topology.rows()
                found = depended_on_by([(c, s) for c, s, kind, _ in edges if kind != NodeKind.USER], owners)
                with self._lock:
                    self._kept[key] = found
                    while len(self._kept) > self._entries:
                        self._kept.popitem(last=False)
            return found

        return dependents


def remembered_dependents(source: Any) -> RememberedDependents:
    """The dependents remembered for what windows are read from (digests are only comparable within one)."""
    with _LOCK:
        found = _BY_SOURCE.get(source)
        if found is None:
            found = _BY_SOURCE[source] = RememberedDependents()
        return found
