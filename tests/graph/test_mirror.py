"""The in-memory mirror answers exactly what the SQL answers, through writes, compaction and time."""

from __future__ import annotations

import dataclasses
import random
import threading
import uuid
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import orjson
import pytest

from graph.aggregate import Aggregator
from graph.model import Call, NodeKind, Window
from graph.reads import GraphReader
from graph.service_graph import ServiceGraph
from graph.store.mirror import QueryMirror
from graph.store.rows import batch_rows
from graph.store.sql import both_resolutions, bucket_range, window_params
from graph.store.sql_store import SqlStore
from graph.store.sqlite import SQLiteStore
from tests.collector.otlp_builders import FakeClock
from tests.graph.store_builders import postgres_store as _postgres
from tests.graph.test_store_contract import DAY, NOW, _calls, _sighting, _write

HOUR = 3600


def _comparable(rows: list[Any]) -> list[tuple[Any, ...]]:
    """Edge rows without their exemplars (checked by `_assert_exemplar_rule`) and with rounded float
    sums, sorted."""
    out = []
    for row in rows:
        fields = dataclasses.asdict(row)
        fields.pop("exemplars", None)
        # Float sums depend on the order of addition: equal to a nanosecond.
        out.append(tuple(sorted((k, round(v, 9) if isinstance(v, float) else v) for k, v in fields.items())))
    return sorted(out)


def _exemplar_pool(store: SqlStore, window: Window, env: str | None) -> dict[tuple[str, str, str], set[str]]:
    """Every trace id the window's rows of each edge hold (read from both tables, as SQL sums them)."""
    rows_sql = both_resolutions("edge_buckets", "edge_hours", ["client", "server", "connection_type", "exemplars"],
                                store.placeholder, env)
    pool: dict[tuple[str, str, str], set[str]] = {}
    for client, server, ctype, exemplars in store._select(rows_sql, window_params(window, store.bucket_seconds, env)):
        pool.setdefault((client, server, ctype), set()).update(e for e in exemplars.split(",") if e)
    return pool


def _assert_exemplar_rule(rows: list[Any], pool: dict[tuple[str, str, str], set[str]]) -> None:
    """The rule for exemplars (a sample, not a sum; graph.store.merge): an edge shows at most five
    distinct trace ids, all held by its rows in the window, and some whenever one of them holds some."""
    for row in rows:
        held = pool[(row.client, row.server, row.connection_type)]
        assert len(row.exemplars) == len(set(row.exemplars)) <= 5, row
        assert set(row.exemplars) <= held, (row, held)
        assert bool(row.exemplars) == bool(held), (row, held)


def _assert_edges_equal(mirror: QueryMirror, store: SqlStore, window: Window, env: str | None = None) -> None:
    """The mirror's edges equal SQL's, exemplars by the rule (both answers follow it)."""
    by_mirror, by_sql = mirror.edges(window, env), store.edges(window, env)
    assert _comparable(by_mirror) == _comparable(by_sql), (window, env)
    pool = _exemplar_pool(store, window, env)
    _assert_exemplar_rule(by_mirror, pool)
    _assert_exemplar_rule(by_sql, pool)


WINDOWS = [(0, HOUR), (0, DAY), (DAY, 3 * DAY), (0, 7 * DAY), (7 * HOUR + 300, 2 * DAY + 1234), (0, 9 * DAY)]


def _assert_same(mirror: QueryMirror, store: SqlStore, now: float) -> None:
    for back_end, back_start in WINDOWS:
        window = Window(now - back_start, now - back_end)
        for env in (None, "", "prod", "nowhere"):
            _assert_edges_equal(mirror, store, window, env)
            assert sorted(mirror.services(window, env), key=repr) == sorted(store.services(window, env), key=repr)
            edges, services = mirror.topology(window, env).rows()
            sql_edges, sql_services = store.topology(window, env).rows()
            assert (sorted(edges), sorted(services)) == (sorted(sql_edges), sorted(sql_services)), (window, env)


