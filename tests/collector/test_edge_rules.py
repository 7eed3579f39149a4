"""DESIGN §2 edge rules, table-driven over REFERENCE.md part A, on OTLP/JSON input.

Every case is built as OTLP/JSON export requests, decoded with collector.decode, and run
through CallDetector + Aggregator. Expiry happens only when the fake clock moves.

Where REFERENCE's "expected calls" column is silent about a root SERVER/CONSUMER span
(cases 19, 20, 21, 23), rule 5 still applies: that span is an `entry` call from `user`,
so the tables below list it too.
"""

from __future__ import annotations

import itertools
import random
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import pytest

from collector.calls import CallDetector, DetectorStats
from graph.aggregate import AggregateBatch, Aggregator, EdgeAggregate
from graph.model import LATENCY_BUCKETS, ConnectionType, NodeKind, Window
from graph.service_graph import ServiceGraph
from graph.store.sqlite import SQLiteStore
from tests.collector.otlp_builders import FakeClock, SpanSpec, decode_specs, span

TTL = 5.0
RPC, MESSAGING, INFERRED = ConnectionType.RPC, ConnectionType.MESSAGING, ConnectionType.INFERRED
DATABASE, VIRTUAL, ENTRY = ConnectionType.DATABASE, ConnectionType.VIRTUAL, ConnectionType.ENTRY
SERVICE, USER, EXTERNAL = NodeKind.SERVICE, NodeKind.USER, NodeKind.EXTERNAL
DB_NODE, QUEUE_NODE = NodeKind.DATABASE, NodeKind.MESSAGING

# DESIGN §2 rule 3, written out here so a reordered constant in the code is caught.
DESIGN_DATABASE_NAME_ORDER = (
    "service.peer.name", "peer.service", "server.address", "network.peer.address",
    "db.namespace", "db.name", "db.system.name", "db.system",
)
# DESIGN §2 rule 4: these never name a node.
LOOPBACKS = ("127.0.0.1", "0.0.0.0", "::1", "localhost")

EdgeId = tuple[str, str, str]  # client, server, connection_type


# --------------------------------------------------------------------------- harness


@dataclass(frozen=True)
class Observed:
    """What the detector produced, summed over buckets and environments."""

    calls: dict[EdgeId, tuple[int, int]]  # → (calls, failed)
    kinds: dict[str, str]  # node → kind recorded by the aggregator ("a|b" if inconsistent)
    unpaired: int
    unmatched: int


class Harness:
    """A CallDetector feeding an Aggregator, on a FakeClock; each `send` is one export request."""

    def __init__(self, ttl: float = TTL, **options: Any) -> None:
        self.clock = FakeClock()
        self.aggregator = Aggregator()
        self.detector = CallDetector(self.aggregator, ttl=ttl, clock=self.clock, **options)
        self._drained: list[AggregateBatch] = []

    @property
    def stats(self) -> DetectorStats:
        return self.detector.stats

    def send(self, *specs: SpanSpec) -> None:
        """One request: decode its OTLP/JSON and add the spans in one `add()` call."""
        self.detector.add(decode_specs(specs))
        self.detector.expire()

    def wait(self, seconds: float) -> None:
        """Let time pass, expiring what is due."""
        self.clock.advance(seconds)
        self.detector.expire()

    def expire_ttl(self) -> None:
        """Move past every TTL; nothing may stay pending."""
        self.wait(self.detector.ttl + 1)
        assert self.detector.pending == 0

    def batches(self) -> list[AggregateBatch]:
        self._drained.append(self.aggregator.drain())
        return self._drained

    def edges(self, client: str, server: str, connection_type: str) -> list[EdgeAggregate]:
        """Aggregates of one edge (one per bucket and environment)."""
        return [
            agg for batch in self.batches() for key, agg in batch.edges.items()
            if key[1:4] == (client, server, connection_type)
        ]

    def edge(self, client: str, server: str, connection_type: str) -> EdgeAggregate:
        found = self.edges(client, server, connection_type)
        assert len(found) == 1, f"expected one aggregate of {client}→{server} {connection_type}, got {found}"
        return found[0]

    def observed(self) -> Observed:
        calls: dict[EdgeId, tuple[int, int]] = {}
        kinds: dict[str, set[str]] = {}
        for batch in self.batches():
            for (_, client, server, ctype, _), agg in batch.edges.items():
                n, failed = calls.get((client, server, ctype), (0, 0))
                calls[(client, server, ctype)] = (n + agg.calls, failed + agg.failed)
                kinds.setdefault(client, set()).add(agg.client_kind)
                kinds.setdefault(server, set()).add(agg.server_kind)
        return Observed(
            calls, {name: "|".join(sorted(k)) for name, k in kinds.items()},
            self.stats.unpaired, self.stats.unmatched,
        )


