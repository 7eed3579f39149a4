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
