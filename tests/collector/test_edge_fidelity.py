"""DESIGN §2 rules 9-13 (issue #16), table-driven like test_edge_rules, through both decoders.

Every case is sent as OTLP/JSON and as protobuf (collector.decode), in every arrival order (a
seeded sample beyond five spans) and in random request splits, and must give exactly its edges,
node kinds and counters.
"""

from __future__ import annotations

import logging
import random
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import pytest

from collector.decode import decode_json_document, decode_request_bytes
from graph.model import Span, Window
from graph.service_graph import ServiceGraph, warn_entry_collision
from graph.store.sqlite import SQLiteStore
from tests.collector.otlp_builders import SpanSpec, otlp_json, otlp_json_to_protobuf, span, span_hex
from tests.collector.test_edge_rules import (
    DATABASE,
    ENTRY,
    EXTERNAL,
    MESSAGING,
    QUEUE_NODE,
    RPC,
    SERVICE,
    TTL,
    USER,
    VIRTUAL,
    EdgeId,
    Harness,
    Observed,
    arrival_orders,
    random_split,
)

DECODERS = ["json", "protobuf"]
STATUS_OK = 1


def decode(specs: Sequence[SpanSpec], decoder: str, ok: frozenset[str] = frozenset()) -> list[Span]:
    """One request of `specs` through the named decoder; spans named in `ok` get status OK."""
    doc = otlp_json(specs)
    ok_ids = {span_hex(name) for name in ok}
    for rs in doc["resourceSpans"]:
        for raw in rs["scopeSpans"][0]["spans"]:
            if raw["spanId"] in ok_ids:
                raw["status"] = {"code": STATUS_OK}
    result = decode_request_bytes(otlp_json_to_protobuf(doc)) if decoder == "protobuf" else decode_json_document(doc)
    assert result.rejected == 0, result.errors
    return result.spans


class DecoderHarness(Harness):
    """Harness whose requests go through one of the two OTLP decoders."""

    def __init__(self, decoder: str, ok: frozenset[str] = frozenset(), **options: Any) -> None:
        super().__init__(**options)
        self.decoder = decoder
        self.ok = ok

    def send(self, *specs: SpanSpec) -> None:
        self.detector.add(decode(specs, self.decoder, self.ok))
        self.detector.expire()


def run(requests: Sequence[Sequence[SpanSpec]], decoder: str, gap_s: float = 0.0, **options: Any) -> DecoderHarness:
    """Send the requests `gap_s` apart through `decoder`, then let every TTL pass."""
    harness = DecoderHarness(decoder, **options)
    for i, request in enumerate(requests):
        if i:
            harness.wait(gap_s)
        harness.send(*request)
    harness.wait(max(harness.detector.ttl, getattr(harness.detector, "messaging_ttl", 0)) + 1)
    assert harness.detector.pending == 0
    return harness


@dataclass(frozen=True)
class Case:
    """One example of the issue or of DESIGN §2 rules 9-13, and exactly what it must give."""

    id: str
    spans: tuple[SpanSpec, ...]
    calls: Mapping[EdgeId, tuple[int, int]]
    virtual: Mapping[str, str] = field(default_factory=dict)
    unpaired: int = 0
    unmatched: int = 0
    ok: frozenset[str] = frozenset()  # span ids sent with status OK
    options: Mapping[str, Any] = field(default_factory=dict)

    def expected(self) -> Observed:
        kinds = {name: self.virtual.get(name, SERVICE) for edge in self.calls for name in edge[:2]}
        return Observed(dict(self.calls), kinds, self.unpaired, self.unmatched)


def c(case_id: str, *spans: SpanSpec, **expected: Any) -> Case:
    return Case(case_id, spans, **expected)


CLIENT_A = span("req:CLIENT a")
RULE_12 = [
    c("r12-http-503-int", CLIENT_A, span("srv:SERVER b←a", {"http.response.status_code": 503}),
      calls={("req", "srv", RPC): (1, 1)}),
    c("r12-old-http-500-string", CLIENT_A, span("srv:SERVER b←a", {"http.status_code": "500"}),
      calls={("req", "srv", RPC): (1, 1)}),
    c("r12-http-499", CLIENT_A, span("srv:SERVER b←a", {"http.response.status_code": 499}),
      calls={("req", "srv", RPC): (1, 0)}),
    c("r12-http-not-a-number", CLIENT_A, span("srv:SERVER b←a", {"http.response.status_code": "5xx"}),
      calls={("req", "srv", RPC): (1, 0)}),
    c("r12-grpc-unavailable", CLIENT_A, span("srv:SERVER b←a", {"rpc.grpc.status_code": 14}),
      calls={("req", "srv", RPC): (1, 1)}),
    c("r12-grpc-unknown-string", CLIENT_A, span("srv:SERVER b←a", {"rpc.grpc.status_code": "2"}),
      calls={("req", "srv", RPC): (1, 1)}),
    c("r12-grpc-not-found", CLIENT_A, span("srv:SERVER b←a", {"rpc.grpc.status_code": 5}),
      calls={("req", "srv", RPC): (1, 0)}),
    c("r12-ok-never-failed", CLIENT_A, span("srv:SERVER b←a", {"http.response.status_code": 503}),
      calls={("req", "srv", RPC): (1, 0)}, ok=frozenset({"b"})),
    c("r12-root-server", span("web:SERVER r", {"http.response.status_code": 502}),
      calls={("user", "web", ENTRY): (1, 1)}, virtual={"user": USER}),
    c("r12-client-span-not-read", span("req:CLIENT a", {"peer.service": "ext", "http.response.status_code": 503}),
      calls={("req", "ext", VIRTUAL): (1, 0)}, virtual={"ext": EXTERNAL}),
]