def run_requests(requests: Sequence[Sequence[SpanSpec]], gap_s: float = 0.0, **options: Any) -> Harness:
    """Send the requests `gap_s` apart, then let the TTL pass."""
    harness = Harness(**options)
    for i, request in enumerate(requests):
        if i:
            harness.wait(gap_s)
        harness.send(*request)
    harness.expire_ttl()
    return harness


# --------------------------------------------------------------------------- REFERENCE part A


@dataclass(frozen=True)
class EdgeCase:
    """One row of REFERENCE part A: the requests in arrival order and what they must give."""

    id: str
    requests: tuple[tuple[SpanSpec, ...], ...]
    calls: Mapping[EdgeId, tuple[int, int]]
    virtual: Mapping[str, str] = field(default_factory=dict)  # non-service node kinds
    unpaired: int = 0
    unmatched: int = 0
    gap_s: float = 0.0  # clock advance between requests

    @property
    def spans(self) -> tuple[SpanSpec, ...]:
        return tuple(s for request in self.requests for s in request)

    def expected(self) -> Observed:
        kinds = {name: self.virtual.get(name, SERVICE) for edge in self.calls for name in edge[:2]}
        return Observed(dict(self.calls), kinds, self.unpaired, self.unmatched)


def case(case_id: str, *spans: SpanSpec, **expected: Any) -> EdgeCase:
    """A case whose spans all arrive in one request."""
    return EdgeCase(case_id, (spans,), **expected)


DB_11 = {"db.system": "postgresql", "db.name": "postgres", "net.peer.name": "pg-host"}
ORDERS_TOPIC = {"messaging.destination.name": "orders"}

