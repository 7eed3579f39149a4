"""`Store.inbound`: calls into each service per bucket, on SQLite and PostgreSQL, across a compaction."""

from __future__ import annotations

from graph.aggregate import Aggregator
from graph.model import LATENCY_BUCKETS, Call, NodeKind, Window
from graph.store.mirror import QueryMirror
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
