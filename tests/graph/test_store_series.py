"""`Store.inbound`: calls into each service per bucket, on SQLite and PostgreSQL, across a compaction."""

from __future__ import annotations

import random

from graph.aggregate import Aggregator
from graph.model import LATENCY_BUCKETS, Call, NodeKind, Window
from graph.store.mirror import QueryMirror
from graph.store.series import InboundBucket
from graph.store.sql_store import SqlStore

DAY = 86_400
NOW = 1_789_999_200.0  # hour-aligned


def _call(agg: Aggregator, ts: float, client: str, server: str, failed: bool = False, env: str = "",
          server_seconds: float | None = 0.003, ctype: str = "rpc") -> None:
    agg.call(Call(int(ts * 1e9), client, NodeKind.SERVICE, server, NodeKind.SERVICE, ctype, env, failed,
                  0.004, server_seconds, bytes(16)))


def _fill(store: SqlStore) -> None:
    agg = Aggregator(store.bucket_seconds)
    # Two callers of api in one 5-minute bucket, one failed; one in the next bucket (another env).
    _call(agg, NOW - 1000, "web", "api")
    _call(agg, NOW - 990, "batch", "api", failed=True, server_seconds=0.5, ctype="entry")
    _call(agg, NOW - 600, "web", "api", env="prod")
    _call(agg, NOW - 590, "api", "api")  # a self-call: never inbound
    _call(agg, NOW - 580, "api", "db", server_seconds=None)
    # Three days ago, twice in one hour: rolled up into one hourly bucket by compaction.
    _call(agg, NOW - 3 * DAY + 100, "web", "api", failed=True)
    _call(agg, NOW - 3 * DAY + 2000, "web", "api")
    store.write(agg.drain())


def _series(store: SqlStore | QueryMirror, start: float, end: float, **kw: str) -> list[tuple[str, int, int, int, int]]:
    return [(b.service, b.bucket, b.seconds, b.calls, b.failed) for b in store.inbound(Window(start, end), **kw)]


def test_inbound_keeps_buckets_apart_and_leaves_self_calls_out(store: SqlStore) -> None:
    _fill(store)
    fine = 300
    b1 = int((NOW - 1000) // fine * fine)
    b2 = int((NOW - 600) // fine * fine)
    assert _series(store, NOW - 3600, NOW) == [("api", b1, 300, 2, 1), ("api", b2, 300, 1, 0), ("db", b2, 300, 1, 0)]
    assert _series(store, NOW - 3600, NOW, env="prod") == [("api", b2, 300, 1, 0)]
    assert _series(store, NOW - 3600, NOW, service="db") == [("db", b2, 300, 1, 0)]
    first = store.inbound(Window(NOW - 3600, NOW))[0]
    assert first.end == b1 + 300
    assert len(first.server_hist) == len(LATENCY_BUCKETS) + 1
    assert sum(first.server_hist) == 2
    assert first.server_hist[LATENCY_BUCKETS.index(0.4) + 1] == 1  # 0.5 s falls in (0.4, 0.8]


def test_inbound_reads_hourly_rollups_beyond_the_last_day(store: SqlStore) -> None:
    _fill(store)
    hour = int((NOW - 3 * DAY) // 3600 * 3600)
    fine_before = _series(store, NOW - 4 * DAY, NOW - 2 * DAY)
    assert [(s, c, f) for s, _, _, c, f in fine_before] == [("api", 1, 1), ("api", 1, 0)]
    store.compact(NOW, retention_days=90)
    assert _series(store, NOW - 4 * DAY, NOW - 2 * DAY) == [("api", hour, 3600, 2, 1)]
    whole = [(s, c) for s, _, _, c, _ in _series(store, NOW - 4 * DAY, NOW)]
    assert whole == [("api", 2), ("api", 2), ("api", 1), ("db", 1)]


def _since(records: list[InboundBucket], since: float) -> dict[str, tuple[int, int, tuple[int, ...]]]:
    """Per service: calls, failed and histogram of the records that end after `since`."""
    out: dict[str, tuple[int, int, tuple[int, ...]]] = {}
    for b in records:
        if b.bucket + b.seconds > since:
            c, f, h = out.get(b.service, (0, 0, (0,) * len(b.server_hist)))
            out[b.service] = (c + b.calls, f + b.failed, tuple(x + y for x, y in zip(h, b.server_hist, strict=True)))
    return out


def test_spans_between_cuts_sum_exactly_what_their_buckets_sum(store: SqlStore) -> None:
    rng = random.Random(7)
    agg = Aggregator(store.bucket_seconds)
    for _ in range(400):
        ts = NOW - rng.uniform(0, 3 * DAY)
        _call(agg, ts, rng.choice(["web", "batch"]), rng.choice(["api", "db"]), failed=rng.random() < 0.2,
              server_seconds=rng.choice([0.001, 0.03, 0.5, 20.0]))
    store.write(agg.drain())
    store.compact(NOW, retention_days=90)
    window = Window(NOW - 2 * DAY - 1234, NOW - 17)
    burn_starts = [window.end - 21600, window.end - 3600, window.end - 1800, window.end - 300]
    buckets = store.inbound(window)
    spans = store.inbound(window, cuts=[*burn_starts, NOW - 5 * DAY])  # the last cut is outside: ignored
    assert len(spans) <= 2 * 5 < len(buckets)
    for since in (window.start, *burn_starts):
        assert _since(spans, since) == _since(buckets, since)
    assert spans[-1].end == -(-int(window.end) // 300) * 300  # the last span ends with the window's bucket
    whole = store.inbound(window, cuts=[])
    assert sorted(b.service for b in whole) == ["api", "db"]
    assert _since(whole, window.start) == _since(buckets, window.start)


def test_failing_keeps_only_buckets_at_or_over_both_limits_and_sums_hours(store: SqlStore) -> None:
    agg = Aggregator(store.bucket_seconds)
    hour = NOW - 5 * 3600  # hour-aligned
    for i in range(200):  # api: 10 of 200 failed (0.05, both limits exactly) in its first 5-minute bucket
        _call(agg, hour + 10 + i * 0.1, "web", "api", failed=i < 10)
    for i in range(100):  # db: 9 of 100 failed, below 10 in its bucket
        _call(agg, hour + 20 + i * 0.1, "api", "db", failed=i < 9)
    for i in range(100):  # db again 20 minutes later: 9 of 100, so the hour holds 18 of 200
        _call(agg, hour + 1220 + i * 0.1, "api", "db", failed=i < 9)
    for i in range(400):  # cache: 19 of 400 failed (0.0475 < 0.05)
        _call(agg, hour + 30 + i * 0.1, "api", "cache", failed=i < 19)
    _call(agg, hour + 40, "api", "api", failed=True)  # self-calls never count
    store.write(agg.drain())
    window = Window(hour - 3600, hour + 3600)
    fine = [(b.service, b.bucket, b.seconds, b.calls, b.failed) for b in store.failing(window, None, False, 10, 0.05)]
    assert fine == [("api", int(hour), 300, 200, 10)]
    hourly = [(b.service, b.bucket, b.seconds, b.calls, b.failed) for b in store.failing(window, None, True, 10, 0.05)]
    assert hourly == [("api", int(hour), 3600, 200, 10), ("db", int(hour), 3600, 200, 18)]
    assert store.failing(window, "prod", True, 10, 0.05) == []
    assert store.failing(window, None, False, 11, 0.05) == []