RULE_13 = [
    c("r13-empty-db-system", span("req:CLIENT a", {"db.system": "", "server.address": "api.example"}),
      calls={("req", "api.example", VIRTUAL): (1, 0)}, virtual={"api.example": EXTERNAL}),
    c("r13-blank-db-keys", span("req:CLIENT a", {"db.system": "  ", "db.name": "\t", "peer.service": "pay"}),
      calls={("req", "pay", VIRTUAL): (1, 0)}, virtual={"pay": EXTERNAL}),
    c("r13-blank-peer-next-tried", span("req:CLIENT a", {"peer.service": " ", "server.address": "real-host"}),
      calls={("req", "real-host", VIRTUAL): (1, 0)}, virtual={"real-host": EXTERNAL}),
    c("r13-LOCALHOST-and-127-0-0-53", span("req:CLIENT a", {"peer.service": "LOCALHOST",
                                                            "server.address": "127.0.0.53"}),
      calls={}, unpaired=1),
    c("r13-dot-localhost", span("req:CLIENT a", {"server.address": "api.Localhost"}), calls={}, unpaired=1),
    c("r13-database-skips-loopback", span("req:CLIENT a", {"server.address": "127.1.2.3", "db.system": "redis"}),
      calls={("req", "redis", DATABASE): (1, 0)}, virtual={"redis": "database"}),
    c("r13-wildcard-v6", span("req:CLIENT a", {"server.address": "[::]"}), calls={}, unpaired=1),
    c("r13-entry-node-setting", span("web:SERVER r"), calls={("internet", "web", ENTRY): (1, 0)},
      virtual={"internet": USER}, options={"entry_node": "internet"}),
]

SQS = {"server.address": "sqs.eu-west-1.amazonaws.com"}
RULE_10 = [
    c("r10-destination-before-broker",
      span("shop:PRODUCER p", {"messaging.destination.name": "orders", **SQS}),
      calls={("shop", "orders", MESSAGING): (1, 0)}, virtual={"orders": QUEUE_NODE}),
    c("r10-queues-of-one-broker-apart",
      span("shop:PRODUCER p", {"messaging.destination.name": "orders", **SQS}),
      span("shop:PRODUCER q", {"messaging.destination.name": "refunds", **SQS}, trace="t2"),
      calls={("shop", "orders", MESSAGING): (1, 0), ("shop", "refunds", MESSAGING): (1, 0)},
      virtual={"orders": QUEUE_NODE, "refunds": QUEUE_NODE}),
    c("r10-temporary-uses-template",
      span("shop:PRODUCER p", {"messaging.destination.name": "amq.gen-Xa9", "messaging.destination.temporary": True,
                               "messaging.destination.template": "replies.{id}", **SQS}),
      calls={("shop", "replies.{id}", MESSAGING): (1, 0)}, virtual={"replies.{id}": QUEUE_NODE}),
    c("r10-anonymous-without-template-uses-broker",
      span("shop:PRODUCER p", {"messaging.destination.name": "amq.gen-Xa9", "messaging.destination.anonymous": "true",
                               **SQS}),
      calls={("shop", "sqs.eu-west-1.amazonaws.com", MESSAGING): (1, 0)},
      virtual={"sqs.eu-west-1.amazonaws.com": EXTERNAL}),
    c("r10-receive-and-process-are-one-call",
      span("shop:PRODUCER p", {"messaging.destination.name": "orders"}),
      span("billing:CONSUMER r←p", start_ms=50),
      span("billing:CONSUMER q←r", start_ms=60, links=[("t1", "p")], error=True),
      calls={("shop", "billing", MESSAGING): (1, 1)}),
    c("r10-two-consumer-services-two-calls",
      span("shop:PRODUCER p", {"messaging.destination.name": "orders"}),
      span("billing:CONSUMER r←p"), span("audit:CONSUMER a←p"),
      calls={("shop", "billing", MESSAGING): (1, 0), ("shop", "audit", MESSAGING): (1, 0)}),
]

