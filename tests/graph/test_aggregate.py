"""graph.aggregate: time buckets, histograms, exemplars, cardinality caps, drain/restore."""

from __future__ import annotations

import logging

import pytest

from graph.aggregate import AggregateBatch, Aggregator, EdgeAggregate
from graph.model import HISTOGRAM_SIZE, LATENCY_BUCKETS, MAX_EXEMPLARS, Call, ConnectionType, NodeKind
from graph.store.sql_store import SqlStore
from tests.graph.store_builders import NS, T0, call, sighting, trace_id


def _only_edge(batch: AggregateBatch) -> EdgeAggregate:
    assert len(batch.edges) == 1, batch.edges
    return next(iter(batch.edges.values()))


# ------------------------------------------------------------------ the Call record


def test_a_call_record_is_counted_field_by_field() -> None:
    agg = Aggregator(bucket_seconds=300)
    agg.call(Call(
        ts_ns=(T0 + 10) * NS, client="pub", client_kind=NodeKind.SERVICE, server="jobs",
        server_kind=NodeKind.MESSAGING, connection_type=ConnectionType.MESSAGING, environment="prod",
        failed=True, client_seconds=0.003, server_seconds=None, trace_id=trace_id("t"), queue_seconds=0.5,
    ))
    batch = agg.drain()
    (key,) = batch.edges
    assert key == (T0, "pub", "jobs", "messaging", "prod")
    edge = batch.edges[key]
    assert (edge.calls, edge.failed, edge.client_kind, edge.server_kind) == (1, 1, "service", "messaging")
    assert edge.client_hist[LATENCY_BUCKETS.index(0.004)] == 1 and edge.client_sum == pytest.approx(0.003)
    assert sum(edge.server_hist) == 0 and edge.server_sum == 0.0  # no server side reported
    assert (edge.queue_sum, edge.queue_count) == (pytest.approx(0.5), 1)
    assert edge.first_ns == edge.last_ns == (T0 + 10) * NS
    assert edge.exemplars == [trace_id("t").hex()]


def test_a_call_record_without_queue_delay_counts_none() -> None:
    agg = Aggregator()
    agg.call(Call((T0 + 1) * NS, "a", NodeKind.SERVICE, "b", NodeKind.SERVICE, ConnectionType.RPC, "", False,
                  0.01, 0.02, trace_id("t")))
    edge = _only_edge(agg.drain())
    assert (edge.queue_sum, edge.queue_count) == (0.0, 0)


def test_stores_write_kinds_and_connection_types_as_their_values(store: SqlStore) -> None:
    """Each engine must store `rpc`, never the member's name `RPC` (psycopg dumps an Enum by its
    name), so answers read back unchanged: the batch hands the drivers the plain values."""
    agg = Aggregator()
    pairs = [(NodeKind.USER, ConnectionType.ENTRY), (NodeKind.SERVICE, ConnectionType.RPC),
             (NodeKind.DATABASE, ConnectionType.DATABASE), (NodeKind.EXTERNAL, ConnectionType.VIRTUAL),
             (NodeKind.MESSAGING, ConnectionType.MESSAGING), (NodeKind.SERVICE, ConnectionType.INFERRED)]
    for i, (kind, ctype) in enumerate(pairs):
        agg.call(Call((T0 + i) * NS, f"c{i}", kind, f"s{i}", kind, ctype, "", False, 0.01, 0.01, trace_id("t")))
    batch = agg.drain()
    assert {type(value) for key, e in batch.edges.items() for value in (key[3], e.client_kind, e.server_kind)} == {str}
    store.write(batch)
    rows = store._select("SELECT connection_type, client_kind, server_kind FROM edge_buckets", [])
    assert sorted(tuple(row) for row in rows) == sorted((ctype.value, kind.value, kind.value) for kind, ctype in pairs)
    assert all(type(value) is str for row in rows for value in row)


# ------------------------------------------------------------------ buckets


@pytest.mark.parametrize(
    ("offset", "bucket"),
    [(0, T0), (1, T0), (299.999, T0), (300, T0 + 300), (301, T0 + 300), (-0.001, T0 - 300), (-300, T0 - 300)],
)
def test_call_bucket_is_floor_of_timestamp(offset: float, bucket: int) -> None:
    agg = Aggregator(bucket_seconds=300)
    call(agg, "a", "b", T0 + offset)
    (key,) = agg.drain().edges
    assert key == (bucket, "a", "b", "rpc", "")


def test_bucket_seconds_is_configurable() -> None:
    agg = Aggregator(bucket_seconds=60)
    call(agg, "a", "b", T0 + 61)
    sighting(agg, "a", T0 + 119)
    batch = agg.drain()
    assert [k[0] for k in batch.edges] == [T0 + 60]
    assert [k[0] for k in batch.services] == [T0 + 60]


