"""`QueryMirror.inbound` with cuts (objectives' spans) equals the SQL store's `Store.inbound`, for random
data, moving cuts, windows inside the mirror, straddling its horizon and beyond it, rule 11's rows, a
compaction and late writes in between, rows far outside the window; the part before the horizon is
summed in SQL once and kept until something there changes."""

from __future__ import annotations

import random
from typing import Any

import pytest

from graph.aggregate import Aggregator
from graph.model import Call, NodeKind, Resource, Span, SpanKind, Window
from graph.store.mirror import QueryMirror
from graph.store.sql_store import SqlStore

DAY = 86_400
NOW = 1_789_999_200.0 + 1234
BURN = (21600, 3600, 1800, 300)
SERVICES = ["api", "db", "cache", "web", "queue"]


def _write(store: SqlStore, rng: random.Random, count: int, since: float, until: float) -> None:
    """Random calls (some self-calls, two environments, every latency bucket) and rule 11's spans."""
    agg = Aggregator(store.bucket_seconds)
    for _ in range(count):
        ts = rng.uniform(since, until)
        client, server = rng.sample(SERVICES, 2) if rng.random() < 0.95 else ("api", "api")
        env = rng.choice(["", "prod"])
        agg.call(Call(int(ts * 1e9), client, NodeKind.SERVICE, server, NodeKind.SERVICE, "rpc", env,
                      rng.random() < 0.1, 0.01, rng.choice([0.001, 0.03, 0.4, 3.0, 30.0, None]), bytes(16)))
    for _ in range(count // 10):
        ts = rng.uniform(since, until)
        span = Span(bytes(16), bytes(8), b"", Resource(rng.choice(["db", "legacy"]), "", {}), SpanKind.SERVER,
                    int(ts * 1e9), int(ts * 1e9) + 1000, error=rng.random() < 0.3)
        agg.signal(span, "unmatched_in")
    store.write(agg.drain())


def _fill(store: SqlStore, rng: random.Random) -> None:
    _write(store, rng, 3000, NOW - 12 * DAY, NOW)
    _write(store, rng, 20, NOW - 400 * DAY, NOW - 100 * DAY)  # far before any window
    _write(store, rng, 20, NOW + 2 * DAY, NOW + 9 * DAY)  # far ahead of the clock
    store.compact(NOW, retention_days=400)


def _assert_equal(mirror: QueryMirror, store: SqlStore, rng: random.Random, end: float) -> None:
    """Windows ending at `end` (28 days, within the mirror, straddling, beyond it) with the burn cuts and
    random ones (some outside the window), each environment and service filter."""
    windows = [Window(end - 28 * DAY, end), Window(end - 6 * 3600, end), Window(end - 2.5 * DAY, end),
               Window(end - 9 * DAY, end - 5 * DAY)]
    for window in windows:
        cuts = [window.end - s for s in BURN] + [rng.uniform(window.start - DAY, window.end + DAY) for _ in range(3)]
        for env, service in ((None, None), ("prod", None), ("nowhere", None), (None, "db"), (None, "legacy"),
                             ("prod", "absent")):
            expected = store.inbound(window, env, service, cuts)
            assert mirror.inbound(window, env, service, cuts) == expected, (window, env, service)
            if service is None:
                _assert_table_equal(mirror, window, env, cuts, expected)
        assert mirror.inbound(window, cuts=[]) == store.inbound(window, cuts=[])
        assert mirror.inbound(window) == store.inbound(window)  # per bucket: as SQL gives it


def _assert_table_equal(mirror: QueryMirror, window: Window, env: str | None, cuts: list[float],
                        expected: list[Any]) -> None:
    """The spans as a SpanTable (inside the mirror): per service, the records SQL gives, in its order."""
    table = mirror.inbound_spans(window, env, cuts)
    if table is None:  # not mirrored: read from SQL
        assert mirror._parts(window)[1] is None
        return
    names = {b.service for b in expected}
    assert set(table.names) == names
    for name in names:
        assert table.buckets(name) == [b for b in expected if b.service == name], name
        assert table.block(name)  # rows to compare


def test_spans_from_memory_equal_sql_through_moving_cuts_late_writes_and_compaction(store: SqlStore) -> None:
    rng = random.Random(11)
    _fill(store, rng)
    clock = [NOW]
    mirror = QueryMirror(store, days=3, refresh_seconds=0, clock=lambda: clock[0])
    assert any(b.calls for b in store.inbound(Window(NOW - 28 * DAY, NOW), cuts=[NOW - 3600]))
    for step in range(3):  # windows ending a bucket (and a bit) apart
        _assert_equal(mirror, store, rng, NOW - step * 317)
    _write(store, rng, 300, NOW - 2 * DAY, NOW - 7 * 3600)  # late writes into the mirrored days' settled head
    _assert_equal(mirror, store, rng, NOW)
    _write(store, rng, 300, NOW - 10 * DAY, NOW - 4 * DAY)  # late writes before the horizon (5-minute rows)
    _write(store, rng, 300, NOW - 3600, NOW)
    _assert_equal(mirror, store, rng, NOW)
    store.compact(NOW, retention_days=400)  # rolls the late rows into hours, behind the kept sums
    _assert_equal(mirror, store, rng, NOW + 200)
    clock[0] = NOW + DAY + 100  # the mirror lets go of a day: more of each window lies before it
    _write(store, rng, 300, NOW, NOW + DAY)
    store.compact(NOW + DAY, retention_days=400)
    _assert_equal(mirror, store, rng, NOW + DAY)


def test_the_part_before_the_horizon_is_summed_once_while_nothing_there_changes(
        store: SqlStore, monkeypatch: pytest.MonkeyPatch) -> None:
    rng = random.Random(3)
    _fill(store, rng)
    mirror = QueryMirror(store, days=3, refresh_seconds=0, clock=lambda: NOW)
    mirror.refresh()
    reads: list[tuple[Any, ...]] = []
    for name in ("inbound", "series_rows"):
        real = getattr(store, name, None)
        monkeypatch.setattr(store, name, lambda *a, _real=real, _name=name, **kw: reads.append((_name, *a)) or _real(
            *a, **kw))

    def older_hour_sums() -> int:  # reads of hourly rows only (the 5-minute ranges empty)
        return sum(1 for r in reads if r[0] == "series_rows" and list(r[2][:4]) == [0, 0, 0, 0] and r[2][4] != 0)

    ends = [NOW - 300 * i for i in range(4)]  # in one hour: one older part
    answers = [mirror.inbound(Window(end - 28 * DAY, end), cuts=[end - s for s in BURN]) for end in ends]
    assert not [r for r in reads if r[0] == "inbound"]  # nothing summed by the SQL store's own inbound
    assert older_hour_sums() == 1
    assert answers == [store.inbound(Window(end - 28 * DAY, end), cuts=[end - s for s in BURN]) for end in ends]
    window = Window(NOW - 28 * DAY, NOW)
    before = sum(b.calls for b in store.inbound(window, cuts=[]))
    _write(store, rng, 50, NOW - 20 * DAY, NOW - 19 * DAY)  # a late write far back: a 5-minute row first
    assert sum(b.calls for b in mirror.inbound(window, cuts=[])) > before
    store.compact(NOW, retention_days=400)  # now an hourly row: the kept hourly sums are read again
    count = older_hour_sums()
    assert mirror.inbound(window, cuts=[]) == store.inbound(window, cuts=[])
    assert older_hour_sums() == count + 1


def test_a_late_write_into_the_kept_head_of_the_mirrored_days_is_seen(store: SqlStore) -> None:
    rng = random.Random(5)
    _fill(store, rng)
    mirror = QueryMirror(store, days=3, refresh_seconds=0, clock=lambda: NOW)
    window, cuts = Window(NOW - 28 * DAY, NOW), [NOW - s for s in BURN]
    assert mirror.inbound(window, cuts=cuts) == store.inbound(window, cuts=cuts)
    _write(store, rng, 300, NOW - 2 * DAY, NOW - 7 * 3600)  # behind the first cut, after the horizon
    _write(store, rng, 30, NOW - 600, NOW)
    assert mirror.inbound(window, cuts=cuts) == store.inbound(window, cuts=cuts)
    assert mirror.inbound(window, "prod", cuts=cuts) == store.inbound(window, "prod", cuts=cuts)


def _filled_with_a_clock(store: SqlStore, seed: int) -> tuple[random.Random, QueryMirror, list[float]]:
    """The store filled at random, and a mirror of its last 3 days whose clock the test moves."""
    rng = random.Random(seed)
    _fill(store, rng)
    clock = [NOW]
    return rng, QueryMirror(store, days=3, refresh_seconds=0, clock=lambda: clock[0]), clock


def test_heads_moving_into_the_next_hour_are_joined_from_kept_hours_and_equal_sql(
        store: SqlStore, monkeypatch: pytest.MonkeyPatch) -> None:
    rng, mirror, clock = _filled_with_a_clock(store, 11)
    summed: list[float] = []  # lengths of the windows whose rows were summed hour by hour
    real = mirror._spans._by_hour
    monkeypatch.setattr(mirror._spans, "_by_hour",
                        lambda window, *a: summed.append(window.end - window.start) or real(window, *a))
    for step in range(40):  # a window ending now, 5 minutes later each time: over three hour boundaries
        end = clock[0] = NOW + step * 300
        if step == 17:
            _write(store, rng, 80, end - 2 * DAY, end - 7 * 3600)  # late, into kept hours
        if step == 29:
            store.compact(end, retention_days=400)
        _write(store, rng, 5, end - 200, end)
        for window in (Window(end - 28 * DAY, end), Window(end - 2 * DAY, end)):
            cuts = [window.end - s for s in BURN]
            assert mirror.inbound(window, cuts=cuts) == store.inbound(window, cuts=cuts), (step, window)
    assert summed and summed[0] > 2 * DAY  # the first head: its days summed in one pass
    # Later heads: only the hours not kept (the new one after the clock's move, those after a late write).
    assert sum(1 for length in summed if length == 3600) >= 3


def test_heads_over_hours_without_rows_are_empty_as_in_sql(store: SqlStore) -> None:
    rng = random.Random(13)
    mirror = QueryMirror(store, days=3, refresh_seconds=0, clock=lambda: NOW)
    window, cuts = Window(NOW - 28 * DAY, NOW), [NOW - s for s in BURN]
    assert mirror.inbound(window, cuts=cuts) == store.inbound(window, cuts=cuts) == []
    _write(store, rng, 40, NOW - 1800, NOW)  # rows only after the first cut: the head's hours stay empty
    assert mirror.inbound(window, cuts=cuts) == store.inbound(window, cuts=cuts) != []


def test_a_head_whose_end_moves_into_the_next_hour_is_extended_and_equals_sql(
        store: SqlStore, monkeypatch: pytest.MonkeyPatch) -> None:
    rng, mirror, clock = _filled_with_a_clock(store, 17)
    joined: list[tuple[int, float]] = []  # (step, hours) of every span of hours joined into a head
    real = mirror._spans._hour_sums
    step = 0
    monkeypatch.setattr(mirror._spans, "_hour_sums",
                        lambda start, end, *a: joined.append((step, (end - start) / 3600)) or real(start, end, *a))
    for step in range(30):  # 28-day windows ending now: their mirrored part starts at the horizon
        end = clock[0] = NOW + step * 300
        if step == 21:
            _write(store, rng, 40, end - 2 * DAY, end - 7 * 3600)  # late, into the kept head
        _write(store, rng, 5, end - 200, end)
        window = Window(end - 28 * DAY, end)
        for env in (None, "prod"):
            cuts = [window.end - s for s in BURN]
            assert mirror.inbound(window, env, cuts=cuts) == store.inbound(window, env, cuts=cuts), (step, env)
    long = [s for s, hours in joined if hours > 1]
    # Whole heads only at the start and after the late write; else one new hour added to the kept head.
    assert long and set(long) <= {0, 21} and len(long) <= 4
    assert any(hours == 1 and s not in (0, 21) for s, hours in joined)