SRV = {"server.address": "srv.prod.svc"}
LB = {"server.address": "lb.prod"}
RULE_9 = [
    c("r9-failed-attempt-then-retry",
      span("checkout:CLIENT a1", SRV, error=True), span("checkout:CLIENT a2", SRV), span("srv:SERVER b←a2"),
      calls={("checkout", "srv", RPC): (2, 1)}),
    c("r9-wrapper-is-no-call",
      span("checkout:CLIENT w", {"peer.service": "payments-api"}),
      span("checkout:CLIENT t←w", {"server.address": "10.0.0.7"}), span("payments:SERVER s←t"),
      calls={("checkout", "payments", RPC): (1, 0)}),
    c("r9-wrapper-with-a-failed-attempt",
      span("checkout:CLIENT w", {"peer.service": "payments-api"}),
      span("checkout:CLIENT t1←w", {"server.address": "payments.prod"}, error=True),
      span("checkout:CLIENT t2←w", {"server.address": "payments.prod"}), span("payments:SERVER s←t2"),
      calls={("checkout", "payments", RPC): (2, 1)}),
    c("r9-ambiguous-address-stays-virtual",
      span("web:CLIENT c1", LB), span("svc-a:SERVER s1←c1"), span("web:CLIENT c2", LB), span("svc-b:SERVER s2←c2"),
      span("web:CLIENT c3", LB),
      calls={("web", "svc-a", RPC): (1, 0), ("web", "svc-b", RPC): (1, 0), ("web", "lb.prod", VIRTUAL): (1, 0)},
      virtual={"lb.prod": EXTERNAL}),
    c("r9-own-environment-first",
      span("web:CLIENT c1", LB, resource={"deployment.environment.name": "prod"}),
      span("svc-a:SERVER s1←c1", resource={"deployment.environment.name": "prod"}),
      span("web:CLIENT c2", LB, resource={"deployment.environment.name": "staging"}),
      span("svc-b:SERVER s2←c2", resource={"deployment.environment.name": "staging"}),
      span("web:CLIENT c3", LB, resource={"deployment.environment.name": "prod"}, error=True),
      calls={("web", "svc-a", RPC): (2, 1), ("web", "svc-b", RPC): (1, 0)}),
]

CASES = [*RULE_12, *RULE_13, *RULE_10, *RULE_9]


@pytest.mark.parametrize("decoder", DECODERS)
@pytest.mark.parametrize("edge_case", CASES, ids=lambda x: x.id)
def test_fidelity_case_any_order_and_split(edge_case: Case, decoder: str) -> None:
    expected = edge_case.expected()
    spans = edge_case.spans
    rng = random.Random(edge_case.id)
    gap = TTL / (2 * len(spans))
    for order in arrival_orders(spans, edge_case.id):
        for requests in ([(s,) for s in order], random_split(order, rng)):
            harness = run(requests, decoder, gap_s=gap, ok=edge_case.ok, **edge_case.options)
            labels = [[s.label for s in request] for request in requests]
            assert harness.observed() == expected, f"arrival {labels}"


def _graph(harness: Harness) -> ServiceGraph:
    store = SQLiteStore(":memory:")
    try:
        for batch in harness.batches():
            store.write(batch)
        return ServiceGraph.from_store(store, Window(0, 4_000_000_000))
    finally:
        store.close()


@pytest.mark.parametrize("decoder", DECODERS)
def test_entry_node_is_never_merged_with_a_service_of_its_name(
    decoder: str, caplog: pytest.LogCaptureFixture
) -> None:
    harness = run([[span("web:SERVER r"), span("user:CLIENT u", trace="t2"), span("web:SERVER s←u", trace="t2")]],
                  decoder)
    warn_entry_collision.cache_clear()  # the warning is logged once per name and process
    with caplog.at_level(logging.WARNING, logger="graph.service_graph"):
        graph = _graph(harness)
    assert {(e.source, e.target, e.connection_type, e.calls) for e in graph.edges} == {
        ("user (entry)", "web", ENTRY, 1), ("user", "web", RPC, 1),
    }
    assert (graph.nodes["user (entry)"].kind, graph.nodes["user"].kind) == (USER, SERVICE)
    assert "entry_node" in caplog.text


def test_entry_node_keeps_its_name_without_a_clash() -> None:
    graph = _graph(run([[span("web:SERVER r")]], "json"))
    assert [(e.source, e.target) for e in graph.edges] == [("user", "web")]