def _random_batch(rng: random.Random, agg: Aggregator, now: float) -> None:
    services = ["web", "api", "db", "queue", "auth", "<script>"]
    for _ in range(rng.randint(1, 20)):
        ts = now - rng.choice([rng.uniform(0, 600), rng.uniform(0, DAY), rng.uniform(0, 10 * DAY)])
        client, server = rng.sample(services, 2)
        env = rng.choice(["", "prod"])
        if rng.random() < 0.2:  # a virtual server node: its kind differs from the same name as a service
            agg.call(Call(int(ts * 1e9), client, NodeKind.SERVICE, server, NodeKind.DATABASE, "database", env,
                     rng.random() < 0.3, rng.random() / 10, None, rng.randbytes(16)))
        else:
            _calls(agg, ts, client, server, rng.randint(1, 4), failed=rng.randint(0, 1), env=env)
        _sighting(agg, ts, client, env=env)


def test_mirror_equals_sql_through_writes_compaction_backfill_and_time(store: SqlStore) -> None:
    rng = random.Random(7)
    clock = FakeClock(NOW)
    mirror = QueryMirror(store, days=8, refresh_seconds=0, clock=clock)
    _write(store, lambda a: _random_batch(rng, a, clock.now()))
    _assert_same(mirror, store, clock.now())  # the first load
    for step in range(12):
        _write(store, lambda a: _random_batch(rng, a, clock.now()))
        if step % 3 == 2:
            store.compact(clock.now(), retention_days=rng.choice([2, 90]))
        if step % 4 == 3:  # a backfill of old data, below the compaction cutoff, after a compaction
            _write(store, lambda a: _calls(a, clock.now() - 3 * DAY - 77, "batch", "api", 3))
        _assert_same(mirror, store, clock.now())
        clock.advance(rng.choice([300, 3 * HOUR, DAY + 1800]))  # the horizon moves on


def test_a_graph_is_built_from_one_refresh(store: SqlStore, monkeypatch: pytest.MonkeyPatch) -> None:
    _write(store, lambda a: (_calls(a, NOW - 60, "web", "api", 2), _sighting(a, NOW - 60, "web")))
    mirror = QueryMirror(store, days=8, refresh_seconds=0, clock=lambda: NOW)
    window = Window(NOW - DAY, NOW)
    mirror.refresh(force=True)
    reads: list[Any] = []
    read_changes = store.read_changes
    monkeypatch.setattr(store, "read_changes", lambda *args, **kw: reads.append(args) or read_changes(*args, **kw))
    graph = ServiceGraph.from_store(mirror, window)
    assert len(reads) == 1  # services and edges from the same look at the store
    assert set(graph.nodes) == {"web", "api"} and [(e.source, e.target, e.calls) for e in graph.edges] == [
        ("web", "api", 2)]
    services, table = mirror.window_rows(window)
    assert (services, table.rows()) == (mirror.services(window), mirror.edge_table(window).rows())


def test_windows_beyond_the_mirrored_days_are_answered_by_sql(store: SqlStore) -> None:
    _write(store, lambda a: (_calls(a, NOW - 20 * DAY, "old", "api", 2), _calls(a, NOW - 60, "new", "api", 1)))
    mirror = QueryMirror(store, days=2, refresh_seconds=0, clock=lambda: NOW)
    month = Window(NOW - 30 * DAY, NOW)
    assert {e.client for e in mirror.edges(month)} == {"old", "new"}
    assert {e.client for e in mirror.edges(Window(NOW - DAY, NOW))} == {"new"}


def test_a_refresh_is_reused_for_refresh_seconds(store: SqlStore) -> None:
    mirror = QueryMirror(store, days=8, refresh_seconds=3600, clock=lambda: NOW)
    window = Window(NOW - DAY, NOW)
    assert mirror.edges(window) == []
    _write(store, lambda a: _calls(a, NOW - 60, "web", "api", 1))
    assert mirror.edges(window) == []  # not yet looked again
    mirror.refresh(force=True)
    assert [(e.client, e.calls) for e in mirror.edges(window)] == [("web", 1)]