CASES = [
    case("case-01", span("req:CLIENT a"), span("srv:SERVER b←a"), calls={("req", "srv", RPC): (1, 0)}),
    case(
        "case-02", span("req:CLIENT a", error=True), span("srv:SERVER b←a", error=True),
        calls={("req", "srv", RPC): (1, 1)},
    ),
    case(
        "case-03", span("req:CLIENT a"), span("srv:SERVER b←a"), span("srv:SERVER c←a", error=True),
        calls={("req", "srv", RPC): (2, 1)},
    ),
    EdgeCase(
        "case-04", ((span("srv:SERVER b←a"),), (span("req:CLIENT a"),)), gap_s=TTL - 1,
        calls={("req", "srv", RPC): (1, 0)},
    ),
    case("case-05", span("srv:SERVER b←a"), calls={}, unmatched=1),
    case("case-06", span("web:SERVER r"), calls={("user", "web", ENTRY): (1, 0)}, virtual={"user": USER}),
    case(
        "case-07", span("cons:CONSUMER r", {"peer.service": "ext-producer"}),
        calls={("ext-producer", "cons", ENTRY): (1, 0)}, virtual={"ext-producer": EXTERNAL},
    ),
    case(
        "case-08", span("req:CLIENT a", {"peer.service": "payments-platform"}),
        calls={("req", "payments-platform", VIRTUAL): (1, 0)}, virtual={"payments-platform": EXTERNAL},
    ),
    case("case-09", span("req:CLIENT a"), calls={}, unpaired=1),
    case("case-10", span("req:CLIENT a", {"server.address": "127.0.0.1"}), calls={}, unpaired=1),
    case(
        "case-11", span("srv:CLIENT c", DB_11),
        calls={("srv", "postgres", DATABASE): (1, 0)}, virtual={"postgres": DB_NODE},
    ),
    case(
        "case-12", span("srv:CLIENT c", {**DB_11, "server.address": "orders-db"}),
        calls={("srv", "orders-db", DATABASE): (1, 0)}, virtual={"orders-db": DB_NODE},
    ),
    case(
        "case-13", span("srv:CLIENT c", {**DB_11, "peer.service": "orders"}),
        calls={("srv", "orders", DATABASE): (1, 0)}, virtual={"orders": DB_NODE},
    ),
    case(
        "case-14", span("srv:CLIENT c", {"db.namespace": "mydb", "db.name": "postgres"}),
        calls={("srv", "mydb", DATABASE): (1, 0)}, virtual={"mydb": DB_NODE},
    ),
    case(
        "case-15", span("srv:CLIENT c", {"db.system": "mssql", "db.system.name": "microsoft.sql_server"}),
        calls={("srv", "microsoft.sql_server", DATABASE): (1, 0)}, virtual={"microsoft.sql_server": DB_NODE},
    ),
    case(
        "case-16",
        span("srv:CLIENT c", {"network.peer.address": "10.0.0.5", "network.peer.port": 5432,
                              "db.system": "postgresql"}),
        calls={("srv", "10.0.0.5", DATABASE): (1, 0)}, virtual={"10.0.0.5": DB_NODE},
    ),
    case(
        "case-17", span("req:PRODUCER p", ORDERS_TOPIC), span("rec:CONSUMER c←p"),
        calls={("req", "rec", MESSAGING): (1, 0)},
    ),
    case(
        "case-18", span("req:PRODUCER p", ORDERS_TOPIC),
        calls={("req", "orders", MESSAGING): (1, 0)}, virtual={"orders": QUEUE_NODE},
    ),
    case(
        "case-19",
        span("rec:CONSUMER c", links=[("t2", "p1"), ("t3", "p2")]),
        span("req:PRODUCER p1", trace="t2"),
        span("req:PRODUCER p2", trace="t3"),
        # rule 5: the consumer has no parent, so it is also an entry point
        calls={("req", "rec", MESSAGING): (2, 0), ("user", "rec", ENTRY): (1, 0)}, virtual={"user": USER},
    ),
    case(
        "case-20", span("a:SERVER s"), span("a:INTERNAL i←s"), span("b:SERVER x←i"),
        calls={("a", "b", INFERRED): (1, 0), ("user", "a", ENTRY): (1, 0)}, virtual={"user": USER},
    ),
    case(
        "case-21", span("a:SERVER s"), span("b:CLIENT c←s", {"db.system.name": "redis"}),
        calls={("a", "b", INFERRED): (1, 0), ("b", "redis", DATABASE): (1, 0), ("user", "a", ENTRY): (1, 0)},
        virtual={"user": USER, "redis": DB_NODE},
    ),
    case(
        "case-22", span("nginx n"), span("compose c←n"), span("text t1←c"), span("text t2←c"),
        span("text t3←t1"),  # same service, no kinds: not a call
        calls={("nginx", "compose", INFERRED): (1, 0), ("compose", "text", INFERRED): (2, 0)},
    ),
    case(
        "case-23", span("a:SERVER s"), span("a:SERVER t←s"),
        calls={("user", "a", ENTRY): (1, 0)}, virtual={"user": USER},  # no a→a
    ),
    case("case-24", span("a:CLIENT c"), span("a:SERVER s←c"), calls={("a", "a", RPC): (1, 0)}),
    EdgeCase(
        "case-25", ((span("req:CLIENT a", {"peer.service": "srv"}),), (span("srv:SERVER b←a"),)), gap_s=TTL - 1,
        calls={("req", "srv", RPC): (1, 0)},
    ),
]


def test_table_covers_reference_cases_1_to_25() -> None:
    assert [c.id for c in CASES] == [f"case-{n:02d}" for n in range(1, 26)]


@pytest.mark.parametrize("edge_case", CASES, ids=lambda c: c.id)
def test_reference_case(edge_case: EdgeCase) -> None:
    harness = run_requests(edge_case.requests, gap_s=edge_case.gap_s)
    assert harness.observed() == edge_case.expected()


