"""Store contract for the service.namespace values seen per service (SQLite, and PostgreSQL when
OWNERMAP_TEST_POSTGRES is set): written with the sightings, read per window, rolled up, expired, bounded."""

from __future__ import annotations

import pytest

from graph.aggregate import MAX_NAMESPACES, Aggregator
from graph.model import Window
from graph.store.mirror import QueryMirror
from graph.store.sql_store import SqlStore
from tests.graph.store_builders import sighting

DAY = 86_400
NOW = 1_789_999_200.0  # hour-aligned


def _seen(store: SqlStore, service: str, ts: float, namespace: str | None, env: str = "") -> None:
    agg = Aggregator(store.bucket_seconds)
    sighting(agg, service, ts, env=env, hints={"service.namespace": namespace} if namespace is not None else {})
    store.write(agg.drain())


def _rows(store: SqlStore, table: str) -> int:
    return int(store._select(f"SELECT COUNT(*) FROM {table}", [])[0][0])


def test_a_window_gives_each_service_its_namespaces(store: SqlStore) -> None:
    _seen(store, "api", NOW - 600, "search")
    _seen(store, "api", NOW - 400, "payments", env="prod")
    _seen(store, "api", NOW - 100, "search")
    _seen(store, "cart", NOW - 100, "shop")
    _seen(store, "plain", NOW - 100, None)
    _seen(store, "api", NOW - 2 * DAY, "legacy")
    assert store.namespaces(Window(NOW - 3600, NOW)) == {"api": {"search", "payments"}, "cart": {"shop"}}
    assert store.namespaces(Window(NOW - 200, NOW)) == {"api": {"search"}, "cart": {"shop"}}
    assert store.namespaces(Window(NOW - 3 * DAY, NOW)) == {"api": {"search", "payments", "legacy"},
                                                          "cart": {"shop"}}
    assert store.namespaces(Window(NOW - 10 * DAY, NOW - 5 * DAY)) == {}


def test_namespaces_are_written_in_the_sightings_transaction(store: SqlStore) -> None:
    """A namespace the database refuses (a lone surrogate, which drop_unstorable would have removed)
    fails the whole write: the batch's sightings are not committed without it."""
    agg = Aggregator(store.bucket_seconds)
    sighting(agg, "api", NOW - 100, hints={"service.namespace": "search"})
    batch = agg.drain()
    batch.namespaces[(int(NOW - 300), "api")].add("\ud800")
    with pytest.raises(Exception):  # each driver raises its own encoding error
        store.write(batch)
    assert store.services(Window(NOW - 3600, NOW)) == []
    assert store.namespaces(Window(NOW - 3600, NOW)) == {}


def test_the_store_keeps_at_most_the_cap_per_service_and_bucket(store: SqlStore) -> None:
    """Each flush may bring a few new namespaces: the table still holds at most the cap per bucket."""
    for i in range(3 * MAX_NAMESPACES):
        _seen(store, "api", NOW - 100, f"ns{i:02d}")
    _seen(store, "cart", NOW - 100, "shop")
    seen = store.namespaces(Window(NOW - 3600, NOW))
    assert len(seen["api"]) == MAX_NAMESPACES and seen["cart"] == {"shop"}
    assert _rows(store, "service_namespaces") == MAX_NAMESPACES + 1


def test_compaction_rolls_up_keeps_windows_and_expires(store: SqlStore) -> None:
    for hours_ago, namespace in ((30, "search"), (30.5, "payments"), (40, "search"), (2, "search")):
        _seen(store, "api", NOW - hours_ago * 3600, namespace)
    for i in range(3 * MAX_NAMESPACES):  # a flood spread over one old hour's buckets
        _seen(store, "flood", NOW - 50 * 3600 + i * 150, f"ns{i:02d}")
    _seen(store, "ancient", NOW - 200 * DAY, "gone")
    windows = [Window(NOW - 3 * DAY, NOW), Window(NOW - 31 * 3600, NOW - 29 * 3600), Window(NOW - 3600 * 3, NOW)]
    before = [store.namespaces(w) for w in windows]
    store.compact(NOW, retention_days=90)
    assert [store.namespaces(w) for w in windows[1:]] == before[1:]
    after = store.namespaces(windows[0])
    assert after["api"] == before[0]["api"] and len(after["flood"]) == MAX_NAMESPACES
    assert store.namespaces(Window(NOW - 300 * DAY, NOW - 100 * DAY)) == {}  # past retention: deleted
    assert _rows(store, "service_namespaces") == 1  # only the last day stays at 5-minute resolution
    flood_hour = [int(n) for (n,) in store._select(
        "SELECT COUNT(*) FROM service_namespace_hours WHERE service = 'flood' GROUP BY bucket", [])]
    assert max(flood_hour) <= MAX_NAMESPACES
    store.compact(NOW, retention_days=90)  # again: nothing changes
    assert store.namespaces(windows[0]) == after


def test_compaction_deletes_namespaces_far_ahead_of_the_clock(store: SqlStore) -> None:
    _seen(store, "api", NOW + 2 * DAY, "future")
    _seen(store, "api", NOW - 60, "now")
    store.compact(NOW, retention_days=90)
    assert store.namespaces(Window(NOW - DAY, NOW + 3 * DAY)) == {"api": {"now"}}


def test_the_query_mirror_answers_from_the_store(store: SqlStore) -> None:
    _seen(store, "api", NOW - 100, "search")
    _seen(store, "api", NOW - 50, "payments")
    mirror = QueryMirror(store, clock=lambda: NOW)
    assert mirror.namespaces(Window(NOW - 3600, NOW)) == {"api": {"search", "payments"}}