def test_edges_are_keyed_by_bucket_type_and_environment() -> None:
    agg = Aggregator()
    call(agg, "a", "b", T0)
    call(agg, "a", "b", T0 + 10)
    call(agg, "a", "b", T0 + 400)
    call(agg, "a", "b", T0, ctype="messaging")
    call(agg, "a", "b", T0, env="prod")
    batch = agg.drain()
    assert batch.edges[(T0, "a", "b", "rpc", "")].calls == 2
    assert batch.edges[(T0 + 300, "a", "b", "rpc", "")].calls == 1
    assert batch.edges[(T0, "a", "b", "messaging", "")].calls == 1
    assert batch.edges[(T0, "a", "b", "rpc", "prod")].calls == 1
    assert len(batch.edges) == 4


def test_call_counters_and_first_last_seen() -> None:
    agg = Aggregator()
    call(agg, "a", "b", T0 + 50)
    call(agg, "a", "b", T0 + 10, failed=True)
    call(agg, "a", "b", T0 + 90, queue_s=0.5)
    call(agg, "a", "b", T0 + 20, queue_s=1.5)
    edge = _only_edge(agg.drain())
    assert (edge.calls, edge.failed) == (4, 1)
    assert edge.first_ns == (T0 + 10) * NS
    assert edge.last_ns == (T0 + 90) * NS
    assert edge.queue_count == 2
    assert edge.queue_sum == pytest.approx(2.0)
    assert edge.client_kind == "service"
    assert edge.server_kind == "service"


def test_sightings_count_spans_errors_and_keep_hints() -> None:
    agg = Aggregator()
    sighting(agg, "svc", T0 + 5, env="prod", count=3, hints={"service.version": "1"})
    sighting(agg, "svc", T0 + 1, env="prod", error=True)
    sighting(agg, "svc", T0 + 9, env="prod")
    batch = agg.drain()
    svc = batch.services[(T0, "svc", "prod")]
    assert (svc.spans, svc.errors) == (5, 1)
    assert svc.first_ns == (T0 + 1) * NS
    assert svc.last_ns == (T0 + 9) * NS
    assert batch.hints == {"svc": {"service.version": "1"}}


def test_empty_batch_is_falsy_and_drain_starts_afresh() -> None:
    agg = Aggregator()
    assert not agg.drain()
    call(agg, "a", "b", T0)
    assert agg.drain()
    assert not agg.drain()


# ------------------------------------------------------------------ histograms


@pytest.mark.parametrize("index", range(len(LATENCY_BUCKETS)))
def test_value_equal_to_a_bound_goes_to_that_bucket(index: int) -> None:
    agg = Aggregator()
    bound = LATENCY_BUCKETS[index]
    call(agg, "a", "b", T0, client_s=bound, server_s=bound)
    edge = _only_edge(agg.drain())
    expected = [0] * HISTOGRAM_SIZE
    expected[index] = 1
    assert edge.client_hist == expected
    assert edge.server_hist == expected


@pytest.mark.parametrize(
    ("seconds", "index"),
    [(0.0, 0), (0.0019, 0), (0.00200001, 1), (0.011, 5), (1.0000001, 12), (15.0, 16), (15.0001, 17),
     (3600.0, 17)],
)
def test_histogram_bucket_placement(seconds: float, index: int) -> None:
    agg = Aggregator()
    call(agg, "a", "b", T0, server_s=seconds, client_s=None)
    edge = _only_edge(agg.drain())
    assert edge.server_hist.index(1) == index
    assert sum(edge.server_hist) == 1
    assert sum(edge.client_hist) == 0
    assert edge.server_sum == pytest.approx(seconds)


def test_missing_latencies_are_not_counted() -> None:
    agg = Aggregator()
    call(agg, "a", "b", T0, client_s=None, server_s=None)
    edge = _only_edge(agg.drain())
    assert edge.calls == 1
    assert sum(edge.client_hist) == sum(edge.server_hist) == 0
    assert edge.client_sum == edge.server_sum == 0.0


# ------------------------------------------------------------------ exemplars


def test_exemplars_are_unique_and_at_most_five() -> None:
    agg = Aggregator()
    for i in range(20):
        call(agg, "a", "b", T0, trace=f"t{i % 8}")
        call(agg, "a", "b", T0, trace="t0")
    edge = _only_edge(agg.drain())
    assert len(edge.exemplars) == MAX_EXEMPLARS
    assert len(set(edge.exemplars)) == MAX_EXEMPLARS
    assert edge.exemplars == [trace_id(f"t{i}").hex() for i in range(5)]
    assert all(len(e) == 32 for e in edge.exemplars)


def test_repeated_trace_gives_one_exemplar() -> None:
    agg = Aggregator()
    call(agg, "a", "b", T0, trace="same", count=7)
    assert _only_edge(agg.drain()).exemplars == [trace_id("same").hex()]


# ------------------------------------------------------------------ caps


def test_max_services_cap_is_counted_and_known_services_still_count() -> None:
    agg = Aggregator(max_services=2)
    sighting(agg, "a", T0)
    sighting(agg, "b", T0)
    sighting(agg, "c", T0, count=3)
    sighting(agg, "a", T0 + 400)  # known: still counted, even in a new bucket
    batch = agg.drain()
    assert agg.stats.dropped_services == 3
    assert {k[1] for k in batch.services} == {"a", "b"}
    sighting(agg, "d", T0)  # the cap outlives a drain
    assert agg.stats.dropped_services == 4
    assert not agg.drain().services