def arrival_orders(spans: Sequence[SpanSpec], seed: str) -> list[tuple[SpanSpec, ...]]:
    """Every order of up to 5 spans; a seeded sample of shuffles beyond that."""
    if len(spans) <= 5:
        return list(itertools.permutations(spans))
    rng = random.Random(seed)
    orders = []
    for _ in range(60):
        order = list(spans)
        rng.shuffle(order)
        orders.append(tuple(order))
    return orders


def random_split(order: Sequence[SpanSpec], rng: random.Random) -> list[tuple[SpanSpec, ...]]:
    """Cut an arrival order into requests of random sizes."""
    cuts = sorted(rng.sample(range(1, len(order)), rng.randint(0, len(order) - 1))) if len(order) > 1 else []
    bounds = [0, *cuts, len(order)]
    return [tuple(order[a:b]) for a, b in itertools.pairwise(bounds)]


@pytest.mark.parametrize("edge_case", CASES, ids=lambda c: f"case-26-{c.id}")
def test_case_26_any_arrival_order_gives_the_same_result(edge_case: EdgeCase) -> None:
    expected = edge_case.expected()
    spans = edge_case.spans
    gap = TTL / (2 * len(spans))  # all requests arrive within one TTL, interleaved with expiry runs
    rng = random.Random(edge_case.id)
    for order in arrival_orders(spans, edge_case.id):
        for requests in ([(s,) for s in order], random_split(order, rng)):
            observed = run_requests(requests, gap_s=gap).observed()
            labels = [[s.label for s in request] for request in requests]
            assert observed == expected, f"arrival {labels}"


def test_case_04_halves_further_apart_than_the_ttl_do_not_pair() -> None:
    harness = run_requests([[span("srv:SERVER b←a")], [span("req:CLIENT a")]], gap_s=TTL + 1)
    assert harness.observed() == Observed({}, {}, unpaired=1, unmatched=1)


def test_case_24_self_call_is_stored_but_hidden_unless_include_self() -> None:
    harness = run_requests([[span("a:CLIENT c"), span("a:SERVER s←c"), span("b:SERVER x←c")]])
    store = SQLiteStore(":memory:")
    try:
        for batch in harness.batches():
            store.write(batch)
        window = Window(0, 4_000_000_000)
        hidden = ServiceGraph.from_store(store, window)
        shown = ServiceGraph.from_store(store, window, include_self=True)
    finally:
        store.close()
    assert [(e.source, e.target) for e in hidden.edges] == [("a", "b")]
    assert [(e.source, e.target, e.calls) for e in hidden.self_edges] == [("a", "a", 1)]
    assert sorted((e.source, e.target, e.connection_type) for e in shown.edges) == [
        ("a", "a", RPC), ("a", "b", RPC),
    ]


def test_rule_7_virtual_node_named_like_a_service_is_that_service() -> None:
    harness = run_requests([[span("req:CLIENT a", {"peer.service": "srv"}), span("srv:SERVER r", trace="t2")]])
    store = SQLiteStore(":memory:")
    try:
        for batch in harness.batches():
            store.write(batch)
        graph = ServiceGraph.from_store(store, Window(0, 4_000_000_000))
    finally:
        store.close()
    assert graph.nodes["srv"].kind == SERVICE
    assert ("req", "srv") in {(e.source, e.target) for e in graph.edges}


# --------------------------------------------------------------------------- databases


@pytest.mark.parametrize("position", range(len(DESIGN_DATABASE_NAME_ORDER)), ids=DESIGN_DATABASE_NAME_ORDER)
def test_database_name_is_the_first_present_key(position: int) -> None:
    keys = DESIGN_DATABASE_NAME_ORDER[position:]
    attrs = {key: f"from-{key}" for key in keys}
    harness = run_requests([[span("srv:CLIENT c", attrs)]])
    name = f"from-{DESIGN_DATABASE_NAME_ORDER[position]}"
    assert harness.observed() == Observed({("srv", name, DATABASE): (1, 0)}, {"srv": SERVICE, name: DB_NODE}, 0, 0)


