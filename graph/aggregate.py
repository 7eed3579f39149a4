"""In-memory aggregation of calls and service sightings into time buckets.

The aggregator collects deltas between two flushes; `drain()` hands them to the store
(which adds them to what it already holds) and starts afresh.
"""

from __future__ import annotations

import logging
import time
from bisect import bisect_left
from collections.abc import Iterable
from dataclasses import dataclass, field
from operator import add

from graph.model import HISTOGRAM_SIZE, LATENCY_BUCKETS, MAX_DESTINATIONS, MAX_EXEMPLARS, Call, Resource, Span
from graph.unmatched import UnmatchedAggregate, UnmatchedKey, count_signal, merge_unmatched

log = logging.getLogger(__name__)

# Defaults of the cardinality caps (ownermap.settings.Settings takes its defaults from these).
DEFAULT_MAX_SERVICES = 50_000  # distinct node names of every kind: services and virtual nodes
DEFAULT_MAX_EDGES = 500_000  # distinct (client, server, connection_type)
DEFAULT_MAX_ENVIRONMENTS = 50  # distinct environments; further ones count under OTHER_ENVIRONMENT
OTHER_ENVIRONMENT = "other"

EdgeKey = tuple[int, str, str, str, str]  # bucket, client, server, connection_type, environment
ServiceKey = tuple[int, str, str]  # bucket, service, environment
NamespaceKey = tuple[int, str]  # bucket, service
NAMESPACE_KEY = "service.namespace"  # the resource attribute (kept in Resource.hints)
MAX_NAMESPACES = 8  # distinct service.namespace values kept per service and bucket (batch and store)


class EdgeAggregate:
    """Counters of one edge in one bucket."""

    __slots__ = (
        "calls", "failed", "client_kind", "server_kind", "client_hist", "server_hist",
        "client_sum", "server_sum", "queue_sum", "queue_count", "first_ns", "last_ns", "exemplars", "destinations",
    )

    def __init__(self, client_kind: str, server_kind: str, ts_ns: int) -> None:
        self.calls = 0
        self.failed = 0
        self.client_kind = client_kind
        self.server_kind = server_kind
        self.client_hist = [0] * HISTOGRAM_SIZE
        self.server_hist = [0] * HISTOGRAM_SIZE
        self.client_sum = 0.0
        self.server_sum = 0.0
        self.queue_sum = 0.0
        self.queue_count = 0
        self.first_ns = ts_ns
        self.last_ns = ts_ns
        self.exemplars: list[str] = []
        self.destinations: list[str] = []  # messaging: the queues or topics it went through (rule 10)

    def copy(self) -> EdgeAggregate:
        """An independent copy."""
        out = EdgeAggregate(self.client_kind, self.server_kind, self.first_ns)
        out.merge(self)
        return out

    def merge(self, other: EdgeAggregate) -> None:
        """Add another aggregate of the same key into this one."""
        self.calls += other.calls
        self.failed += other.failed
        # map(add) runs in C: merging is per edge and per flush (EdgeTotals), so it is on the ingest path.
        self.client_hist = list(map(add, self.client_hist, other.client_hist))
        self.server_hist = list(map(add, self.server_hist, other.server_hist))
        self.client_sum += other.client_sum
        self.server_sum += other.server_sum
        if other.queue_count:
            self.queue_sum += other.queue_sum
            self.queue_count += other.queue_count
        if other.first_ns < self.first_ns:
            self.first_ns = other.first_ns
        if other.last_ns > self.last_ns:
            self.last_ns = other.last_ns
        exemplars = self.exemplars
        if len(exemplars) < MAX_EXEMPLARS:  # usually full already (EdgeTotals): nothing to look at
            for exemplar in other.exemplars:
                if exemplar not in exemplars:
                    exemplars.append(exemplar)
                    if len(exemplars) >= MAX_EXEMPLARS:
                        break
        for name in other.destinations:  # distinct, at most MAX_DESTINATIONS
            if len(self.destinations) < MAX_DESTINATIONS and name not in self.destinations:
                self.destinations.append(name)


