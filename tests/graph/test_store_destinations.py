"""Destinations of messaging edges (DESIGN §2 rule 10) in the store: migration 7, summed over a
window, per environment, through the query mirror, and deleted past retention."""

from __future__ import annotations

from graph.aggregate import Aggregator
from graph.model import Call, NodeKind, Window
from graph.service_graph import ServiceGraph
from graph.store.mirror import QueryMirror
from graph.store.sql_store import SqlStore
from tests.collector.otlp_builders import span
from tests.collector.test_edge_fidelity import run

DAY = 86_400
NOW = 1_789_999_200.0  # hour-aligned


def _message(agg: Aggregator, ts: float, destination: str | None, env: str = "", server: str = "billing") -> None:
    agg.call(Call(int(ts * 1e9), "shop", NodeKind.SERVICE, server, NodeKind.SERVICE, "messaging", env, False,
                  0.001, 0.002, bytes(16), None, destination))


def test_schema_is_at_migration_7(store: SqlStore) -> None:
    assert store.schema_version() == 7


def test_destinations_are_summed_over_the_window_and_capped(store: SqlStore) -> None:
    first, second = Aggregator(store.bucket_seconds), Aggregator(store.bucket_seconds)
    for i, name in enumerate(["orders", "refunds", "orders"]):
        _message(first, NOW - 7000 + i, name)
    for i, name in enumerate(["audit", "a1", "a2", "a3"]):
        _message(second, NOW - 600 + i, name, env="prod")
    _message(second, NOW - 500, None, server="audit")
    store.write(first.drain())
    store.write(second.drain())
    window = Window(NOW - 8000, NOW)
    assert store.edge_destinations(window) == {("shop", "billing", "messaging"): ["a1", "a2", "a3", "audit", "orders"]}
    assert store.edge_destinations(window, "prod") == {("shop", "billing", "messaging"): ["a1", "a2", "a3", "audit"]}
    assert store.edge_destinations(Window(NOW - 3600, NOW)) == {
        ("shop", "billing", "messaging"): ["a1", "a2", "a3", "audit"],
    }
    mirror = QueryMirror(store)
    assert mirror.edge_destinations(window, "prod") == store.edge_destinations(window, "prod")


def test_compaction_deletes_destinations_past_retention(store: SqlStore) -> None:
    agg = Aggregator(store.bucket_seconds)
    _message(agg, NOW - 10 * DAY, "old")
    _message(agg, NOW - 100, "new")
    store.write(agg.drain())
    store.compact(NOW, retention_days=5)
    assert store.edge_destinations(Window(NOW - 20 * DAY, NOW)) == {("shop", "billing", "messaging"): ["new"]}


def test_graph_of_a_window_carries_the_destinations(store: SqlStore) -> None:
    harness = run([[span("shop:PRODUCER p", {"messaging.destination.name": "orders"}),
                    span("billing:CONSUMER c←p")]], "protobuf")
    for batch in harness.batches():
        store.write(batch)
    graph = ServiceGraph.from_store(store, Window(0, 4_000_000_000))
    assert graph.destinations == {("shop", "billing", "messaging"): ["orders"]}