@pytest.mark.parametrize("loopback", LOOPBACKS)
@pytest.mark.parametrize(
    "position", range(len(DESIGN_DATABASE_NAME_ORDER) - 1), ids=DESIGN_DATABASE_NAME_ORDER[:-1]
)
def test_database_name_skips_loopback_values(position: int, loopback: str) -> None:
    attrs = {DESIGN_DATABASE_NAME_ORDER[position]: loopback}
    attrs.update({key: f"from-{key}" for key in DESIGN_DATABASE_NAME_ORDER[position + 1:]})
    harness = run_requests([[span("srv:CLIENT c", attrs)]])
    name = f"from-{DESIGN_DATABASE_NAME_ORDER[position + 1]}"
    assert harness.observed().calls == {("srv", name, DATABASE): (1, 0)}


def test_database_call_fails_when_the_client_span_is_error() -> None:
    harness = run_requests([[span("srv:CLIENT c", {"db.system": "redis"}, error=True)]])
    assert harness.observed().calls == {("srv", "redis", DATABASE): (1, 1)}


def test_database_call_waits_for_the_ttl_by_default() -> None:
    harness = Harness()
    harness.send(span("srv:CLIENT c", {"db.system": "redis"}))
    harness.wait(TTL - 1)
    assert harness.observed().calls == {}
    harness.expire_ttl()
    assert harness.observed().calls == {("srv", "redis", DATABASE): (1, 0)}


def test_database_at_once_emits_on_arrival_and_only_once() -> None:
    harness = Harness(database_at_once=True)
    harness.send(span("srv:CLIENT c", {"db.system": "redis"}), span("srv:CLIENT d", {"peer.service": "ext"}))
    assert harness.observed().calls == {("srv", "redis", DATABASE): (1, 0)}  # the non-database one waits
    harness.expire_ttl()
    assert harness.observed().calls == {("srv", "redis", DATABASE): (1, 0), ("srv", "ext", VIRTUAL): (1, 0)}


# --------------------------------------------------------------------------- uninstrumented peers, entries


@pytest.mark.parametrize("loopback", LOOPBACKS)
@pytest.mark.parametrize("key", ["service.peer.name", "peer.service", "server.address"])
def test_loopback_never_names_a_virtual_peer(key: str, loopback: str) -> None:
    harness = run_requests([[span("req:CLIENT a", {key: loopback})]])
    assert harness.observed() == Observed({}, {}, unpaired=1, unmatched=0)


@pytest.mark.parametrize(
    ("attrs", "peer"),
    [
        ({"service.peer.name": "new", "peer.service": "old", "server.address": "host"}, "new"),
        ({"peer.service": "old", "server.address": "host"}, "old"),
        ({"server.address": "host"}, "host"),
        ({"server.address": "localhost", "network.peer.address": "10.1.1.1"}, None),  # not a client peer key
        ({"messaging.destination.name": "topic"}, None),  # only for producers
    ],
    ids=["service.peer.name", "peer.service", "server.address", "network.peer.address-ignored", "destination-ignored"],
)
def test_virtual_peer_name_order_for_clients(attrs: dict[str, str], peer: str | None) -> None:
    harness = run_requests([[span("req:CLIENT a", attrs)]])
    expected = {("req", peer, VIRTUAL): (1, 0)} if peer else {}
    assert harness.observed().calls == expected
    assert harness.stats.unpaired == (0 if peer else 1)


def test_producer_destination_names_the_node_before_its_broker() -> None:
    """DESIGN §2 rule 10 (the queues of one broker are different nodes); before it, the peer won."""
    harness = run_requests([[span("req:PRODUCER p", {"peer.service": "broker", **ORDERS_TOPIC}, error=True)]])
    observed = harness.observed()
    assert observed.calls == {("req", "orders", MESSAGING): (1, 1)}
    assert observed.kinds["orders"] == QUEUE_NODE


