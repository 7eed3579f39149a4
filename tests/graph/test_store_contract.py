"""One contract suite for every store: SQLite always, PostgreSQL when OWNERMAP_TEST_POSTGRES is set."""

from __future__ import annotations

import threading
from pathlib import Path

from graph.aggregate import Aggregator
from graph.model import Call, NodeKind, Resource, Span, SpanKind, Window
from graph.store.schema import MIGRATIONS
from graph.store.sql_store import SqlStore
from graph.store.sqlite import SQLiteStore
from tests.graph.store_builders import postgres_store as _postgres

DAY = 86_400
NOW = 1_789_999_200.0  # a fixed, hour-aligned "now" (2026-09-21): nothing depends on the wall clock


def _calls(agg: Aggregator, ts: float, client: str, server: str, n: int, failed: int = 0, env: str = "") -> None:
    for i in range(n):
        agg.call(Call(int(ts * 1e9) + i, client, NodeKind.SERVICE, server, NodeKind.SERVICE, "rpc", env, i < failed,
                 0.003, 0.002, (i % 7).to_bytes(16, "big")))


def _sighting(agg: Aggregator, ts: float, service: str, env: str = "", hints: dict[str, str] | None = None) -> None:
    resource = Resource(service, env, hints or {})
    agg.sighting(Span(bytes(16), bytes(8), b"", resource, SpanKind.SERVER, int(ts * 1e9), int(ts * 1e9) + 1))


def _write(store: SqlStore, fill) -> None:  # type: ignore[no-untyped-def]
    agg = Aggregator(store.bucket_seconds)
    fill(agg)
    store.write(agg.drain())


def _edges(store: SqlStore, start: float, end: float, env: str | None = None) -> dict[tuple[str, str], tuple[int, int]]:
    return {(e.client, e.server): (e.calls, e.failed) for e in store.edges(Window(start, end), env)}


def test_migrations_are_versioned_and_idempotent(store: SqlStore) -> None:
    assert store.schema_version() == len(MIGRATIONS)
    store._init_sql()
    with store._transaction() as cur:  # running them again changes nothing
        store._apply_migrations(cur, NOW)
    assert store.schema_version() == len(MIGRATIONS)


def test_upserts_add_and_keep_first_and_last_seen(store: SqlStore) -> None:
    _write(store, lambda a: _calls(a, NOW - 100, "web", "api", 3, failed=1))
    _write(store, lambda a: _calls(a, NOW - 90, "web", "api", 2, failed=1))
    (edge,) = store.edges(Window(NOW - 3600, NOW))
    assert (edge.calls, edge.failed) == (5, 2)
    assert edge.first_seen_ns == int((NOW - 100) * 1e9)
    assert edge.last_seen_ns == int((NOW - 90) * 1e9) + 1
    assert sum(edge.server_hist) == 5
    assert len(edge.exemplars) == len(set(edge.exemplars)) <= 5


def test_windows_and_environments_select_the_right_buckets(store: SqlStore) -> None:
    _write(store, lambda a: (_calls(a, NOW - 2 * DAY, "old", "api", 1), _calls(a, NOW - 600, "new", "api", 1),
                             _calls(a, NOW - 600, "prod", "api", 4, env="prod")))
    assert set(_edges(store, NOW - 3600, NOW)) == {("new", "api"), ("prod", "api")}
    assert set(_edges(store, NOW - 3 * DAY, NOW)) == {("old", "api"), ("new", "api"), ("prod", "api")}
    assert _edges(store, NOW - 3600, NOW, env="prod") == {("prod", "api"): (4, 0)}


def test_services_and_latest_hints(store: SqlStore) -> None:
    _write(store, lambda a: _sighting(a, NOW - 500, "api", hints={"service.version": "1"}))
    _write(store, lambda a: _sighting(a, NOW - 100, "api", hints={"service.version": "2"}))
    (row,) = store.services(Window(NOW - 3600, NOW))
    assert (row.service, row.spans) == ("api", 2)
    assert store.hints() == {"api": {"service.version": "2"}}


