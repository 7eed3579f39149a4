"""The call detector: turns spans into calls between services (DESIGN §2, "Edge rules").

Every span waits in a span index keyed by (trace id, span id) for `ttl` seconds, so halves
of a call can arrive in any order and in different requests. Children whose parent has not
arrived yet, and consumers whose linked producer has not arrived yet, wait the same way.
Expiry runs on `expire()`, driven by a replaceable clock (tests use a fake one).
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable, Iterable

from collector.addresses import AddressBook, learn_pair, resolve
from collector.call_sink import CallSink, DetectorStats, remove_waiting
from collector.hygiene import first_name, present
from collector.messaging import HeldMessages, destination, producer_target
from graph.model import (
    DATABASE_NAME_ORDER,
    DB_KEYS,
    MAX_TIME_NS,
    MESSAGING_DESTINATION,
    PEER_SERVICE_KEYS,
    SERVER_ADDRESS,
    USER_NODE,
    Call,
    ConnectionType,
    NodeKind,
    Span,
    SpanKind,
)

_SERVER = SpanKind.SERVER.value
_CLIENT = SpanKind.CLIENT.value
_PRODUCER = SpanKind.PRODUCER.value
_CONSUMER = SpanKind.CONSUMER.value
_CALLER_KINDS = frozenset({_CLIENT, _PRODUCER})
_CALLEE_KINDS = frozenset({_SERVER, _CONSUMER})
# Module constants: a global lookup is far cheaper than an enum member lookup in the per-call paths.
_RPC, _MESSAGING, _INFERRED = ConnectionType.RPC, ConnectionType.MESSAGING, ConnectionType.INFERRED
_DATABASE, _VIRTUAL, _ENTRY = ConnectionType.DATABASE, ConnectionType.VIRTUAL, ConnectionType.ENTRY
_SERVICE_NODE, _DATABASE_NODE, _QUEUE_NODE = NodeKind.SERVICE, NodeKind.DATABASE, NodeKind.MESSAGING
_EXTERNAL_NODE, _USER_NODE = NodeKind.EXTERNAL, NodeKind.USER

# What waits in the expiry queue (_KEPT: producers kept for messaging_ttl, in the slow queue).
_INDEXED, _ORPHAN, _LINK, _KEPT = 0, 1, 2, 3


_DB_KEYS = frozenset(DB_KEYS)


def _is_database(span: Span) -> bool:
    attrs = span.attrs
    if _DB_KEYS.isdisjoint(attrs):  # C-level, unlike any() over a generator: the usual answer
        return False
    return any(map(present, map(attrs.get, DB_KEYS)))  # rule 13: `db.system: ""` is no database


_CLIENT_PEER_KEYS = (*PEER_SERVICE_KEYS, SERVER_ADDRESS)


class CallDetector:
    """Pairs spans into calls and emits them to a sink. Not thread-safe: one owner thread."""

    def __init__(
        self,
        sink: CallSink,
        ttl: float = 5.0,
        max_pending: int = 200_000,
        clock: Callable[[], float] = time.monotonic,
        database_at_once: bool = False,
        entry_node: str = USER_NODE,
        messaging_ttl: float | None = None,
        addresses: AddressBook | None = None,
    ) -> None:
        self.sink, self.ttl, self.max_pending, self.clock = sink, ttl, max_pending, clock
        self.database_at_once, self.entry_node = database_at_once, entry_node
        self.addresses, self._now = addresses if addresses is not None else AddressBook(), 0.0  # rule 9; clock at add()
        # Rule 10: producer spans stay indexed this long (never shorter than the TTL), for lagging queues.
        self.messaging_ttl = max(ttl, messaging_ttl if messaging_ttl is not None else ttl)
        self._held = HeldMessages(self._emit_held)
        self.stats, self._index = DetectorStats(), {}
        self._orphans: dict[bytes, list[Span]] = {}
        self._link_waits: dict[bytes, list[Span]] = {}
        # Entries [expires, what, items, position]: one per batch (and purpose), expired in order.
        self._queue: deque[list] = deque()  # type: ignore[type-arg]
        self._slow: deque[list] = deque()  # type: ignore[type-arg]  # producers kept for messaging_ttl
        self._waiting = 0  # children waiting for a parent plus consumers waiting for a producer

    @property
    def pending(self) -> int:
        """Spans in the index plus children and consumers still waiting for their other half."""
        return len(self._index) + self._waiting

    # ------------------------------------------------------------------ arrival

    def add(self, spans: Iterable[Span]) -> None:
        """Index a batch of spans, emitting every call they complete.

        Two passes over the batch (this is the ingest hot path): the first indexes every new
        span, so the second finds a parent sent later in the same batch directly instead of
        parking the child as an orphan; the spans of one trace usually travel together.
        """
        self._now = now = self.clock()
        expires = now + self.ttl
        index = self._index
        stats = self.stats
        fresh: list[Span] = []
        append = fresh.append
        # The index holds up to max_pending spans and each probe of it is a cache miss; this batch's
        # own spans also go into a small dict, where the second pass finds most parents.
        batch_index: dict[bytes, Span] = {}
        for span in spans:
            if not 0 < span.start_ns <= MAX_TIME_NS or span.end_ns > MAX_TIME_NS:
                stats.invalid += 1  # decoders reject these; never let one reach the store
                continue
            key = span.trace_id + span.span_id
            if key in index:
                stats.duplicates += 1  # a resent span (exporter retry) is counted once
                continue
            index[key] = span  # the same slot as the probe just before: cheap
            span.key = key
            batch_index[key] = span
            append(span)
        if not fresh:
            return
        stats.spans += len(fresh)
        self.sink.sightings(fresh)
        orphans = self._orphans
        link_waits = self._link_waits
        parked: list[tuple[bytes, Span]] = []  # children whose parent has not arrived
        pair = self._pair
        database_at_once = self.database_at_once
        callers: list[Span] = []  # CLIENT and PRODUCER spans, the ones named by their attributes
        for span in fresh:
            kind = span.kind
            if kind in _CALLER_KINDS:
                callers.append(span)
            if span.parent_id:
                parent_key = span.trace_id + span.parent_id
                parent = batch_index.get(parent_key) or index.get(parent_key)
                if parent is not None:
                    pair(parent, span)
                else:
                    orphans.setdefault(parent_key, []).append(span)
                    parked.append((parent_key, span))
            elif kind in _CALLEE_KINDS:
                self._entry(span)
            if orphans:  # children of earlier batches waiting for this span
                waiting = orphans.pop(span.key, None)
                if waiting:
                    self._waiting -= len(waiting)
                    for child in waiting:
                        pair(span, child)
            if kind == _CONSUMER and span.links:
                self._link_consumer(span, expires)
            if kind == _PRODUCER and link_waits:
                consumers = link_waits.pop(span.key, None)
                if consumers:
                    self._waiting -= len(consumers)
                    for consumer in consumers:
                        self._link_call(span, consumer)
            if database_at_once and kind == _CLIENT and _is_database(span):
                self._expired(span)
        # Attributes a decoder left unread (collector/decode.py): a span still unpaired may need them
        # when it expires; a paired one never will. Either way the span lets go of the request.
        for span in callers:  # producers keep theirs: a later consumer's call names their destination
            span.settle_attrs(not span.paired or span.kind == _PRODUCER)
        # One expiry-queue entry per batch and purpose rather than one per span: the TTL is the same
        # for the whole batch, and expiring a list is far cheaper than a deque of small tuples.
        if parked:
            self._waiting += len(parked)
            self._queue.append([expires, _ORPHAN, parked, 0])
        self._queue.append([expires, _INDEXED, fresh, 0])
        if self.pending > self.max_pending:
            self._expire_oldest()

    def _pair(self, parent: Span, child: Span) -> None:
        """Rule 1: a parent/child pair across services is one call; rule 6 for self-calls."""
        pk, ck = parent.kind, child.kind
        presource, cresource = parent.resource, child.resource
        if presource.service == cresource.service and not (pk in _CALLER_KINDS and ck in _CALLEE_KINDS):
            if pk == _CLIENT and ck == _CLIENT:  # rule 9: a wrapper is no call; its attributes may be learned
                parent.paired = True
                parent.attrs  # noqa: B018  (read now, before the request is let go of)
            return
        if pk == _CLIENT and presource.service != cresource.service and self.addresses.due(
                presource.service, cresource.service, presource.environment, self._now):
            learn_pair(self.addresses, parent, cresource.service, self._index)
        queue_seconds = None
        if pk == _PRODUCER or ck == _CONSUMER:
            ctype = _MESSAGING
            failed = child.error or parent.error
            delay = child.start_ns - parent.end_ns
            if delay > 0:
                queue_seconds = delay / 1e9
        elif pk == _CLIENT and ck == _SERVER:
            ctype = _RPC
            failed = child.error or parent.error
        else:
            ctype = _INFERRED
            failed = child.error
        parent.paired = True
        # Durations computed inline rather than through Span.duration_s: one call per pair saved.
        client_seconds = None
        if pk in _CALLER_KINDS:
            d = parent.end_ns - parent.start_ns
            client_seconds = d / 1e9 if d > 0 else 0.0
        d = child.end_ns - child.start_ns
        call = Call(
            parent.start_ns, presource.service, _SERVICE_NODE, cresource.service, _SERVICE_NODE, ctype,
            presource.environment or cresource.environment, failed, client_seconds,
            d / 1e9 if d > 0 else 0.0, child.trace_id, queue_seconds,
        )
        if pk == _PRODUCER and ck == _CONSUMER:  # rule 10: receive + process of one service are one call
            call.destination = destination(parent.attrs)
            self._held.offer(parent.key, call, child.start_ns, self.clock() + self.ttl)
            return
        self.stats.calls += 1
        self.sink.call(call)

    def _emit_held(self, call: Call) -> None:
        self.stats.calls += 1
        self.sink.call(call)

    def _entry(self, span: Span) -> None:
        """Rule 5: a SERVER or CONSUMER span without a parent is called from a virtual client."""
        attrs = span.attrs
        name = first_name(attrs, PEER_SERVICE_KEYS)
        kind = _EXTERNAL_NODE
        if name is None and span.kind == _CONSUMER:
            name = first_name(attrs, (MESSAGING_DESTINATION,))
            kind = _QUEUE_NODE
        if name is None:
            name, kind = self.entry_node, _USER_NODE
        self.stats.calls += 1
        self.sink.call(Call(
            span.start_ns, name, kind, span.resource.service, _SERVICE_NODE, _ENTRY,
            span.resource.environment, span.error, None, span.duration_s, span.trace_id,
        ))

    def _link_consumer(self, consumer: Span, expires: float) -> None:
        """Rule 2: each link of a CONSUMER to a PRODUCER of another service is a call."""
        parent_key = consumer.trace_id + consumer.parent_id if consumer.parent_id else b""
        seen: set[bytes] = set()
        for trace_id, span_id in consumer.links:
            link_key = trace_id + span_id
            if link_key == parent_key or link_key in seen:
                continue  # already paired by the parent/child rule
            seen.add(link_key)
            producer = self._index.get(link_key)
            if producer is not None:
                self._link_call(producer, consumer)
            else:
                self._link_waits.setdefault(link_key, []).append(consumer)
                self._queue.append([expires, _LINK, [(link_key, consumer)], 0])
                self._waiting += 1

    def _link_call(self, producer: Span, consumer: Span) -> None:
        if producer.kind != _PRODUCER or producer.resource.service == consumer.resource.service:
            return
        delay = consumer.start_ns - producer.end_ns
        producer.paired = True
        call = Call(
            producer.start_ns, producer.resource.service, _SERVICE_NODE, consumer.resource.service,
            _SERVICE_NODE, _MESSAGING, producer.resource.environment or consumer.resource.environment,
            consumer.error or producer.error, producer.duration_s, consumer.duration_s,
            consumer.trace_id, delay / 1e9 if delay > 0 else None, destination(producer.attrs),
        )
        self._held.offer(producer.key, call, consumer.start_ns, self.clock() + self.ttl)

    # ------------------------------------------------------------------ expiry

    def expire(self, now: float | None = None) -> None:
        """Expire every entry whose TTL has passed."""
        now = self.clock() if now is None else now
        for queue in (self._queue, self._slow):
            while queue and queue[0][0] <= now:
                self._expire_entry(queue.popleft(), -1)
        self._held.flush(now)

    def expire_all(self) -> None:
        """Expire everything pending (shutdown, end of a file import)."""
        for queue in (self._queue, self._slow):
            while queue:
                self._expire_entry(queue.popleft(), -1)
        self._held.flush()

    def _expire_oldest(self) -> None:
        """Expire the oldest live entries until the index is back within max_pending."""
        excess = self.pending - self.max_pending
        for queue in (self._slow, self._queue):  # producers kept for messaging_ttl are the oldest
            while excess > 0 and queue:
                entry = queue[0]
                live = self._expire_entry(entry, excess)
                self.stats.expired_early += live
                excess -= live
                if entry[3] >= len(entry[2]):
                    queue.popleft()

    def _expire_entry(self, entry: list, budget: int) -> int:  # type: ignore[type-arg]
        """Expire the items of one queue entry `[expires, what, items, position]` from its position
        on, stopping once `budget` live items expired (-1: no limit). Returns how many were live;
        items already resolved (paired, or expired before) are skipped and not counted."""
        expires, what, items, pos = entry
        end = len(items)
        live = 0
        if what in (_INDEXED, _KEPT):
            # Producers wait longer on a normal expiry (rule 10); an early one (a budget) takes them too.
            kept: list[Span] | None = [] if budget < 0 and what == _INDEXED and self.messaging_ttl > self.ttl else None
            if budget < 0:
                budget = end - pos
            # Expire in slices of at most the remaining budget (usually the whole rest of the entry in
            # one go): never more live spans than asked, and a plain loop for the common case.
            while pos < end and live < budget:
                take = min(budget - live, end - pos)
                live += self._expire_spans(items[pos:pos + take], kept)
                pos += take
            if kept:
                self._slow.append([expires - self.ttl + self.messaging_ttl, _KEPT, kept, 0])
        else:
            table, unmatched = (self._orphans if what == _ORPHAN else self._link_waits), 0
            while pos < end and live != budget:
                key, span = items[pos]
                pos += 1
                if not remove_waiting(table, key, span):
                    continue
                live += 1
                if what == _ORPHAN and span.kind in _CALLEE_KINDS:
                    unmatched += 1  # rule 11: a SERVER one is a call from a caller that never reports
                    self.sink.signal(span, "unmatched_in" if span.kind == _SERVER else "unmatched")
            self._waiting -= live
            self.stats.unmatched += unmatched
        entry[3] = pos
        return live

    def _expire_spans(self, spans: list[Span], kept: list[Span] | None = None) -> int:
        """Take indexed spans out of the index, applying rules 3 and 4; returns how many were live.
        With `kept`, PRODUCER spans stay indexed and are added to it instead (rule 10)."""
        index = self._index
        pop = index.pop
        expired = self._expired
        live = 0
        for span in spans:
            if kept is not None and span.kind == _PRODUCER and index.get(span.key) is span:
                kept.append(span)
                continue
            found = pop(span.key, None)  # one probe of the large index rather than get + del
            if found is span:
                live += 1
                if not span.paired and span.kind in _CALLER_KINDS:
                    expired(span)
            elif found is not None:
                index[found.key] = found  # not this entry's span (each key is indexed by one entry)
        return live

    def _expired(self, span: Span) -> None:
        """Rules 3 and 4: a CLIENT/PRODUCER span (callers check the kind) that never got a
        cross-service child."""
        kind = span.kind
        attrs = span.attrs
        if kind == _CLIENT and _is_database(span):
            name = first_name(attrs, DATABASE_NAME_ORDER)
            node_kind, ctype, named = _DATABASE_NODE, _DATABASE, None
        elif kind == _CLIENT:
            call = resolve(self.addresses, span)
            if call is not None:  # rule 9: a learned address of exactly one service
                span.paired = True
                self.stats.resolved += 1
                self.stats.calls += 1
                self.sink.call(call)
                self.sink.signal(span, "resolved")
                return
            name = first_name(attrs, _CLIENT_PEER_KEYS)
            node_kind, ctype, named = _EXTERNAL_NODE, _VIRTUAL, None
        else:
            name, node_kind, named = producer_target(attrs)
            ctype = _MESSAGING
        span.paired = True
        if name is None:
            self.stats.unpaired += 1
            self.sink.signal(span, "unpaired")
            return
        self.stats.calls += 1
        self.sink.call(Call(
            span.start_ns, span.resource.service, _SERVICE_NODE, name, node_kind, ctype,
            span.resource.environment, span.error, span.duration_s, None, span.trace_id, None,
            named if kind == _PRODUCER else None,
        ))