def test_consumer_entry_is_named_by_its_destination_without_a_peer() -> None:
    harness = run_requests([[span("cons:CONSUMER r", ORDERS_TOPIC), span("web:SERVER s", {"peer.service": "cdn"})]])
    observed = harness.observed()
    assert observed.calls == {("orders", "cons", ENTRY): (1, 0), ("cdn", "web", ENTRY): (1, 0)}
    assert observed.kinds == {"orders": QUEUE_NODE, "cons": SERVICE, "cdn": EXTERNAL, "web": SERVICE}


@pytest.mark.parametrize(
    ("orphan", "calls", "unmatched"),
    [
        (span("srv:SERVER b←gone"), {}, 1),
        (span("rec:CONSUMER c←gone"), {}, 1),
        (span("srv:CLIENT c←gone", {"peer.service": "ext"}), {("srv", "ext", VIRTUAL): (1, 0)}, 0),
        (span("srv:INTERNAL i←gone"), {}, 0),
        (span("srv s←gone"), {}, 0),
    ],
    ids=["server", "consumer", "client", "internal", "unspecified"],
)
def test_only_server_and_consumer_spans_without_their_parent_are_unmatched(
    orphan: SpanSpec, calls: dict[EdgeId, tuple[int, int]], unmatched: int
) -> None:
    harness = run_requests([[orphan]])
    assert harness.observed().calls == calls
    assert (harness.stats.unmatched, harness.stats.unpaired) == (unmatched, 0)


# --------------------------------------------------------------------------- span index bounds, duplicates


def test_max_pending_expires_the_oldest_early_and_counts_them() -> None:
    harness = Harness(max_pending=3)
    for i in range(5):
        harness.send(span(f"req:CLIENT a{i}", {"peer.service": f"peer-{i}"}, trace=f"t{i}"))
    assert harness.stats.expired_early == 2
    assert harness.detector.pending == 3
    assert harness.observed().calls == {("req", "peer-0", VIRTUAL): (1, 0), ("req", "peer-1", VIRTUAL): (1, 0)}
    harness.expire_ttl()
    assert harness.stats.expired_early == 2
    assert harness.observed().calls == {("req", f"peer-{i}", VIRTUAL): (1, 0) for i in range(5)}


def test_early_expiry_loses_the_pairing_of_a_late_half() -> None:
    harness = Harness(max_pending=2)
    harness.send(span("req:CLIENT a", {"peer.service": "srv"}))
    harness.send(span("x:CLIENT x1", trace="t2"), span("x:CLIENT x2", trace="t3"))
    assert harness.stats.expired_early == 1
    harness.send(span("srv:SERVER b←a"))
    harness.expire_ttl()
    assert harness.observed().calls == {("req", "srv", VIRTUAL): (1, 0)}
    assert (harness.stats.unmatched, harness.stats.unpaired) == (1, 2)


def test_one_batch_larger_than_max_pending_still_pairs_inside_itself() -> None:
    harness = Harness(max_pending=2)
    harness.send(span("req:CLIENT a"), span("srv:SERVER b←a"), span("srv:CLIENT c←b"), span("db:SERVER d←c"))
    harness.expire_ttl()
    assert harness.observed().calls == {("req", "srv", RPC): (1, 0), ("srv", "db", RPC): (1, 0)}
    assert harness.stats.expired_early > 0


@pytest.mark.parametrize("same_request", [False, True], ids=["resent-later", "twice-in-one-request"])
def test_duplicate_spans_are_counted_once(same_request: bool) -> None:
    pair = [span("req:CLIENT a"), span("srv:SERVER b←a", error=True)]
    harness = Harness()
    if same_request:
        harness.send(*pair, *pair)
    else:
        harness.send(*pair)
        harness.wait(1)
        harness.send(*pair)
    harness.expire_ttl()
    assert harness.observed().calls == {("req", "srv", RPC): (1, 1)}
    assert (harness.stats.spans, harness.stats.duplicates) == (2, 2)
    sightings = {key[1]: (s.spans, s.errors) for batch in harness.batches() for key, s in batch.services.items()}
    assert sightings == {"req": (1, 0), "srv": (1, 1)}


# --------------------------------------------------------------------------- messaging