class ServiceAggregate:
    """Span counters of one service in one bucket."""

    __slots__ = ("spans", "errors", "first_ns", "last_ns")

    def __init__(self, ts_ns: int) -> None:
        self.spans = 0
        self.errors = 0
        self.first_ns = ts_ns
        self.last_ns = ts_ns

    def merge(self, other: ServiceAggregate) -> None:
        """Add another aggregate of the same key into this one."""
        self.spans += other.spans
        self.errors += other.errors
        self.first_ns = min(self.first_ns, other.first_ns)
        self.last_ns = max(self.last_ns, other.last_ns)


@dataclass
class AggregateBatch:
    """What one flush writes: edge and service deltas, the latest resource hints and the distinct
    `service.namespace` values each service was seen with per bucket (at most MAX_NAMESPACES).

    Kinds and connection types are plain str here (the values of NodeKind and ConnectionType),
    as the stores write them and read them back.
    """

    edges: dict[EdgeKey, EdgeAggregate] = field(default_factory=dict)
    services: dict[ServiceKey, ServiceAggregate] = field(default_factory=dict)
    hints: dict[str, dict[str, str]] = field(default_factory=dict)
    namespaces: dict[NamespaceKey, set[str]] = field(default_factory=dict)
    unmatched: dict[UnmatchedKey, UnmatchedAggregate] = field(default_factory=dict)  # rule 11

    def add_namespace(self, key: NamespaceKey, namespace: str) -> None:
        """Remember a namespace of (bucket, service); beyond MAX_NAMESPACES distinct ones, ignored."""
        seen = self.namespaces.get(key)
        if seen is None:
            self.namespaces[key] = {namespace}
        elif len(seen) < MAX_NAMESPACES:
            seen.add(namespace)

    def __bool__(self) -> bool:
        return bool(self.edges or self.services or self.unmatched)

    def drop_unstorable(self) -> int:
        """Remove the rows naming something no database can store (text that is not valid
        UTF-8, such as a lone surrogate, or that holds a NUL); returns how many were removed."""
        bad_edges = [key for key, edge in self.edges.items()
                     if not storable(*key[1:], edge.client_kind, edge.server_kind)]
        bad_services = [key for key in self.services if not storable(*key[1:])]
        bad_hints = [service for service, hints in self.hints.items()
                     if not storable(service, *hints, *hints.values())]
        bad_namespaces = [key for key, seen in self.namespaces.items() if not storable(key[1], *seen)]
        for nkey in bad_namespaces:
            del self.namespaces[nkey]
        for key in bad_edges:
            del self.edges[key]
        for skey in bad_services:
            del self.services[skey]
        for service in bad_hints:
            del self.hints[service]
        return len(bad_edges) + len(bad_services) + len(bad_hints) + len(bad_namespaces)


def storable(*texts: str) -> bool:
    """Whether every text can be written to SQLite and PostgreSQL (UTF-8 encodable, no NUL)."""
    for text in texts:
        if "\x00" in text:
            return False
        try:
            text.encode("utf-8")
        except UnicodeEncodeError:
            return False
    return True


@dataclass
class AggregatorStats:
    """Counters exposed as metrics."""

    dropped_services: int = 0
    dropped_edges: int = 0
    other_environments: int = 0  # spans and calls of environments beyond the cap, counted as `other`


