"""Plain records shared by every layer: spans, calls and the constants of the edge rules.

Nothing here imports protobuf or networkx; decoders produce these records and the
rest of ownermap consumes them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import IntEnum, StrEnum
from typing import Any


class SpanKind(IntEnum):
    """OTLP span kinds, with the same integer values as the protocol."""

    UNSPECIFIED = 0
    INTERNAL = 1
    SERVER = 2
    CLIENT = 3
    PRODUCER = 4
    CONSUMER = 5


class ConnectionType(StrEnum):
    """Values of an edge's `connection_type` (DESIGN §2). A str: stored and sent as its value."""

    RPC = "rpc"
    MESSAGING = "messaging"
    INFERRED = "inferred"
    DATABASE = "database"
    VIRTUAL = "virtual"
    ENTRY = "entry"


class NodeKind(StrEnum):
    """Values of a node's `kind` (DESIGN §2, rule 8). A str: stored and sent as its value."""

    SERVICE = "service"
    DATABASE = "database"
    MESSAGING = "messaging"
    EXTERNAL = "external"
    USER = "user"


VIRTUAL_KINDS = frozenset({NodeKind.DATABASE, NodeKind.MESSAGING, NodeKind.EXTERNAL, NodeKind.USER})

UNKNOWN_SERVICE = "unknown_service"
USER_NODE = "user"
MAX_NAME_LENGTH = 256
MAX_TIME_NS = 2**63 - 1  # the largest time the stores' BIGINT columns hold (year 2262)

# Latency histogram bucket upper bounds in seconds; a final +Inf bucket follows.
LATENCY_BUCKETS: tuple[float, ...] = (
    0.002, 0.004, 0.006, 0.008, 0.01, 0.025, 0.05, 0.1, 0.2, 0.4, 0.8, 1.0, 1.4, 2.0, 5.0, 10.0, 15.0,
)
HISTOGRAM_SIZE = len(LATENCY_BUCKETS) + 1
MAX_EXEMPLARS = 5

# Span attributes the edge rules read. Decoders keep only these (string values).
PEER_SERVICE_KEYS = ("service.peer.name", "peer.service")
SERVER_ADDRESS = "server.address"
NETWORK_PEER_ADDRESS = "network.peer.address"
MESSAGING_DESTINATION = "messaging.destination.name"
# Rule 10: a temporary or anonymous destination is named by its template, else by the broker.
MESSAGING_TEMPLATE = "messaging.destination.template"
MESSAGING_TEMPORARY_FLAGS = ("messaging.destination.temporary", "messaging.destination.anonymous")
MAX_DESTINATIONS = 5  # destination names listed per messaging edge
DB_KEYS = ("db.system", "db.system.name", "db.namespace", "db.name")
DATABASE_NAME_ORDER = (
    "service.peer.name", "peer.service", "server.address", "network.peer.address",
    "db.namespace", "db.name", "db.system.name", "db.system",
)
SPAN_ATTRIBUTE_KEYS = frozenset({
    *PEER_SERVICE_KEYS, SERVER_ADDRESS, NETWORK_PEER_ADDRESS, MESSAGING_DESTINATION, MESSAGING_TEMPLATE,
    *MESSAGING_TEMPORARY_FLAGS, *DB_KEYS,
})
# Loopback and wildcard addresses never name a node (the full test: collector.hygiene.is_loopback).
NON_NAMES = frozenset({"127.0.0.1", "0.0.0.0", "::1", "::", "localhost", "[::1]", ""})  # noqa: S104
# Rule 12: status attributes that mark a SERVER span with status UNSET as failed.
HTTP_STATUS_KEYS = ("http.response.status_code", "http.status_code")
GRPC_STATUS_KEY = "rpc.grpc.status_code"
GRPC_SERVER_ERRORS = frozenset({2, 4, 12, 13, 14, 15})

# Resource attributes kept as identity hints (service.name itself is the identity).
HINT_KEYS = (
    "service.namespace", "deployment.environment.name", "deployment.environment",
    "k8s.namespace.name", "service.version", "telemetry.sdk.language",
)
ENVIRONMENT_KEYS = ("deployment.environment.name", "deployment.environment")


def cap_name(name: str) -> str:
    """Cap a telemetry name at MAX_NAME_LENGTH characters (names are kept as sent otherwise)."""
    return name if len(name) <= MAX_NAME_LENGTH else name[:MAX_NAME_LENGTH]


# Resource attributes that name a service's owning team, unless the `owner_attributes` setting says otherwise.
DEFAULT_OWNER_ATTRIBUTES: tuple[str, ...] = ("service.owner", "team", "owner")


@dataclass(slots=True)
class Resource:
    """The emitting process: its service name, environment and identity hints.

    One Resource object is shared by all spans of one OTLP ResourceSpans.
    """

    service: str
    environment: str = ""
    hints: dict[str, str] = field(default_factory=dict)