@pytest.mark.parametrize(
    ("consumer_start_ms", "queue_seconds"),
    [(35.0, 0.025), (10.0, None), (4.0, None)],
    ids=["after-producer-end", "at-producer-end", "before-producer-end"],
)
@pytest.mark.parametrize("by", ["parent", "link"])
def test_messaging_queue_delay_is_consumer_start_minus_producer_end(
    by: str, consumer_start_ms: float, queue_seconds: float | None
) -> None:
    producer = span("req:PRODUCER p", ORDERS_TOPIC, start_ms=0, duration_ms=10)
    if by == "parent":
        consumer = span("rec:CONSUMER c←p", start_ms=consumer_start_ms)
    else:
        consumer = span("rec:CONSUMER c←x", start_ms=consumer_start_ms, trace="t2", links=[("t1", "p")])
    harness = run_requests([[producer], [consumer]])
    edge = harness.edge("req", "rec", MESSAGING)
    assert edge.calls == 1
    if queue_seconds is None:
        assert (edge.queue_count, edge.queue_sum) == (0, 0.0)
    else:
        assert edge.queue_count == 1
        assert edge.queue_sum == pytest.approx(queue_seconds)


@pytest.mark.parametrize(
    ("producer_error", "consumer_error", "failed"), [(True, False, 1), (False, True, 1), (False, False, 0)]
)
def test_messaging_call_fails_when_either_side_fails(producer_error: bool, consumer_error: bool, failed: int) -> None:
    producer = span("req:PRODUCER p", error=producer_error)
    harness = run_requests([[producer, span("rec:CONSUMER c←p", error=consumer_error)]])
    assert harness.observed().calls == {("req", "rec", MESSAGING): (1, failed)}


@pytest.mark.parametrize("parent_error", [True, False])
def test_inferred_call_fails_only_when_the_child_fails(parent_error: bool) -> None:
    harness = run_requests([[span("a:SERVER s", error=parent_error), span("b:SERVER x←s", error=True),
                             span("b:SERVER y←s")]])
    assert harness.observed().calls[("a", "b", INFERRED)] == (2, 1)


LINKED = {
    "c": span("rec:CONSUMER c", links=[("t2", "p1"), ("t3", "p2")], trace="t1"),
    "p1": span("req:PRODUCER p1", trace="t2"),
    "p2": span("req:PRODUCER p2", trace="t3"),
}


@pytest.mark.parametrize("order", list(itertools.permutations(LINKED)), ids="-".join)
def test_link_fan_out_whichever_arrives_first(order: tuple[str, ...]) -> None:
    harness = run_requests([[LINKED[name]] for name in order], gap_s=TTL / 3)
    assert harness.observed().calls == {("req", "rec", MESSAGING): (2, 0), ("user", "rec", ENTRY): (1, 0)}
    assert harness.stats.unpaired == 0  # linked producers are paired, not left over


def test_linked_producer_arriving_after_the_consumers_ttl_is_not_paired() -> None:
    harness = run_requests([[LINKED["c"]], [LINKED["p1"], LINKED["p2"]]], gap_s=TTL + 1)
    assert harness.observed().calls == {("user", "rec", ENTRY): (1, 0)}
    assert harness.stats.unpaired == 2


@pytest.mark.parametrize(
    ("linked", "expected", "unpaired"),
    [
        (span("req:PRODUCER p1", trace="t2"), {("req", "rec", MESSAGING): (1, 0)}, 0),
        (span("rec:PRODUCER p1", trace="t2"), {}, 1),  # same service: no call, the producer is left over
        (span("req:CLIENT p1", {"peer.service": "x"}, trace="t2"), {("req", "x", VIRTUAL): (1, 0)}, 0),
    ],
    ids=["producer", "same-service-producer", "client-not-producer"],
)
@pytest.mark.parametrize("consumer_first", [True, False], ids=["consumer-first", "linked-first"])
def test_links_only_count_producers_of_other_services(
    linked: SpanSpec, expected: dict[EdgeId, tuple[int, int]], unpaired: int, consumer_first: bool
) -> None:
    consumer = span("rec:CONSUMER c", links=[("t2", "p1")])
    harness = run_requests([[consumer], [linked]] if consumer_first else [[linked], [consumer]])
    assert harness.observed().calls == {("user", "rec", ENTRY): (1, 0), **expected}
    assert harness.stats.unpaired == unpaired