class Aggregator:
    """Implements the call detector's sink; one owner thread.

    Caps bound everything that grows with the input (names are counted since the process
    started): `max_services` distinct node names of every kind (services and virtual nodes:
    databases, queues, external hosts, peer services, the user), `max_edges` distinct
    (client, server, connection type) and `max_environments` distinct environments. Beyond the
    first two, new names are dropped; spans and calls of further environments count under
    `other`. Each is counted (AggregatorStats) and logged at most once a minute.
    """

    def __init__(
        self, bucket_seconds: int = 300, max_services: int = DEFAULT_MAX_SERVICES,
        max_edges: int = DEFAULT_MAX_EDGES, max_environments: int = DEFAULT_MAX_ENVIRONMENTS,
    ) -> None:
        self.bucket_ns, self.bucket_seconds = bucket_seconds * 1_000_000_000, bucket_seconds
        self.max_services, self.max_edges, self.max_environments = max_services, max_edges, max_environments
        self.stats = AggregatorStats()
        self._known_nodes: set[str] = set()
        self._known_environments: set[str] = set()
        self._known_edges: set[tuple[str, str, str]] = set()
        self._batch = AggregateBatch()
        self._last_warning: dict[str, float] = {}
        self._last_resource: Resource | None = None
        self._last_environment = ("", False)  # the last resource's environment, as counted

    def signal(self, span: Span, signal: str) -> None:
        """An instrumentation signal of the span's service (graph.unmatched.SIGNALS; `unmatched_in`:
        a SERVER span whose parent never arrived, also a call from a caller that never reports)."""
        env = span.resource.environment
        env = env if env in self._known_environments else self._environment(env)
        key = ((span.start_ns // self.bucket_ns) * self.bucket_seconds, span.resource.service, env)
        count_signal(self._batch.unmatched, key, signal, span.error, span.duration_s)

    def sighting(self, span: Span) -> None:
        """Count one span of its service."""
        self.sightings((span,))

    def sightings(self, spans: Iterable[Span]) -> None:
        """Count each span of its service.

        One loop per batch (the ingest hot path): spans arrive grouped by resource, so the cap and the hints
        are checked once per group, and the aggregate of the previous span is reused while the resource and
        the time bucket stay the same; `service.namespace` is noted once per group and bucket.
        """
        bucket_ns, bucket_seconds = self.bucket_ns, self.bucket_seconds
        services = self._batch.services
        known = self._known_nodes
        environments = self._known_environments
        last_resource = self._last_resource
        environment, folded = self._last_environment  # folded: it counts under `other`
        other = 0
        last_bucket = -1
        agg: ServiceAggregate | None = None
        namespace = last_resource.hints.get(NAMESPACE_KEY, "") if last_resource is not None else ""
        for span in spans:
            resource = span.resource
            ts = span.start_ns
            bucket = ts // bucket_ns
            if resource is not last_resource:
                service = resource.service
                if service not in known:
                    if len(known) >= self.max_services:
                        self.stats.dropped_services += 1
                        self._warn_cap("max_services", self.max_services, service)
                        continue
                    known.add(service)
                environment = resource.environment
                folded = False
                if environment not in environments:
                    environment = self._environment(environment)
                    folded = environment is OTHER_ENVIRONMENT
                hints = self._batch.hints
                if resource.hints or service not in hints:
                    hints[service] = resource.hints  # the latest non-empty hints win
                namespace = resource.hints.get(NAMESPACE_KEY, "")
                last_resource = resource
                agg = None
            if agg is None or bucket != last_bucket:
                key = (bucket * bucket_seconds, resource.service, environment)
                agg = services.get(key)
                if agg is None:
                    agg = services[key] = ServiceAggregate(ts)
                if namespace:
                    self._batch.add_namespace((key[0], key[1]), namespace)
                last_bucket = bucket
            agg.spans += 1
            if span.error:
                agg.errors += 1
            if ts < agg.first_ns:
                agg.first_ns = ts
            elif ts > agg.last_ns:
                agg.last_ns = ts
            if folded:
                other += 1
        self._last_resource = last_resource
        self._last_environment = (environment, folded)
        self.stats.other_environments += other

    def call(self, call: Call) -> None:
        """Count one call client → server (the ingest hot path: each field is read once)."""
        environment = call.environment
        if environment not in self._known_environments:
            environment = self._environment(environment)
            if environment is OTHER_ENVIRONMENT:
                self.stats.other_environments += 1
        ts_ns, client, server = call.ts_ns, call.client, call.server
        key = ((ts_ns // self.bucket_ns) * self.bucket_seconds, client, server, call.connection_type, environment)
        edges = self._batch.edges
        agg = edges.get(key)
        if agg is None:
            identity = (client, server, call.connection_type)
            if identity not in self._known_edges:
                if len(self._known_edges) >= self.max_edges:
                    self.stats.dropped_edges += 1
                    self._warn_cap("max_edges", self.max_edges, f"{client} -> {server}")
                    return
                if not self._admit_nodes(client, server):
                    return
                self._known_edges.add(identity)
            # The batch holds plain str values (once per new row, not per call): drivers get exact str, which
            # sqlite3 binds without trying adapters, and psycopg never dumps an Enum by its name.
            key = (key[0], client, server, str(call.connection_type), environment)
            agg = edges[key] = EdgeAggregate(str(call.client_kind), str(call.server_kind), ts_ns)
        agg.calls += 1
        if call.failed:
            agg.failed += 1
        client_seconds, server_seconds, queue_seconds = call.client_seconds, call.server_seconds, call.queue_seconds
        if client_seconds is not None:
            agg.client_hist[bisect_left(LATENCY_BUCKETS, client_seconds)] += 1
            agg.client_sum += client_seconds
        if server_seconds is not None:
            agg.server_hist[bisect_left(LATENCY_BUCKETS, server_seconds)] += 1
            agg.server_sum += server_seconds
        if queue_seconds is not None:
            agg.queue_sum += queue_seconds
            agg.queue_count += 1
        if ts_ns < agg.first_ns:
            agg.first_ns = ts_ns
        elif ts_ns > agg.last_ns:
            agg.last_ns = ts_ns
        if len(agg.exemplars) < MAX_EXEMPLARS:
            exemplar = call.trace_id.hex()
            if exemplar not in agg.exemplars:
                agg.exemplars.append(exemplar)
        named = call.destination
        if named is not None and len(agg.destinations) < MAX_DESTINATIONS and named not in agg.destinations:
            agg.destinations.append(named)

    def _admit_nodes(self, client: str, server: str) -> bool:
        """Remember both ends of a new edge, or neither (and count the call dropped) at max_services."""
        known = self._known_nodes
        new = {client, server} - known
        if not new:
            return True
        if len(known) + len(new) > self.max_services:
            self.stats.dropped_services += 1
            self._warn_cap("max_services", self.max_services, sorted(new)[0])
            return False
        known |= new
        return True

    def _environment(self, environment: str) -> str:
        """An environment not seen before: remembered, or `other` beyond max_environments."""
        known = self._known_environments
        if len(known) < self.max_environments:
            known.add(environment)
            return environment
        self._warn_cap("max_environments", self.max_environments, environment)
        return OTHER_ENVIRONMENT

    def _warn_cap(self, setting: str, limit: int, example: str) -> None:
        """Log a cap being hit, at most once a minute per cap."""
        now = time.monotonic()
        if now - self._last_warning.get(setting, -60.0) >= 60.0:
            self._last_warning[setting] = now
            log.warning("%s=%d reached: new names such as %r are dropped (environments: counted as %r); "
                        "see ownermap_services_dropped_total, ownermap_edges_dropped_total and "
                        "ownermap_environments_other_total", setting, limit, example[:200], OTHER_ENVIRONMENT)

    def drain(self) -> AggregateBatch:
        """Hand over everything counted since the last drain."""
        batch, self._batch = self._batch, AggregateBatch()
        self._last_resource = None  # the next batch's hints start afresh
        return batch

    def restore(self, batch: AggregateBatch) -> None:
        """Put back a batch the store failed to write, so nothing is lost."""
        current = self._batch
        for key, edge in batch.edges.items():
            newer = current.edges.get(key)
            if newer is not None:
                edge.merge(newer)
            current.edges[key] = edge
        for key, svc in batch.services.items():
            newer_svc = current.services.get(key)
            if newer_svc is not None:
                svc.merge(newer_svc)
            current.services[key] = svc
        for service, hints in batch.hints.items():
            current.hints.setdefault(service, hints)
        merge_unmatched(current.unmatched, batch.unmatched)
        for nkey, seen in batch.namespaces.items():
            for namespace in sorted(seen):
                current.add_namespace(nkey, namespace)
