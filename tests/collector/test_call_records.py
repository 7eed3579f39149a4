"""collector.calls: the detector hands its sink one `Call` record per call, with enum kinds.

The sink here is a plain list that keeps what it is given (the `CallSink` protocol), so the
records themselves are checked, field by field, for every rule that emits a call.
"""

from __future__ import annotations

import pytest

from collector.calls import CallDetector
from graph.model import Call, ConnectionType, NodeKind, Span
from tests.collector.otlp_builders import FakeClock, SpanSpec, decode_specs, span

TTL = 5.0


class RecordingSink:
    """Keeps every call record it receives (sightings are not what these tests look at)."""

    def __init__(self) -> None:
        self.calls: list[Call] = []

    def sightings(self, spans: list[Span]) -> None:
        """Sightings are ignored here."""

    def call(self, call: Call) -> None:
        """Keep the record."""
        self.calls.append(call)

    def signal(self, span: Span, signal: str) -> None:
        """Not a call: ignored here."""


def _detect(*specs: SpanSpec) -> list[Call]:
    sink = RecordingSink()
    clock = FakeClock()
    detector = CallDetector(sink, ttl=TTL, clock=clock)
    detector.add(decode_specs(list(specs)))
    clock.advance(TTL + 1)
    detector.expire()
    return sink.calls


def _one(calls: list[Call], connection_type: ConnectionType) -> Call:
    found = [c for c in calls if c.connection_type == connection_type]
    assert len(found) == 1, calls
    return found[0]


@pytest.mark.parametrize(
    ("specs", "expected"),
    [
        pytest.param(
            (span("req:CLIENT a"), span("srv:SERVER b←a")),
            ("req", NodeKind.SERVICE, "srv", NodeKind.SERVICE, ConnectionType.RPC), id="rule1-rpc",
        ),
        pytest.param(
            (span("pub:PRODUCER a"), span("sub:CONSUMER b←a")),
            ("pub", NodeKind.SERVICE, "sub", NodeKind.SERVICE, ConnectionType.MESSAGING), id="rule1-messaging",
        ),
        pytest.param(
            (span("a:INTERNAL a"), span("b:INTERNAL b←a")),
            ("a", NodeKind.SERVICE, "b", NodeKind.SERVICE, ConnectionType.INFERRED), id="rule1-inferred",
        ),
        pytest.param(
            (span("pub:PRODUCER p", trace="t1"), span("sub:CONSUMER c", trace="t2", links=[("t1", "p")])),
            ("pub", NodeKind.SERVICE, "sub", NodeKind.SERVICE, ConnectionType.MESSAGING), id="rule2-link",
        ),
        pytest.param(
            (span("app:CLIENT q", {"db.system": "postgresql", "db.namespace": "orders"}),),
            ("app", NodeKind.SERVICE, "orders", NodeKind.DATABASE, ConnectionType.DATABASE), id="rule3-database",
        ),
        pytest.param(
            (span("app:CLIENT q", {"peer.service": "stripe"}),),
            ("app", NodeKind.SERVICE, "stripe", NodeKind.EXTERNAL, ConnectionType.VIRTUAL), id="rule4-virtual",
        ),
        pytest.param(
            (span("app:PRODUCER q", {"messaging.destination.name": "jobs"}),),
            ("app", NodeKind.SERVICE, "jobs", NodeKind.MESSAGING, ConnectionType.MESSAGING), id="rule4-queue",
        ),
        pytest.param(
            (span("web:SERVER r"),),
            ("user", NodeKind.USER, "web", NodeKind.SERVICE, ConnectionType.ENTRY), id="rule5-entry",
        ),
    ],
)
def test_each_rule_emits_one_call_record_with_enum_kinds(
    specs: tuple[SpanSpec, ...], expected: tuple[str, NodeKind, str, NodeKind, ConnectionType]
) -> None:
    client, client_kind, server, server_kind, ctype = expected
    record = _one(_detect(*specs), ctype)
    assert isinstance(record, Call)
    assert (record.client, record.client_kind, record.server, record.server_kind) == (
        client, client_kind, server, server_kind,
    )
    # The members themselves, not equal strings: one type per value all the way to the store.
    assert type(record.client_kind) is NodeKind and type(record.server_kind) is NodeKind
    assert type(record.connection_type) is ConnectionType


def test_rpc_call_record_carries_time_latencies_status_environment_and_trace() -> None:
    client = span("req:CLIENT a", start_ms=0, duration_ms=30, resource={"deployment.environment.name": "prod"})
    server = span("srv:SERVER b←a", error=True, start_ms=5, duration_ms=20)
    record = _one(_detect(client, server), ConnectionType.RPC)
    spans = decode_specs([client])
    assert record.ts_ns == spans[0].start_ns
    assert record.environment == "prod"
    assert record.failed is True
    assert record.client_seconds == pytest.approx(0.030)
    assert record.server_seconds == pytest.approx(0.020)
    assert record.queue_seconds is None
    assert record.trace_id == spans[0].trace_id


def test_messaging_call_record_carries_the_queue_delay() -> None:
    producer = span("pub:PRODUCER a", start_ms=0, duration_ms=10)
    consumer = span("sub:CONSUMER b←a", start_ms=250, duration_ms=5)
    record = _one(_detect(producer, consumer), ConnectionType.MESSAGING)
    assert record.queue_seconds == pytest.approx(0.240)
    assert record.client_seconds == pytest.approx(0.010)
    assert record.server_seconds == pytest.approx(0.005)


def test_one_sided_call_records_leave_the_missing_latency_unset() -> None:
    entry = _one(_detect(span("web:SERVER r", duration_ms=7)), ConnectionType.ENTRY)
    assert (entry.client_seconds, entry.server_seconds) == (None, pytest.approx(0.007))
    virtual = _one(_detect(span("app:CLIENT q", {"peer.service": "stripe"}, duration_ms=9)), ConnectionType.VIRTUAL)
    assert (virtual.client_seconds, virtual.server_seconds) == (pytest.approx(0.009), None)
