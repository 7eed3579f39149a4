"""graph.store: SQLite migrations, adding upserts, windows, env filter, hints, threads, open_store."""

from __future__ import annotations

import sqlite3
import threading
from pathlib import Path

import pytest

from graph.aggregate import Aggregator
from graph.model import HISTOGRAM_SIZE, MAX_EXEMPLARS, Window
from graph.store import open_store
from graph.store.schema import MIGRATIONS
from graph.store.sql import bucket_range
from graph.store.sqlite import SQLiteStore
from tests.graph.store_builders import NS, T0, call, sighting, trace_id, write


@pytest.fixture
def store(tmp_path: Path) -> SQLiteStore:
    s = SQLiteStore(tmp_path / "agg.db")
    yield s
    s.close()


def _window(start: float, end: float) -> Window:
    return Window(float(start), float(end))


ALL = _window(T0 - 10 * 86400, T0 + 10 * 86400)


# ------------------------------------------------------------------ migrations


def test_migrations_are_versioned(store: SQLiteStore) -> None:
    assert store.schema_version() == len(MIGRATIONS)
    conn = sqlite3.connect(store.path)
    try:
        versions = [row[0] for row in conn.execute("SELECT version FROM schema_migrations ORDER BY version")]
        tables = {row[0] for row in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
        mode = conn.execute("PRAGMA journal_mode").fetchone()[0]
    finally:
        conn.close()
    assert versions == list(range(1, len(MIGRATIONS) + 1))
    assert {"edge_buckets", "service_buckets", "service_hints", "schema_migrations"} <= tables
    assert mode.lower() == "wal"


def test_opening_twice_is_idempotent_and_keeps_data(tmp_path: Path) -> None:
    path = tmp_path / "twice.db"
    first = SQLiteStore(path)
    agg = Aggregator()
    call(agg, "a", "b", T0)
    write(first, agg)
    first.close()
    second = SQLiteStore(path)
    third = SQLiteStore(path)
    try:
        assert second.schema_version() == third.schema_version() == len(MIGRATIONS)
        conn = sqlite3.connect(path)
        rows = conn.execute("SELECT COUNT(*) FROM schema_migrations").fetchone()[0]
        conn.close()
        assert rows == len(MIGRATIONS)
        assert [e.calls for e in second.edges(ALL)] == [1]
    finally:
        second.close()
        third.close()


def test_creates_parent_directories(tmp_path: Path) -> None:
    s = SQLiteStore(tmp_path / "deep" / "er" / "x.db")
    try:
        s.ping()
    finally:
        s.close()
    assert (tmp_path / "deep" / "er" / "x.db").is_file()


# ------------------------------------------------------------------ upserts add


def _batch_once(agg: Aggregator, first: float, last: float, traces: list[str]) -> None:
    call(agg, "a", "b", first, failed=True, client_s=0.003, server_s=0.001, trace=traces[0], queue_s=0.25)
    for trace in traces[1:]:
        call(agg, "a", "b", last, client_s=0.5, server_s=20.0, trace=trace)
    sighting(agg, "a", first, error=True)
    sighting(agg, "a", last)


def test_writing_the_same_key_twice_adds(store: SQLiteStore) -> None:
    agg = Aggregator()
    _batch_once(agg, T0 + 50, T0 + 60, ["t1", "t2", "t3"])
    write(store, agg)
    _batch_once(agg, T0 + 10, T0 + 250, ["t4", "t5", "t6"])
    write(store, agg)
    (edge,) = store.edges(ALL)
    assert (edge.client, edge.server, edge.connection_type) == ("a", "b", "rpc")
    assert (edge.calls, edge.failed) == (6, 2)
    assert edge.queue_count == 2
    assert edge.queue_sum == pytest.approx(0.5)
    assert edge.client_sum == pytest.approx(2 * (0.003 + 2 * 0.5))
    assert edge.server_sum == pytest.approx(2 * (0.001 + 2 * 20.0))
    assert len(edge.client_hist) == len(edge.server_hist) == HISTOGRAM_SIZE
    assert edge.client_hist[1] == 2 and edge.client_hist[10] == 4 and sum(edge.client_hist) == 6
    assert edge.server_hist[0] == 2 and edge.server_hist[-1] == 4
    assert edge.first_seen_ns == (T0 + 10) * NS
    assert edge.last_seen_ns == (T0 + 250) * NS
    assert len(edge.exemplars) == MAX_EXEMPLARS
    assert edge.exemplars == [trace_id(f"t{i}").hex() for i in range(1, 6)]
    (svc,) = store.services(ALL)
    assert (svc.service, svc.spans, svc.error_spans) == ("a", 4, 2)
    assert svc.first_seen_ns == (T0 + 10) * NS
    assert svc.last_seen_ns == (T0 + 250) * NS


def test_writing_identical_batches_doubles_counts(store: SQLiteStore) -> None:
    batches = []
    for _ in range(2):
        agg = Aggregator()
        call(agg, "a", "b", T0 + 1, count=3, server_s=0.02)
        sighting(agg, "a", T0 + 1, count=4)
        batches.append(agg.drain())
    store.write(batches[0])
    (single,) = store.edges(ALL)
    store.write(batches[1])
    (double,) = store.edges(ALL)
    assert double.calls == 2 * single.calls == 6
    assert double.server_hist == [2 * v for v in single.server_hist]
    assert double.first_seen_ns == single.first_seen_ns
    assert store.services(ALL)[0].spans == 8


def test_exemplars_stay_capped_after_many_writes(store: SQLiteStore) -> None:
    for i in range(10):
        agg = Aggregator()
        call(agg, "a", "b", T0, trace=f"w{i}")
        write(store, agg)
    (edge,) = store.edges(ALL)
    assert edge.calls == 10
    assert len(edge.exemplars) == MAX_EXEMPLARS
    assert all(len(e) == 32 for e in edge.exemplars)


def test_exemplars_stay_unique_across_writes(store: SQLiteStore) -> None:
    for _ in range(2):
        agg = Aggregator()
        call(agg, "a", "b", T0, trace="same")
        write(store, agg)
    (edge,) = store.edges(ALL)
    assert edge.exemplars == [trace_id("same").hex()]


def test_empty_batch_writes_nothing(store: SQLiteStore) -> None:
    store.write(Aggregator().drain())
    assert store.edges(ALL) == []
    assert store.services(ALL) == []
    assert store.hints() == {}


# ------------------------------------------------------------------ windows


@pytest.fixture
def three_buckets(store: SQLiteStore) -> SQLiteStore:
    agg = Aggregator()
    for i, n in enumerate((1, 10, 100)):
        call(agg, "a", "b", T0 + i * 300 + 7, count=n)
        sighting(agg, "a", T0 + i * 300 + 7, count=n)
    write(store, agg)
    return store


@pytest.mark.parametrize(
    ("start", "end", "calls"),
    [
        (T0, T0 + 900, 111),
        (T0, T0 + 300, 1),  # end is exclusive: the bucket starting at T0+300 is out
        (T0, T0 + 301, 11),  # a bucket that starts before the end is in
        (T0 + 300, T0 + 600, 10),
        (T0 + 299, T0 + 600, 11),  # the start resolves to its bucket
        (T0 + 600, T0 + 86400, 100),
        (T0 + 900, T0 + 86400, 0),
        (T0 - 86400, T0, 0),
    ],
)
def test_window_selects_the_right_buckets(three_buckets: SQLiteStore, start: int, end: int, calls: int) -> None:
    window = _window(start, end)
    edges = three_buckets.edges(window)
    services = three_buckets.services(window)
    assert sum(e.calls for e in edges) == calls
    assert sum(s.spans for s in services) == calls


def test_window_first_and_last_seen_follow_selected_buckets(three_buckets: SQLiteStore) -> None:
    (edge,) = three_buckets.edges(_window(T0 + 300, T0 + 900))
    assert edge.first_seen_ns == (T0 + 307) * NS
    assert edge.last_seen_ns == (T0 + 607) * NS


def test_bucket_range_floors_the_start() -> None:
    assert bucket_range(_window(T0 + 17, T0 + 1000), 300) == (T0, T0 + 1000)
    assert bucket_range(_window(T0 + 17.5, T0 + 1000.9), 60) == (T0, T0 + 1000)


def test_env_filter(store: SQLiteStore) -> None:
    agg = Aggregator()
    call(agg, "a", "b", T0, env="prod", count=2)
    call(agg, "a", "b", T0, env="staging", count=3)
    call(agg, "a", "c", T0, env="", count=5)
    sighting(agg, "a", T0, env="prod")
    sighting(agg, "a", T0, env="staging", count=2)
    sighting(agg, "z", T0, env="staging")
    write(store, agg)
    assert {(e.server, e.calls) for e in store.edges(ALL)} == {("b", 5), ("c", 5)}
    assert {(e.server, e.calls) for e in store.edges(ALL, env="prod")} == {("b", 2)}
    assert {(e.server, e.calls) for e in store.edges(ALL, env="")} == {("c", 5)}
    assert store.edges(ALL, env="nope") == []
    assert {(s.service, s.spans) for s in store.services(ALL)} == {("a", 3), ("z", 1)}
    assert {(s.service, s.spans) for s in store.services(ALL, env="staging")} == {("a", 2), ("z", 1)}


def test_edges_of_different_kinds_stay_apart(store: SQLiteStore) -> None:
    agg = Aggregator()
    call(agg, "a", "b", T0, ctype="rpc")
    call(agg, "a", "b", T0, ctype="virtual", server_kind="external")
    write(store, agg)
    edges = {e.connection_type: e for e in store.edges(ALL)}
    assert set(edges) == {"rpc", "virtual"}
    assert edges["virtual"].server_kind == "external"
    assert edges["rpc"].server_kind == "service"


def test_hostile_names_round_trip(store: SQLiteStore) -> None:
    names = ["a'; DROP TABLE edge_buckets; --", 'q"uote', "back\\slash", "new\nline", "ünï ☃", "x" * 256]
    agg = Aggregator()
    for name in names:
        call(agg, name, "b", T0)
        sighting(agg, name, T0, hints={"team": name})
    write(store, agg)
    assert {e.client for e in store.edges(ALL)} == set(names)
    assert {s.service for s in store.services(ALL)} == set(names)
    assert store.hints() == {name: {"team": name} for name in names}


# ------------------------------------------------------------------ hints


def test_hints_latest_wins(store: SQLiteStore) -> None:
    agg = Aggregator()
    sighting(agg, "svc", T0 + 100, hints={"service.version": "2"})
    write(store, agg)
    sighting(agg, "svc", T0 + 10, hints={"service.version": "1"})  # older data arrives later
    write(store, agg)
    assert store.hints() == {"svc": {"service.version": "2"}}
    sighting(agg, "svc", T0 + 200, hints={"service.version": "3", "team": "t"})
    write(store, agg)
    assert store.hints() == {"svc": {"service.version": "3", "team": "t"}}


# ------------------------------------------------------------------ concurrency


def test_readers_in_other_threads(store: SQLiteStore) -> None:
    agg = Aggregator()
    call(agg, "a", "b", T0, count=3)
    write(store, agg)
    results: list[int] = []
    errors: list[BaseException] = []

    def read() -> None:
        try:
            for _ in range(5):
                results.append(sum(e.calls for e in store.edges(ALL)))
                store.ping()
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=read) for _ in range(4)]
    for t in threads:
        t.start()
    for _ in range(5):
        call(agg, "a", "b", T0)
        write(store, agg)
    for t in threads:
        t.join(10)
    assert not errors
    assert len(results) == 20
    assert all(3 <= r <= 8 for r in results)
    assert sum(e.calls for e in store.edges(ALL)) == 8