def test_hints_read_again_see_every_change_and_reuse_what_did_not_change(store: SqlStore) -> None:
    _write(store, lambda a: (_sighting(a, NOW - 500, "api", hints={"service.version": "1"}),
                             _sighting(a, NOW - 500, "web", hints={"service.version": "7"})))
    first = store.hints()
    _write(store, lambda a: (_sighting(a, NOW - 100, "api", hints={"service.version": "2"}),
                             _sighting(a, NOW - 100, "new", hints={"k8s.namespace.name": "shop"})))
    second = store.hints()
    assert second == {"api": {"service.version": "2"}, "web": {"service.version": "7"},
                      "new": {"k8s.namespace.name": "shop"}}
    assert first["api"] == {"service.version": "1"}  # an earlier answer is not changed afterwards
    assert second["web"] is first["web"]  # unchanged text: not decoded again


def test_report_history_and_claims(store: SqlStore) -> None:
    store.record_report(1000, [("a", "undocumented"), ("b", "stale")], 5)
    store.record_report(1000, [("a", "undocumented")], 6)  # a rerun replaces
    store.record_report(2000, [("c", "unowned")], 7)
    assert store.report_history(1500) == [(1000, {("a", "undocumented")})]
    assert [end for end, _ in store.report_history(5000)] == [2000, 1000]
    assert store.claim("weekly-report", 1000, NOW) is True
    assert store.claim("weekly-report", 1000, NOW) is False
    assert store.claim("weekly-report", 2000, NOW) is True


def test_compaction_rolls_up_without_changing_any_window_and_applies_retention(store: SqlStore) -> None:
    def fill(agg: Aggregator) -> None:
        for hours_ago in range(0, 24 * 5, 3):
            ts = NOW - hours_ago * 3600 - 420
            _calls(agg, ts, "web", "api", 2, failed=1)
            _sighting(agg, ts, "web")
        _calls(agg, NOW - 200 * DAY, "ancient", "api", 1)

    _write(store, fill)
    # Hour-aligned windows: beyond the last day, windows resolve to whole hours.
    windows = [(NOW - 3600, NOW), (NOW - DAY, NOW), (NOW - 3 * DAY, NOW - DAY), (NOW - 7 * DAY, NOW)]
    before = [(_edges(store, *w), [(s.service, s.spans) for s in store.services(Window(*w))]) for w in windows]
    store.compact(NOW, retention_days=90)
    after = [(_edges(store, *w), [(s.service, s.spans) for s in store.services(Window(*w))]) for w in windows]
    assert after == before
    fine_rows = store._select("SELECT COUNT(*) FROM edge_buckets", [])[0][0]
    hourly_rows = store._select("SELECT COUNT(*) FROM edge_hours", [])[0][0]
    assert fine_rows == 8 and hourly_rows > 0  # the last day stays at 5-minute resolution
    assert _edges(store, NOW - 300 * DAY, NOW - 100 * DAY) == {}  # past retention: deleted
    store.compact(NOW, retention_days=90)  # compacting again changes nothing
    assert [_edges(store, *w) for w in windows] == [b[0] for b in before]


def test_compaction_deletes_rows_too_far_ahead_of_the_clock(store: SqlStore) -> None:
    def fill(agg: Aggregator) -> None:
        for ts in (NOW - 60, NOW + 3 * 3600, NOW + 2 * DAY, 4_102_444_800):  # the last two: a wrong clock
            _calls(agg, ts, "web", "api", 1)
            _sighting(agg, ts, "web")

    _write(store, fill)
    store.compact(NOW, retention_days=90)
    for table in ("edge_buckets", "service_buckets", "edge_hours", "service_hours"):
        buckets = sorted(row[0] for row in store._select(f"SELECT bucket FROM {table}", []))
        assert all(bucket < NOW + DAY for bucket in buckets), table
    assert _edges(store, NOW - DAY, NOW + DAY) == {("web", "api"): (2, 0)}  # now and 3 hours ahead are kept


def test_concurrent_writers_add_up(store: SqlStore, tmp_path: Path) -> None:
    others = [store if isinstance(store, SQLiteStore) else _postgres(store.schema) for _ in range(3)]  # type: ignore[attr-defined]

    def writer(target: SqlStore) -> None:
        for _ in range(20):
            _write(target, lambda a: (_calls(a, NOW - 60, "web", "api", 5), _calls(a, NOW - 60, "api", "db", 1)))

    threads = [threading.Thread(target=writer, args=(s,)) for s in others]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert _edges(store, NOW - 3600, NOW) == {("web", "api"): (300, 0), ("api", "db"): (60, 0)}
    for other in others:
        if other is not store:
            other.close()