def test_concurrent_writers_and_a_reading_mirror_agree(store: SqlStore) -> None:
    writers = [store if isinstance(store, SQLiteStore) else _postgres(store.schema)  # type: ignore[attr-defined]
               for _ in range(3)]
    mirror = QueryMirror(store, days=8, refresh_seconds=0, clock=lambda: NOW)
    window = Window(NOW - DAY, NOW)
    stop = threading.Event()

    def write(target: SqlStore, seed: int) -> None:
        rng = random.Random(seed)
        for _ in range(15):
            _write(target, lambda a: _random_batch(rng, a, NOW))

    def read() -> None:
        while not stop.is_set():
            mirror.edges(window)

    reader = threading.Thread(target=read)
    reader.start()
    threads = [threading.Thread(target=write, args=(target, i)) for i, target in enumerate(writers)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    stop.set()
    reader.join()
    _assert_same(mirror, store, NOW)
    for other in writers:
        if other is not store:
            other.close()


def test_a_row_committed_during_a_compaction_survives_in_the_mirror(tmp_path: Path) -> None:
    """PostgreSQL: a write that began before a compaction and commits while it is open (after its
    deletes ran) is not deleted by it, yet its seq is below the compaction's. A mirror that saw the
    write before the compaction committed must keep it when it learns of the compaction."""
    store = _postgres(f"m_{uuid.uuid4().hex[:12]}")
    writer = _postgres(store.schema)  # type: ignore[attr-defined]
    mirror = QueryMirror(store, days=8, refresh_seconds=0, clock=lambda: NOW)
    window = Window(NOW - 5 * DAY, NOW)
    _write(store, lambda a: _calls(a, NOW - 3 * DAY, "web", "api", 2))
    mirror.refresh(force=True)
    late = Aggregator(store.bucket_seconds)
    _calls(late, NOW - 3 * DAY + 600, "late", "api", 1)
    edge_rows, _, _ = batch_rows(late.drain())
    with ExitStack() as write_txn:
        cur = write_txn.enter_context(writer._transaction())
        seq = writer._next_seq(cur)  # the write's id, older than the compaction's
        cur.executemany(writer._edge_upsert, [(*row, seq) for row in edge_rows])
        with ExitStack() as compaction_txn:
            compaction = compaction_txn.enter_context(store._transaction())
            store._compact(compaction, NOW, 90)  # its deletes ran: the late row is not visible to them
            write_txn.close()  # the late write commits
            mirror.refresh(force=True)  # sees the late write, not yet the compaction
    _assert_edges_equal(mirror, store, window)
    assert {e.client for e in mirror.edges(window)} == {"web", "late"}
    writer.close()
    store.close()


def test_the_topology_digest_changes_with_the_topology_only(store: SqlStore) -> None:
    mirror = QueryMirror(store, days=8, refresh_seconds=0, clock=lambda: NOW)
    window = Window(NOW - DAY, NOW)
    _write(store, lambda a: (_calls(a, NOW - 600, "web", "api", 1), _sighting(a, NOW - 600, "web")))
    first = mirror.topology(window).key
    _write(store, lambda a: _calls(a, NOW - 300, "web", "api", 5))  # more calls: same topology
    assert mirror.topology(window).key == first
    _write(store, lambda a: _calls(a, NOW - 300, "api", "db", 1))  # a new edge
    second = mirror.topology(window).key
    assert second != first
    _write(store, lambda a: _sighting(a, NOW - 300, "lonely"))  # a new service without edges
    assert mirror.topology(window).key not in (first, second)
    # Reaching before the mirrored days: the older part is summed in SQL and kept, so the digest is
    # stable until something there changes.
    month = Window(NOW - 30 * DAY, NOW)
    reaching = mirror.topology(month).key
    assert reaching is not None and mirror.topology(month).key == reaching
    _write(store, lambda a: _calls(a, NOW - 20 * DAY, "web", "api", 1))  # same topology, older part rewritten
    assert mirror.topology(month).key != reaching
    assert mirror.topology(Window(NOW - 40 * DAY, NOW - 30 * DAY)).key is None  # all before: SQL, no digest


def test_sums_kept_for_asked_windows_stay_exact_through_many_writes(store: SqlStore) -> None:
    """The same windows asked again and again: their sums are updated row by row, not rebuilt."""
    rng = random.Random(11)
    mirror = QueryMirror(store, days=8, refresh_seconds=0, clock=lambda: NOW)
    windows = [Window(NOW - HOUR, NOW), Window(NOW - DAY, NOW), Window(NOW - 7 * DAY, NOW)]

    def batch(agg: Aggregator) -> None:
        _random_batch(rng, agg, NOW)
        # One edge whose server kind differs between rows: the least kind by name must win.
        kind = rng.choice([NodeKind.SERVICE, NodeKind.DATABASE, NodeKind.EXTERNAL])
        agg.call(Call(int((NOW - rng.uniform(0, 2 * DAY)) * 1e9), "web", NodeKind.SERVICE, "shifty", kind, "rpc",
                 rng.choice(["", "prod"]), False, 0.01, 0.005, rng.randbytes(16)))

    _write(store, batch)
    for _ in range(25):
        for window in windows:
            for env in (None, "prod"):
                _assert_edges_equal(mirror, store, window, env)
        assert len(mirror._sums) == 6  # kept, not rebuilt
        _write(store, batch)


def _held(mirror: QueryMirror) -> int:
    """The most rows the mirror holds of one kind (edge rows or service rows)."""
    return max(mirror._edges.size - mirror._edges.dead, mirror._services.size - mirror._services.dead)


def test_past_max_rows_the_mirror_lets_go_of_its_oldest_days_and_sums_only_those_in_sql(
    store: SqlStore, caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch,
) -> None:
    rng = random.Random(3)
    clock = FakeClock(NOW)
    mirror = QueryMirror(store, days=8, refresh_seconds=0, clock=clock, max_rows=60)
    _write(store, lambda a: [_calls(a, NOW - day * DAY - 60, "web", "api", 1) for day in range(7)])
    _assert_same(mirror, store, NOW)
    assert _held(mirror) == 7  # all seven days held
    for step in range(12):  # grows past the limit while serving; late writes, compactions, time moving
        _write(store, lambda a: _random_batch(rng, a, clock.now()))
        if step % 4 == 3:  # a backfill before the mirrored days: the kept SQL part must be summed again
            _write(store, lambda a: _calls(a, clock.now() - 6 * DAY - 77, "batch", "api", 3))
        if step % 5 == 4:
            store.compact(clock.now(), retention_days=90)
        _assert_same(mirror, store, clock.now())
        assert _held(mirror) <= 60
        clock.advance(rng.choice([300, 3 * HOUR]))
    assert "query_mirror_max_rows=60" in caplog.text
    now = clock.now()
    fresh = QueryMirror(store, days=8, refresh_seconds=0, clock=clock, max_rows=60)
    _assert_same(fresh, store, now)  # too large from its first load on: degraded the same way
    assert _held(fresh) <= 60
    summed: list[tuple[tuple[int, int], tuple[int, int]]] = []  # bucket ranges summed in SQL from here on
    range_rows, sql_edges = store.range_rows, store.edges
    monkeypatch.setattr(store, "range_rows", lambda f, h, *a: summed.append((f, h)) or range_rows(f, h, *a))
    monkeypatch.setattr(store, "edges", lambda w, *a: summed.append(((0, 0), (0, 0))) or sql_edges(w, *a))
    week = Window(now - 7 * DAY, now)
    for reader in (mirror, fresh):
        horizon = reader._horizon
        assert now - 7 * DAY < horizon < now  # the oldest days let go, the newest kept
        assert reader.edges(Window(horizon, now)) and not summed  # answered from memory
        assert reader.edges(week)  # only the part before the horizon is summed in SQL
        week_hours, week_fine = bucket_range(week, HOUR)[0], bucket_range(week, 300)[0]
        assert summed == [((0, 0), (week_hours, horizon)), ((week_fine, horizon), (0, 0))]
        summed.clear()
        reader.edges(week)
        later = Window(week.start + 300, week.end + 300)
        reader.edges(later)  # a bucket later, same hour: the hourly sums are kept, 5-minute rows summed again
        assert summed == [((week_fine, horizon), (0, 0)), ((week_fine + 300, horizon), (0, 0))]
        summed.clear()


def test_a_window_ending_now_keeps_its_sums_until_the_next_bucket_then_moves_them(store: SqlStore) -> None:
    clock = FakeClock(NOW + 10)
    mirror = QueryMirror(store, days=8, refresh_seconds=0, clock=clock)
    _write(store, lambda a: (_calls(a, NOW + 5, "web", "api", 2), _calls(a, NOW - 2 * DAY, "old", "api", 1)))
    for _ in range(3):  # a dashboard asking for the last week every few seconds
        window = Window(clock.now() - 7 * DAY, clock.now())
        _assert_edges_equal(mirror, store, window)
        clock.advance(7)
    (sums,) = mirror._sums.values()
    clock.advance(NOW + 300 - clock.now())  # the next 5-minute bucket: other ranges, the same sums moved along
    window = Window(clock.now() - 7 * DAY, clock.now())
    _assert_edges_equal(mirror, store, window)
    assert list(mirror._sums.values()) == [sums]


def test_moving_windows_follow_rows_in_and_out_exactly(store: SqlStore) -> None:
    """A 6-hour window moving by 5 minutes over two days of rows at both resolutions: rows enter at
    its end and leave at its start (some edges lose every row), and the moved sums equal SQL."""
    rng = random.Random(5)
    start = NOW - 2 * DAY
    end = start  # where the moving window ends (the mirror's clock stays at NOW)
    mirror = QueryMirror(store, days=8, refresh_seconds=0, clock=lambda: NOW)

    def fill(agg: Aggregator) -> None:
        for _ in range(300):
            ts = start + rng.uniform(0, 2 * DAY)
            client, server = rng.sample(["web", "api", "db", "queue", "auth"], 2)
            _calls(agg, ts, client, server, rng.randint(1, 3), failed=rng.randint(0, 1))
        agg.call(Call(int((start + 3 * HOUR) * 1e9), "once", NodeKind.SERVICE, "api", NodeKind.DATABASE, "database",
                 "", False, 0.01, None, rng.randbytes(16)))

    _write(store, fill)
    store.compact(NOW, retention_days=90)  # the first day becomes hourly rows
    moved = 0
    for _ in range(60):
        end += rng.choice([300, 300, 900, 3600])
        window = Window(end - 6 * HOUR, end)
        before = list(mirror._sums.values())
        _assert_edges_equal(mirror, store, window)
        moved += list(mirror._sums.values()) == before and bool(before)
    assert moved >= 50  # followed, not rebuilt


def test_edges_of_the_map_are_made_again_only_when_their_sums_change(store: SqlStore) -> None:
    mirror = QueryMirror(store, days=8, refresh_seconds=0, clock=lambda: NOW)
    reader = GraphReader(mirror)  # keeps what it made between answers
    window = Window(NOW - DAY, NOW)
    _write(store, lambda a: (_calls(a, NOW - 600, "web", "api", 2), _calls(a, NOW - 600, "api", "db", 1),
                             _sighting(a, NOW - 600, "web")))

    def both() -> tuple[dict[tuple[str, str], dict], dict[tuple[str, str], dict]]:  # type: ignore[type-arg]
        by_mirror = {(e["source"], e["target"]): e for e in reader.graph(window, None).edge_dicts()}
        by_sql = {(e["source"], e["target"]): e for e in ServiceGraph.from_store(store, window).edge_dicts()}
        pool = _exemplar_pool(store, window, None)
        for answer in (by_mirror, by_sql):  # exemplars by the rule, the rest equal
            for (source, target), edge in answer.items():
                ids = edge["exemplar_trace_ids"]
                assert ids and len(set(ids)) == len(ids) <= 5 and set(ids) <= pool[(source, target, "rpc")]
        assert {k: {**v, "exemplar_trace_ids": None} for k, v in by_mirror.items()} == {
            k: {**v, "exemplar_trace_ids": None} for k, v in by_sql.items()}
        return by_mirror, by_sql

    first, _ = both()
    _write(store, lambda a: _calls(a, NOW - 300, "web", "api", 5, failed=2))  # only web → api changes
    second, by_sql = both()
    assert second[("web", "api")]["calls"] == by_sql[("web", "api")]["calls"] == 7
    assert second[("web", "api")] is not first[("web", "api")]
    assert second[("api", "db")] is first[("api", "db")]  # unchanged: the same object, not made again


def test_edges_are_encoded_again_only_when_made_again_and_read_as_encoding_them_at_once(store: SqlStore) -> None:
    mirror = QueryMirror(store, days=8, refresh_seconds=0, clock=lambda: NOW)
    reader = GraphReader(mirror)
    window = Window(NOW - DAY, NOW)
    _write(store, lambda a: (_calls(a, NOW - 600, "web", "api", 2), _calls(a, NOW - 600, "api", "db", 1)))

    def encoded() -> dict[tuple[str, str], bytes]:
        graph = reader.graph(window, None)
        pairs = graph.encoded_edges()
        assert [edge for edge, _ in pairs] == graph.edge_dicts()
        assert b"[" + b",".join(body for _, body in pairs) + b"]" == orjson.dumps(graph.edge_dicts())
        return {(edge["source"], edge["target"]): body for edge, body in pairs}

    first = encoded()
    _write(store, lambda a: _calls(a, NOW - 300, "web", "api", 5, failed=2))  # only web → api changes
    second = encoded()
    assert b'"calls":7' in second[("web", "api")] and second[("web", "api")] != first[("web", "api")]
    assert second[("api", "db")] is first[("api", "db")]  # unchanged: not encoded again


YEAR_2100 = 4_102_444_800  # 2100-01-01T00:00:00Z


def _far_future(agg: Aggregator) -> None:
    """6 000 distinct 5-minute buckets in the year 2100, on one service (a client with a broken clock)."""
    for i in range(6_000):
        ts = YEAR_2100 + i * 300
        _calls(agg, ts, "skewed", "api", 1)
        _sighting(agg, ts, "skewed")


def test_rows_far_ahead_of_the_clock_neither_load_nor_count_against_max_rows(store: SqlStore) -> None:
    _write(store, lambda a: (_calls(a, NOW - 60, "web", "api", 2), _sighting(a, NOW - 60, "web")))
    running = QueryMirror(store, days=8, refresh_seconds=0, clock=lambda: NOW, max_rows=100)
    _assert_same(running, store, NOW)
    _write(store, _far_future)  # arrives while the mirror serves
    _write(store, lambda a: [_calls(a, 631_152_000 + i * 300, "ancient", "api", 1) for i in range(300)])  # 1990
    _assert_same(running, store, NOW)
    fresh = QueryMirror(store, days=8, refresh_seconds=0, clock=lambda: NOW, max_rows=100)
    _assert_same(fresh, store, NOW)  # the first load after a restart
    for mirror in (running, fresh):
        assert mirror._edges.size + mirror._services.size == 2
        graph = ServiceGraph.from_store(mirror, Window(NOW - 7 * DAY, NOW))
        assert [(e.source, e.target, e.calls) for e in graph.edges] == [("web", "api", 2)]
    # A window that reaches that far is summed in SQL, so it is still answered in full.
    assert _comparable(fresh.edges(Window(NOW - DAY, YEAR_2100 + 400 * DAY))) == _comparable(
        store.edges(Window(NOW - DAY, YEAR_2100 + 400 * DAY)))


def test_rows_a_little_ahead_are_mirrored_and_later_ones_taken_in_as_the_clock_reaches_them(
    store: SqlStore,
) -> None:
    clock = FakeClock(NOW)
    mirror = QueryMirror(store, days=8, refresh_seconds=0, clock=clock)
    _write(store, lambda a: (_calls(a, NOW + 600, "soon", "api", 1), _calls(a, NOW + 5 * HOUR, "later", "api", 3)))
    _assert_same(mirror, store, NOW)
    assert mirror._edges.size == 1  # the row 10 minutes ahead; not yet the one 5 hours ahead
    clock.advance(4 * HOUR)
    _assert_same(mirror, store, clock.now())
    clock.advance(2 * HOUR)  # now past it
    _assert_same(mirror, store, clock.now())
    assert mirror._edges.size == 2
    window = Window(clock.now() - DAY, clock.now())
    assert {(e.client, e.calls) for e in mirror.edges(window)} == {("soon", 1), ("later", 3)}


def test_a_backlog_is_taken_in_a_chunk_at_a_time(store: SqlStore, monkeypatch: pytest.MonkeyPatch) -> None:
    rng = random.Random(11)
    mirror = QueryMirror(store, days=8, refresh_seconds=0, clock=lambda: NOW)
    mirror.chunk = 7
    _assert_same(mirror, store, NOW)  # loaded (empty)
    for _ in range(6):  # a backlog written between two queries (a bulk load, a backfill)
        _write(store, lambda a: _random_batch(rng, a, NOW))
    taken: list[int] = []
    take = mirror._take
    monkeypatch.setattr(mirror, "_take", lambda part: taken.append(len(part.edges) + len(part.services)) or take(part))
    _assert_same(mirror, store, NOW)
    assert sum(taken) == sum(mirror.rows()) > 7 and max(taken) <= 7  # never more than a chunk as Python rows


def test_calls_per_node_of_moving_windows_equal_sql_with_who_calls_whom_kept(store: SqlStore) -> None:
    """Calls into and out of each node, read through the adjacency the mirror keeps with its edge
    names (shared by windows with the same edges), equal the SQL graph's, while rows enter and leave."""
    rng = random.Random(9)
    names = ["web", "api", "db", "queue", "auth"]

    def fill(agg: Aggregator) -> None:
        for _ in range(200):
            client, server = rng.choice(names), rng.choice(names)  # self-calls too
            _calls(agg, NOW - rng.uniform(0, DAY), client, server, rng.randint(1, 3), failed=rng.randint(0, 1))

    _write(store, fill)
    reader = GraphReader(QueryMirror(store, days=8, refresh_seconds=0, clock=lambda: NOW))
    shared = 0
    previous = None
    for step in range(12):
        window = Window(NOW - 20 * HOUR + step * 1800, NOW - 2 * HOUR + step * 1800)
        if step == 6:
            _write(store, lambda a: _calls(a, NOW - 600, "auth", "newcomer", 2))  # a new edge
        by_mirror, by_sql = reader.graph(window, None), ServiceGraph.from_store(store, window)
        for name in [*names, "newcomer"]:
            for side in ("calls_into", "calls_out_of"):
                assert sorted(getattr(by_mirror, side)(name)) == sorted(getattr(by_sql, side)(name)), (step, name)
        shared += by_mirror.adjacency() is previous
        previous = by_mirror.adjacency()
    assert shared >= 5  # kept while the window's edges stayed the same