def test_two_store_objects_on_one_file(tmp_path: Path) -> None:
    """Like `serve` writing while the CLI reads (and writes) the same database."""
    path = tmp_path / "shared.db"
    server, cli = SQLiteStore(path), SQLiteStore(path)
    try:
        agg = Aggregator()
        call(agg, "a", "b", T0, count=2)
        write(server, agg)
        assert [e.calls for e in cli.edges(ALL)] == [2]
        call(agg, "a", "b", T0, count=3)
        write(cli, agg)
        call(agg, "a", "b", T0, count=4)
        write(server, agg)
        assert [e.calls for e in server.edges(ALL)] == [9]
        assert [e.calls for e in cli.edges(ALL)] == [9]
    finally:
        server.close()
        cli.close()


def test_close_then_use_reopens(tmp_path: Path) -> None:
    s = SQLiteStore(tmp_path / "c.db")
    s.close()
    s.ping()  # a new connection is made on demand
    s.close()


# ------------------------------------------------------------------ open_store


def test_open_store_relative_path(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    s = open_store("sqlite:///rel.db")
    try:
        assert isinstance(s, SQLiteStore)
        assert s.path == "rel.db"
    finally:
        s.close()
    assert (tmp_path / "rel.db").is_file()


def test_open_store_absolute_path(tmp_path: Path) -> None:
    target = tmp_path / "abs.db"
    s = open_store(f"sqlite:///{target}")  # sqlite:////tmp/... : four slashes for an absolute path
    try:
        assert isinstance(s, SQLiteStore)
        assert Path(s.path).resolve() == target.resolve()
        agg = Aggregator()
        call(agg, "a", "b", T0)
        write(s, agg)
    finally:
        s.close()
    assert target.is_file()
    reopened = SQLiteStore(target)
    try:
        assert [e.calls for e in reopened.edges(ALL)] == [1]
    finally:
        reopened.close()


def test_open_store_absolute_path_is_normalised(tmp_path: Path) -> None:
    target = tmp_path / "abs2.db"
    s = open_store(f"sqlite:///{target}")
    try:
        assert s.path == str(target)
    finally:
        s.close()


def test_open_store_memory_and_bucket_seconds() -> None:
    s = open_store("sqlite://:memory:", bucket_seconds=60)
    try:
        assert isinstance(s, SQLiteStore)
        assert s.bucket_seconds == 60
        agg = Aggregator(bucket_seconds=60)
        call(agg, "a", "b", T0)
        write(s, agg)
        seen: list[int] = []
        reader = threading.Thread(target=lambda: seen.extend(e.calls for e in s.edges(ALL)))
        reader.start()
        reader.join(10)
        assert seen == [1]  # one in-memory database shared by the store's per-thread connections
    finally:
        s.close()


@pytest.mark.parametrize("url", ["ftp://x", "mysql://u@h/db", "ownermap.db", "", "SQLITE", "http://sqlite:///x"])
def test_open_store_rejects_other_schemes(url: str) -> None:
    with pytest.raises(ValueError, match="unsupported database URL"):
        open_store(url)


def test_reading_changes_uses_the_seq_index(tmp_path: Path) -> None:
    """The mirror's refresh must not scan the tables: its query is answered from the seq index."""
    store = SQLiteStore(tmp_path / "plan.db")
    for table in ("edge_buckets", "edge_hours", "service_buckets", "service_hours"):
        plan = store._select(f"EXPLAIN QUERY PLAN SELECT * FROM {table} WHERE seq >= ?", [1])
        assert any(f"{table}_seq" in str(step) for step in plan), plan
    store.close()