def test_link_to_the_parent_is_counted_once() -> None:
    harness = run_requests([[span("req:PRODUCER p"), span("rec:CONSUMER c←p", links=[("t1", "p"), ("t1", "p")])]])
    assert harness.observed().calls == {("req", "rec", MESSAGING): (1, 0)}


# --------------------------------------------------------------------------- latency


def bucket(seconds: float) -> int:
    """Index of the histogram bucket whose upper bound is `seconds`."""
    return LATENCY_BUCKETS.index(seconds)


def only(index: int | None) -> list[int]:
    hist = [0] * (len(LATENCY_BUCKETS) + 1)
    if index is not None:
        hist[index] = 1
    return hist


@pytest.mark.parametrize(
    ("spans", "edge", "client_bucket", "server_bucket"),
    [
        ([span("req:CLIENT a", duration_ms=300), span("srv:SERVER b←a", duration_ms=3)],
         ("req", "srv", RPC), bucket(0.4), bucket(0.004)),
        ([span("req:PRODUCER p", duration_ms=1.5), span("rec:CONSUMER c←p", duration_ms=1200)],
         ("req", "rec", MESSAGING), bucket(0.002), bucket(1.4)),
        # HotROD shape: a SERVER parent has no client duration; the child's is the server's
        ([span("a:SERVER s", duration_ms=300), span("b:CLIENT c←s", {"peer.service": "x"}, duration_ms=20)],
         ("a", "b", INFERRED), None, bucket(0.025)),
        ([span("web:SERVER r", duration_ms=7)], ("user", "web", ENTRY), None, bucket(0.008)),
        ([span("req:CLIENT a", {"peer.service": "x"}, duration_ms=90)], ("req", "x", VIRTUAL), bucket(0.1), None),
        ([span("srv:CLIENT c", {"db.system": "redis"}, duration_ms=20_000)],
         ("srv", "redis", DATABASE), len(LATENCY_BUCKETS), None),  # over 15 s: the +Inf bucket
    ],
    ids=["rpc", "messaging", "inferred-server-parent", "entry", "virtual", "database-inf"],
)
def test_latency_histograms(
    spans: list[SpanSpec], edge: EdgeId, client_bucket: int | None, server_bucket: int | None
) -> None:
    agg = run_requests([spans]).edge(*edge)
    assert agg.client_hist == only(client_bucket)
    assert agg.server_hist == only(server_bucket)
    durations = {s.span_id: s.duration_ms / 1000 for s in spans}
    if client_bucket is None:
        assert agg.client_sum == 0
    else:
        assert agg.client_sum == pytest.approx(durations[spans[0].span_id])
    if server_bucket is None:
        assert agg.server_sum == 0
    else:
        assert agg.server_sum == pytest.approx(durations[spans[-1].span_id])


# --------------------------------------------------------------------------- environment


@pytest.mark.parametrize(
    ("resource", "environment"),
    [
        ({"deployment.environment.name": "prod"}, "prod"),
        ({"deployment.environment": "staging"}, "staging"),
        ({"deployment.environment.name": "prod", "deployment.environment": "legacy"}, "prod"),
        ({"deployment.environment": "legacy", "deployment.environment.name": "prod"}, "prod"),
        ({}, ""),
    ],
    ids=["name", "older-key", "both", "both-reversed", "none"],
)
def test_environment_from_resource(resource: dict[str, str], environment: str) -> None:
    harness = run_requests([[
        span("req:CLIENT a", resource=resource),
        span("srv:SERVER b←a", resource=resource),
        span("req:CLIENT v", {"peer.service": "ext"}, resource=resource),
    ]])
    batches = harness.batches()
    edge_envs = {(key[1], key[2], key[4]) for batch in batches for key in batch.edges}
    assert edge_envs == {("req", "srv", environment), ("req", "ext", environment)}
    service_envs = {(key[1], key[2]) for batch in batches for key in batch.services}
    assert service_envs == {("req", environment), ("srv", environment)}
