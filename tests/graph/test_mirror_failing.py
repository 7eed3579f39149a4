"""`QueryMirror.failing` equals the SQL store's `Store.failing` (on-call's failing buckets), for windows
inside the mirror, straddling its horizon and beyond it, at both resolutions, with rule 11's rows."""

from __future__ import annotations

import random

import pytest

from graph.aggregate import Aggregator
from graph.model import Call, NodeKind, Resource, Span, SpanKind, Window
from graph.store.mirror import QueryMirror
from graph.store.sql_store import SqlStore

DAY = 86_400
NOW = 1_789_999_200.0 + 1234


def _fill(store: SqlStore, rng: random.Random) -> None:
    agg = Aggregator(store.bucket_seconds)
    services = ["api", "db", "cache", "web"]
    for _ in range(6000):
        ts = NOW - rng.uniform(0, 4 * DAY)
        client, server = rng.sample(services, 2) if rng.random() < 0.95 else ("api", "api")
        burst = int(ts // 3600) % 7 == 0  # some hours fail a lot
        agg.call(Call(int(ts * 1e9), client, NodeKind.SERVICE, server, NodeKind.SERVICE, "rpc",
                      rng.choice(["", "prod"]), rng.random() < (0.5 if burst else 0.01), 0.01, 0.005, bytes(16)))
    for _ in range(600):  # rule 11: server spans whose callers never report
        ts = NOW - rng.uniform(0, 4 * DAY)
        span = Span(bytes(16), bytes(8), b"", Resource("db", "", {}), SpanKind.SERVER, int(ts * 1e9),
                    int(ts * 1e9) + 1000, error=rng.random() < 0.3)
        agg.signal(span, "unmatched_in")
    store.write(agg.drain())
    store.compact(NOW, retention_days=90)


@pytest.mark.parametrize("hourly", [False, True])
def test_failing_from_memory_equals_sql(store: SqlStore, hourly: bool) -> None:
    _fill(store, random.Random(5))
    mirror = QueryMirror(store, days=2, refresh_seconds=0, clock=lambda: NOW)
    mirror.refresh()
    def rows(source: SqlStore | QueryMirror, window: Window, env: str | None) -> list[tuple[object, ...]]:
        return [(b.service, b.bucket, b.seconds, b.calls, b.failed)
                for b in source.failing(window, env, hourly, 3, 0.05)]

    windows = [Window(NOW - 6 * 3600, NOW), Window(NOW - 3 * DAY, NOW), Window(NOW - 4 * DAY, NOW - 2.5 * DAY)]
    for window in windows:
        for env in (None, "prod", "nowhere"):
            expected = rows(store, window, env)
            assert rows(mirror, window, env) == expected
    assert any(b[0] == "db" for b in rows(store, windows[1], None))  # the case holds failing rows
    assert len(rows(store, windows[1], None)) > 5


def _burst(store: SqlStore, rng: random.Random, since: float, until: float) -> None:
    """Late calls, half of them failed, into api and db (and rule 11's into db)."""
    agg = Aggregator(store.bucket_seconds)
    for _ in range(300):
        ts = rng.uniform(since, until)
        agg.call(Call(int(ts * 1e9), "web", NodeKind.SERVICE, rng.choice(["api", "db"]), NodeKind.SERVICE, "rpc", "",
                      rng.random() < 0.5, 0.01, 0.005, bytes(16)))
        span = Span(bytes(16), bytes(8), b"", Resource("db", "", {}), SpanKind.SERVER, int(ts * 1e9),
                    int(ts * 1e9) + 1000, error=True)
        agg.signal(span, "unmatched_in")
    store.write(agg.drain())


@pytest.mark.parametrize("hourly", [False, True])
def test_the_part_before_the_mirror_is_read_once_and_late_writes_and_compaction_are_seen(
        store: SqlStore, hourly: bool, monkeypatch: pytest.MonkeyPatch) -> None:
    rng = random.Random(9)
    _fill(store, rng)
    clock = [NOW]
    mirror = QueryMirror(store, days=2, refresh_seconds=0, clock=lambda: clock[0])
    mirror.refresh()
    reads: list[tuple[object, ...]] = []
    for name in ("failing", "series_rows"):
        real = getattr(store, name, None)
        monkeypatch.setattr(store, name, lambda *a, _real=real, _name=name, **kw: reads.append((_name, *a)) or _real(
            *a, **kw))

    def same(end: float, env: str | None = None) -> None:
        window = Window(end - 4 * DAY, end)
        expected = store.failing(window, env, hourly, 3, 0.05)
        assert mirror.failing(window, env, hourly, 3, 0.05) == expected
        assert expected

    for end in (NOW, NOW - 300, NOW - 600):  # the older part in one hour: its hourly rows summed once
        window = Window(end - 4 * DAY, end)
        mirror.failing(window, None, hourly, 3, 0.05)
    assert not [r for r in reads if r[0] == "failing"]  # nothing summed by the SQL store's own failing
    assert sum(1 for r in reads if r[0] == "series_rows" and list(r[2][:4]) == [0, 0, 0, 0]) == 1
    for end in (NOW, NOW - 300):
        same(end)
    _burst(store, rng, NOW - 3.5 * DAY, NOW - 2.5 * DAY)  # late 5-minute rows before the horizon
    same(NOW)
    same(NOW, "prod")
    store.compact(NOW, retention_days=90)  # now hourly rows, behind what was kept
    same(NOW - 300)
    clock[0] = NOW + DAY  # the mirror lets go of a day
    _burst(store, rng, NOW, NOW + DAY)
    same(NOW + DAY)


@pytest.mark.parametrize(("min_failed", "error_ratio"), [(0, 0.0), (0, 0.05), (1, 0.0), (3, 0.5), (12, 0.05),
                                                         (10**6, 0.0)])
def test_every_threshold_from_memory_equals_sql(store: SqlStore, min_failed: int, error_ratio: float) -> None:
    """Slots summed from the rows with failed calls first (`min_failed` > 0) or from every row: the
    same slots as SQL, at both resolutions, none when no slot reaches the limits."""
    _fill(store, random.Random(9))
    mirror = QueryMirror(store, days=2, refresh_seconds=0, clock=lambda: NOW)
    mirror.refresh()
    found = 0
    for hourly in (False, True):
        for window in (Window(NOW - 6 * 3600, NOW), Window(NOW - 36 * 3600, NOW)):
            expected = store.failing(window, None, hourly, min_failed, error_ratio)
            assert mirror.failing(window, None, hourly, min_failed, error_ratio) == expected
            found += len(expected)
    assert (found > 0) == (min_failed < 10**6)