class Span:
    """One span, reduced to what the edge rules need.

    Ids are raw bytes: trace_id 16, span_id 8, parent_id 8 or empty for a root.
    `attrs` holds only the keys in SPAN_ATTRIBUTE_KEYS. `links` are (trace_id, span_id)
    pairs (the protobuf decoder keeps them for CONSUMER spans only, the ones rule 2 reads).
    `paired` is set by the call detector once the span took part in a call; `key`
    (trace_id + span_id) is filled in by the call detector when it indexes the span.

    A decoder may subclass Span to read the attributes on first use (`_read_attrs`, with
    `_attrs` left None): reading a CLIENT span's attributes is a large part of decoding, and
    the edge rules only need them when the span gets no child. `settle_attrs` reads or drops
    them, so the span stops referring to the decoded payload.
    """

    __slots__ = (
        "trace_id", "span_id", "parent_id", "resource", "kind", "start_ns", "end_ns",
        "error", "_attrs", "links", "paired", "key",
    )

    def __init__(
        self,
        trace_id: bytes,
        span_id: bytes,
        parent_id: bytes,
        resource: Resource,
        kind: int,
        start_ns: int,
        end_ns: int,
        error: bool = False,
        attrs: dict[str, str] | None = None,
        links: tuple[tuple[bytes, bytes], ...] = (),
    ) -> None:
        self.trace_id = trace_id
        self.span_id = span_id
        self.parent_id = parent_id
        self.resource = resource
        self.kind = kind
        self.start_ns = start_ns
        self.end_ns = end_ns
        self.error = error
        self._attrs = attrs  # None: read on first use (`_read_attrs`; none unless a decoder's subclass)
        self.links = links
        self.paired = False
        self.key = b""

    @property
    def attrs(self) -> dict[str, str]:
        """The span attributes the edge rules read."""
        attrs = self._attrs
        if attrs is None:
            attrs = self._attrs = self._read_attrs()
        return attrs

    @attrs.setter
    def attrs(self, value: dict[str, str]) -> None:
        self._attrs = value

    def _read_attrs(self) -> dict[str, str]:
        """Attributes left to be read on first use (decoders' subclasses)."""
        return {}

    def settle_attrs(self, needed: bool) -> None:
        """Read attributes left for later now, or drop them unread when nothing needs them any more."""

    @property
    def service(self) -> str:
        """The emitting service's name."""
        return self.resource.service

    @property
    def duration_s(self) -> float:
        """Duration in seconds (0 when the end precedes the start)."""
        d = self.end_ns - self.start_ns
        return d / 1e9 if d > 0 else 0.0

    def __repr__(self) -> str:
        return (
            f"Span({self.resource.service!r}, kind={self.kind}, id={self.span_id.hex()}, "
            f"parent={self.parent_id.hex() or None}, attrs={self.attrs})"
        )


@dataclass(slots=True)
class Call:
    """One call client → server, as the edge rules find it (collector.calls) and the aggregator
    counts it (graph.aggregate).

    `ts_ns` is the caller's start (the callee's for an entry call), in Unix nanoseconds. Latencies
    are in seconds, None when that side did not report one; `queue_seconds` only for messaging
    (consumer start - producer end, when positive). `trace_id` becomes an exemplar of the edge;
    `destination` (messaging only) is the queue or topic the call went through, when named.
    Not frozen: one is built per call on the ingest hot path, and a frozen dataclass costs
    several times more to build.
    """

    ts_ns: int
    client: str
    client_kind: NodeKind
    server: str
    server_kind: NodeKind
    connection_type: ConnectionType
    environment: str
    failed: bool
    client_seconds: float | None
    server_seconds: float | None
    trace_id: bytes
    queue_seconds: float | None = None
    destination: str | None = None


@dataclass(slots=True)
class DecodeResult:
    """Spans decoded from one payload, plus the spans rejected individually and why."""

    spans: list[Span]
    rejected: int = 0
    errors: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)  # kept spans that lost a value, and why

    def reject(self, reason: str) -> None:
        """Count one rejected span, remembering the first few reasons."""
        self.rejected += 1
        if len(self.errors) < 5:
            self.errors.append(reason)

    @property
    def error_message(self) -> str:
        """A short message for OTLP partial success (also sent with 0 rejected spans as a warning)."""
        if not self.rejected:
            return "; ".join(self.warnings)
        more = "" if self.rejected <= len(self.errors) else f" (and {self.rejected - len(self.errors)} more)"
        return "; ".join(["; ".join(self.errors) + more, *self.warnings])


@dataclass(frozen=True, slots=True)
class Window:
    """A half-open time window [start, end) in Unix seconds."""

    start: float
    end: float

    def as_dict(self) -> dict[str, Any]:
        """ISO 8601 representation used by the API."""
        from datetime import UTC, datetime

        return {
            "start": datetime.fromtimestamp(self.start, UTC).isoformat().replace("+00:00", "Z"),
            "end": datetime.fromtimestamp(self.end, UTC).isoformat().replace("+00:00", "Z"),
        }
