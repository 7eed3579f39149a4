"""Calls from callers that never report (DESIGN §2 rule 11) in the store: counted per service and
bucket (migration 7), rolled up and retained by compaction, added into `Store.inbound`, read into
the window's graph and the Prometheus totals."""

from __future__ import annotations

from graph.aggregate import Aggregator
from graph.model import Call, NodeKind, Resource, Span, SpanKind, Window
from graph.service_graph import ServiceGraph
from graph.store.mirror import QueryMirror
from graph.store.sql_store import SqlStore
from graph.totals import EdgeTotals

DAY = 86_400
NOW = 1_789_999_200.0  # hour-aligned


def _unmatched(agg: Aggregator, ts: float, service: str, error: bool = False, env: str = "") -> None:
    start = int(ts * 1e9)
    agg.signal(Span(bytes(16), bytes(8), bytes(8), Resource(service, env), SpanKind.SERVER, start,
                    start + 3_000_000, error), "unmatched_in")


def _fill(store: SqlStore) -> Aggregator:
    agg = Aggregator(store.bucket_seconds)
    _unmatched(agg, NOW - 1000, "api")
    _unmatched(agg, NOW - 990, "api", error=True, env="prod")
    _unmatched(agg, NOW - 3 * DAY + 100, "api", error=True)
    _unmatched(agg, NOW - 3 * DAY + 2000, "api")
    agg.call(Call(int((NOW - 995) * 1e9), "web", NodeKind.SERVICE, "api", NodeKind.SERVICE, "rpc", "", False,
                  0.004, 0.003, bytes(16)))
    return agg


def test_unmatched_in_per_service_and_environment(store: SqlStore) -> None:
    store.write(_fill(store).drain())
    assert store.unmatched_in(Window(NOW - 4 * DAY, NOW)) == {"api": (4, 2)}
    assert store.unmatched_in(Window(NOW - 4 * DAY, NOW), "prod") == {"api": (1, 1)}
    assert store.unmatched_in(Window(NOW - DAY, NOW)) == {"api": (2, 1)}
    assert QueryMirror(store).unmatched_in(Window(NOW - DAY, NOW)) == {"api": (2, 1)}


def test_inbound_adds_the_unmatched_calls_into_the_buckets(store: SqlStore) -> None:
    store.write(_fill(store).drain())
    series = [(b.service, b.bucket, b.seconds, b.calls, b.failed, sum(b.server_hist))
              for b in store.inbound(Window(NOW - 4 * DAY, NOW))]
    fine = int((NOW - 1000) // 300 * 300)
    old = [(s, b, sec, c, f, h) for s, b, sec, c, f, h in series if b < NOW - DAY]
    assert (("api", fine, 300, 3, 1, 3)) in series  # web → api plus two unmatched, one failed
    assert sum(c for *_, c, _, _ in old) == 2


def test_compaction_rolls_up_and_retains_unmatched_calls(store: SqlStore) -> None:
    store.write(_fill(store).drain())
    store.compact(NOW, retention_days=90)
    assert store.unmatched_in(Window(NOW - 4 * DAY, NOW)) == {"api": (4, 2)}
    hourly = [b for b in store.inbound(Window(NOW - 4 * DAY, NOW - DAY)) if b.service == "api"]
    assert [(b.seconds, b.calls, b.failed) for b in hourly] == [(3600, 2, 1)]
    store.compact(NOW, retention_days=2)
    assert store.unmatched_in(Window(NOW - 4 * DAY, NOW)) == {"api": (2, 1)}


def test_graph_and_prometheus_totals_carry_them(store: SqlStore) -> None:
    batch = _fill(store).drain()
    store.write(batch)
    totals = EdgeTotals()
    totals.add(batch)
    assert totals.unmatched_in() == {"api": (4, 2)}
    graph = ServiceGraph.from_store(store, Window(NOW - DAY, NOW))
    assert graph.unmatched_in == {"api": (2, 1)}


def test_a_failed_write_keeps_them_for_the_next_flush() -> None:
    agg = Aggregator()
    _unmatched(agg, NOW, "api", error=True)
    batch = agg.drain()
    _unmatched(agg, NOW, "api")
    agg.restore(batch)
    kept = agg.drain().unmatched
    assert [(key[1], a.calls, a.failed) for key, a in kept.items()] == [("api", 2, 1)]


def test_instrumentation_signals_per_service_in_the_store_graph_and_totals(store: SqlStore) -> None:
    agg = _fill(store)
    client = Span(bytes(16), bytes(8), b"", Resource("web"), SpanKind.CLIENT, int((NOW - 500) * 1e9),
                  int((NOW - 500) * 1e9) + 1)
    agg.signal(client, "unpaired")
    agg.signal(client, "resolved")
    batch = agg.drain()
    store.write(batch)
    window = Window(NOW - DAY, NOW)
    assert store.signals(window) == {
        "api": {"calls": 2, "failed": 1, "unpaired": 0, "unmatched": 2, "resolved": 0},
        "web": {"calls": 0, "failed": 0, "unpaired": 1, "unmatched": 0, "resolved": 1},
    }
    graph = ServiceGraph.from_store(store, window)
    assert graph.unmatched_in == {"api": (2, 1)}  # web: no calls, so no entry
    assert graph.signals["web"]["resolved"] == 1
    assert [b.service for b in store.inbound(window)] == ["api"]  # signal-only rows are no inbound calls
    totals = EdgeTotals()
    totals.add(batch)
    assert totals.signals()["web"] == {"unpaired": 1, "unmatched": 0, "resolved": 1}