@pytest.mark.parametrize("decoder", DECODERS)
def test_receive_and_process_keep_the_earliest_consumers_latency(decoder: str) -> None:
    harness = run([[span("shop:PRODUCER p", {"messaging.destination.name": "orders"}, duration_ms=10)],
                   [span("billing:CONSUMER q", start_ms=500, duration_ms=3000, links=[("t1", "p")], trace="t2")],
                   [span("billing:CONSUMER r←p", start_ms=30, duration_ms=5)]], decoder)
    edge = harness.edge("shop", "billing", MESSAGING)
    assert (edge.calls, edge.failed, edge.queue_count) == (1, 0, 1)
    assert edge.server_sum == pytest.approx(0.005)
    assert edge.queue_sum == pytest.approx(0.020)
    assert edge.destinations == ["orders"]


@pytest.mark.parametrize("decoder", DECODERS)
@pytest.mark.parametrize("by", ["parent", "link"])
def test_a_consumer_lagging_beyond_the_pairing_ttl_keeps_its_edge(decoder: str, by: str) -> None:
    producer = span("shop:PRODUCER p", {"messaging.destination.name": "orders"})
    consumer = (span("billing:CONSUMER c←p", start_ms=60_000) if by == "parent"
                else span("billing:CONSUMER c←x", start_ms=60_000, trace="t2", links=[("t1", "p")]))
    harness = run([[producer], [consumer]], decoder, gap_s=60, messaging_ttl=300)
    assert harness.observed().calls == {("shop", "billing", MESSAGING): (1, 0)}
    assert harness.edge("shop", "billing", MESSAGING).destinations == ["orders"]


def test_a_producer_waits_messaging_ttl_then_names_its_destination() -> None:
    harness = DecoderHarness("protobuf", messaging_ttl=300)
    harness.send(span("shop:PRODUCER p", {"messaging.destination.name": "orders"}))
    harness.wait(TTL + 1)
    assert harness.observed().calls == {}
    assert harness.detector.pending == 1
    harness.wait(300)
    assert harness.observed().calls == {("shop", "orders", MESSAGING): (1, 0)}
    assert harness.edge("shop", "orders", MESSAGING).destinations == ["orders"]


def test_producers_kept_for_messaging_ttl_are_bounded_by_max_pending() -> None:
    harness = DecoderHarness("json", messaging_ttl=300, max_pending=2)
    for i in range(4):
        harness.send(span(f"shop:PRODUCER p{i}", {"messaging.destination.name": f"q{i}"}, trace=f"t{i}"))
        harness.wait(TTL + 1)
    assert harness.detector.pending == 2
    assert harness.stats.expired_early == 2
    assert harness.observed().calls == {("shop", "q0", MESSAGING): (1, 0), ("shop", "q1", MESSAGING): (1, 0)}


def test_destinations_are_listed_up_to_five() -> None:
    producers = [span(f"shop:PRODUCER p{i}", {"messaging.destination.name": f"q{i}"}) for i in range(7)]
    consumers = [span(f"billing:CONSUMER c{i}←p{i}") for i in range(7)]
    harness = run([[*producers, *consumers]], "json")
    assert harness.edge("shop", "billing", MESSAGING).destinations == [f"q{i}" for i in range(5)]


@pytest.mark.parametrize("decoder", DECODERS)
def test_a_server_span_whose_caller_never_reports_counts_for_its_service(decoder: str) -> None:
    """Rule 11: no edge (a dropped client span must not look like a user), but counted per service."""
    harness = run([[span("srv:SERVER b←gone", error=True), span("srv:SERVER c←gone2"),
                    span("rec:CONSUMER d←gone3")]], decoder)
    assert harness.observed() == Observed({}, {}, unpaired=0, unmatched=3)
    counted = {(key[1], agg.calls, agg.failed, agg.unmatched)
               for batch in harness.batches() for key, agg in batch.unmatched.items()}
    assert counted == {("srv", 2, 1, 2), ("rec", 0, 0, 1)}  # a CONSUMER is an unmatched parent, not a call


@pytest.mark.parametrize("decoder", DECODERS)
def test_instrumentation_signals_are_counted_per_service(decoder: str) -> None:
    """Unpaired client spans without a peer, unmatched parents, spans resolved through learned addresses."""
    harness = run([[span("shop:CLIENT a"), span("shop:PRODUCER p"), span("shop:CLIENT r", SRV), span("srv:SERVER s←r"),
                    span("shop:CLIENT x", SRV, error=True), span("srv:SERVER b←gone")]], decoder)
    signals = {}
    for batch in harness.batches():
        for (_, service, _), agg in batch.unmatched.items():
            signals[service] = (agg.unpaired, agg.unmatched, agg.resolved)
    assert signals == {"shop": (2, 0, 1), "srv": (0, 1, 0)}
    assert harness.observed().calls == {("shop", "srv", RPC): (2, 1)}
