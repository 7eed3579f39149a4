"""The teams depending on each team, remembered per window topology (`RememberedDependents`), equal
those found from the window's graph: through new callers, other owners, moving windows and an entry
node named like a service."""

from __future__ import annotations

from pathlib import Path

from graph.aggregate import Aggregator
from graph.model import NodeKind, Window
from graph.service_graph import ServiceGraph
from graph.store.mirror import QueryMirror
from graph.store.sqlite import SQLiteStore
from ownership.oncall.dependents import RememberedDependents
from ownership.oncall.load import depended_on_by
from tests.graph.store_builders import call, sighting, write

NOW = 1_790_000_000 // 3600 * 3600
SERVICES = ["web", "cart", "pay", "ledger", "search"]


def _answers(mirror: QueryMirror, memo: RememberedDependents, window: Window,
             owners: dict[str, str | None]) -> tuple[object, object]:
    graph = ServiceGraph.from_store(mirror, window)
    remembered = memo.reader(mirror.topology(window), graph.call_counts)(owners)
    return dict(remembered), dict(depended_on_by(graph.call_counts(), owners))


def test_remembered_dependents_equal_the_graphs_through_writes_and_owner_changes(tmp_path: Path) -> None:
    store = SQLiteStore(tmp_path / "o.db")
    agg = Aggregator(store.bucket_seconds)
    for name in SERVICES:
        sighting(agg, name, NOW - 3600)
    call(agg, "web", "cart", NOW - 3000)
    call(agg, "cart", "pay", NOW - 3000)
    call(agg, "pay", "pay", NOW - 3000)  # a self-call
    call(agg, "pay", "db", NOW - 3000, server_kind=NodeKind.DATABASE)
    call(agg, "search", "ledger", NOW - 3000, client_kind=NodeKind.USER)  # an entry node named like a service
    write(store, agg)
    mirror = QueryMirror(store, days=8, refresh_seconds=0, clock=lambda: NOW)
    memo = RememberedDependents()
    owners: dict[str, str | None] = {"web": "front", "cart": "shop", "pay": "money", "ledger": "money",
                                     "search": "front"}
    steps = [
        lambda: None,
        lambda: owners.update(cart="front"),  # another owner: another answer
        lambda: (call(agg, "ledger", "search", NOW - 60), write(store, agg)),  # a new caller
        lambda: owners.update(search=None),
        lambda: (call(agg, "web", "cart", NOW - 30, count=3), write(store, agg)),  # same callers, more calls
    ]
    answers = []
    for step, change in enumerate(steps):
        change()
        for shift in (0, 300):
            remembered, fresh = _answers(mirror, memo, Window(NOW - 86400 + shift, NOW + shift), dict(owners))
            assert remembered == fresh, step
            answers.append(fresh)
    assert answers[0] == {"shop": {"front"}, "money": {"shop"}}  # not "front" for the entry node's call
    assert answers[2] != answers[0] and answers[4] != answers[2] and answers[6] != answers[4]