def test_max_edges_cap_is_counted_and_known_edges_still_count() -> None:
    agg = Aggregator(max_edges=2)
    call(agg, "a", "b", T0)
    call(agg, "a", "c", T0)
    call(agg, "a", "d", T0, count=2)
    call(agg, "a", "b", T0 + 400, env="prod")  # same identity, new bucket and env: allowed
    batch = agg.drain()
    assert agg.stats.dropped_edges == 2
    assert {k[2] for k in batch.edges} == {"b", "c"}
    assert batch.edges[(T0 + 300, "a", "b", "rpc", "prod")].calls == 1
    call(agg, "a", "e", T0)
    assert agg.stats.dropped_edges == 3


def test_hitting_a_cap_logs_once_per_cap(caplog: pytest.LogCaptureFixture) -> None:
    agg = Aggregator(max_services=4, max_edges=1, max_environments=1)
    with caplog.at_level(logging.WARNING, logger="graph.aggregate"):
        for i in range(5):
            sighting(agg, "a", T0)
            sighting(agg, "b", T0)
            sighting(agg, f"new{i}", T0)  # new0 and new1 fit, the rest are dropped
            call(agg, "a", "b", T0)
            call(agg, "b", "a", T0)  # known nodes, but a second edge
            call(agg, "a", "b", T0, env=f"env{i}")  # the empty environment took the one place: `other`
    messages = [r.getMessage() for r in caplog.records]
    assert len([m for m in messages if "max_services=4" in m]) == 1
    assert len([m for m in messages if "max_edges=1" in m]) == 1
    assert len([m for m in messages if "max_environments=1" in m]) == 1
    assert agg.stats.dropped_services == 3
    assert agg.stats.dropped_edges == 5
    assert agg.stats.other_environments == 5
    assert {key[4] for key in agg.drain().edges} == {"", "other"}


# ------------------------------------------------------------------ drain / restore


def _totals(batch: AggregateBatch) -> dict[object, tuple[object, ...]]:
    out: dict[object, tuple[object, ...]] = {}
    for key, e in batch.edges.items():
        out[key] = (e.calls, e.failed, tuple(e.client_hist), tuple(e.server_hist), e.first_ns, e.last_ns)
    for skey, s in batch.services.items():
        out[skey] = (s.spans, s.errors, s.first_ns, s.last_ns)
    return out


def test_restore_merges_without_loss() -> None:
    reference = Aggregator()
    agg = Aggregator()
    for target in (reference, agg):
        call(target, "a", "b", T0 + 10, client_s=0.003, server_s=0.001, trace="x")
        call(target, "a", "c", T0 + 20, failed=True, trace="y")
        sighting(target, "a", T0 + 10, count=2)
    failed_batch = agg.drain()
    # more activity arrives while the store is down
    for target in (reference, agg):
        call(target, "a", "b", T0 + 5, client_s=2.0, server_s=1.0, trace="z")
        call(target, "a", "b", T0 + 400, trace="w")
        sighting(target, "a", T0 + 30, error=True)
        sighting(target, "b", T0 + 30, hints={"service.version": "2"})
    agg.restore(failed_batch)
    restored = agg.drain()
    expected = reference.drain()
    assert _totals(restored) == _totals(expected)
    ab = restored.edges[(T0, "a", "b", "rpc", "")]
    assert sorted(ab.exemplars) == sorted([trace_id("x").hex(), trace_id("z").hex()])
    assert set(restored.hints) == {"a", "b"}


def test_restore_into_empty_aggregator_keeps_everything() -> None:
    agg = Aggregator()
    call(agg, "a", "b", T0, count=3)
    sighting(agg, "a", T0, hints={"team": "x"})
    batch = agg.drain()
    before = _totals(batch)
    agg.restore(batch)
    again = agg.drain()
    assert _totals(again) == before
    assert again.hints == {"a": {"team": "x"}}


def test_restore_keeps_newer_hints() -> None:
    agg = Aggregator()
    sighting(agg, "a", T0, hints={"service.version": "old"})
    old = agg.drain()
    sighting(agg, "a", T0 + 1, hints={"service.version": "new"})
    agg.restore(old)
    assert agg.drain().hints == {"a": {"service.version": "new"}}


def test_restore_caps_exemplars_at_five() -> None:
    agg = Aggregator()
    for i in range(5):
        call(agg, "a", "b", T0, trace=f"old{i}")
    old = agg.drain()
    for i in range(5):
        call(agg, "a", "b", T0, trace=f"new{i}")
    agg.restore(old)
    edge = _only_edge(agg.drain())
    assert len(edge.exemplars) == MAX_EXEMPLARS
    assert edge.calls == 10


def test_restore_keeps_exemplars_unique() -> None:
    agg = Aggregator()
    call(agg, "a", "b", T0, trace="same")
    old = agg.drain()
    call(agg, "a", "b", T0, trace="same")
    agg.restore(old)
    edge = _only_edge(agg.drain())
    assert edge.exemplars == [trace_id("same").hex()]
