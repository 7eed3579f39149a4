"""Learned addresses (DESIGN §2 rule 9): the peer values under which a service answered.

When a CLIENT span pairs with a span of another service S, its peer values (`service.peer.name`,
`peer.service`, `server.address`, `network.peer.address`) are addresses of S, per environment,
with the (wall-clock) time last seen. A CLIENT span that later expires unpaired, with a peer value
learned for exactly one service, is a call to that service. `AddressBook` is the ingest process's
bounded copy; the store keeps them for every process (`AddressSync` writes new ones and reloads).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from typing import Protocol

from collector.hygiene import names_a_node
from graph.model import (
    NETWORK_PEER_ADDRESS,
    PEER_SERVICE_KEYS,
    SERVER_ADDRESS,
    Call,
    ConnectionType,
    NodeKind,
    Span,
    SpanKind,
)

ADDRESS_KEYS = (*PEER_SERVICE_KEYS, SERVER_ADDRESS, NETWORK_PEER_ADDRESS)
AddressRow = tuple[str, str, str, int]  # address, environment, service, last seen (Unix seconds)
DAY = 86_400.0
_CLIENT = SpanKind.CLIENT.value


class AddressBook:
    """Address → {(environment, service): last seen}, bounded to `max_addresses` addresses."""

    def __init__(self, memory_seconds: float = 7 * DAY, max_addresses: int = 100_000,
                 learn_every: float = 30.0, clock: Callable[[], float] = time.time) -> None:
        self.memory_seconds = memory_seconds
        self.max_addresses = max_addresses
        self.learn_every = learn_every  # seconds between two learnings of one (caller, callee, env)
        self.clock = clock
        self.dropped = 0  # addresses not kept because the book was full
        self._seen: dict[str, dict[tuple[str, str], float]] = {}
        self._fresh: dict[tuple[str, str, str], float] = {}  # learned here, not yet in the store
        self._last_learned: dict[tuple[str, str, str], float] = {}

    def __len__(self) -> int:
        return len(self._seen)

    def due(self, caller: str, callee: str, environment: str, now: float) -> bool:
        """Whether a pair caller → callee should be learned from now (at most once per `learn_every`;
        reading a paired span's attributes is what this spares)."""
        key = (caller, callee, environment)
        last = self._last_learned.get(key)
        if last is not None and now - last < self.learn_every:
            return False
        if len(self._last_learned) >= self.max_addresses:
            self._last_learned.clear()
        self._last_learned[key] = now
        return True

    def learn(self, address: str, environment: str, service: str) -> None:
        """`service` answered at `address` now."""
        now = self.clock()
        if self._put(address, environment, service, now):
            self._fresh[(address, environment, service)] = now

    def _put(self, address: str, environment: str, service: str, seen: float) -> bool:
        services = self._seen.get(address)
        if services is None:
            if len(self._seen) >= self.max_addresses:
                self.dropped += 1
                return False
            services = self._seen[address] = {}
        key = (environment, service)
        if services.get(key, 0.0) < seen:
            services[key] = seen
        return True

    def services(self, address: str, environment: str) -> list[str]:
        """The services `address` is a live address of: those of `environment` when there are any,
        else those of any environment (several: an ambiguous address)."""
        entries = self._seen.get(address)
        if not entries:
            return []
        cutoff = self.clock() - self.memory_seconds
        live = [(env, svc) for (env, svc), seen in entries.items() if seen >= cutoff]
        same = sorted({svc for env, svc in live if env == environment})
        return same or sorted({svc for _, svc in live})

    def take_fresh(self) -> list[AddressRow]:
        """What was learned since the last call, for the store."""
        fresh, self._fresh = self._fresh, {}
        return [(a, e, s, int(t)) for (a, e, s), t in sorted(fresh.items())]

    def load(self, rows: Iterable[AddressRow]) -> None:
        """Take in what the store holds (every process's learnings), forgetting what expired."""
        cutoff = self.clock() - self.memory_seconds
        for address in list(self._seen):
            kept = {k: t for k, t in self._seen[address].items() if t >= cutoff}
            if kept:
                self._seen[address] = kept
            else:
                del self._seen[address]
        for address, environment, service, seen in rows:
            if seen >= cutoff:
                self._put(address, environment, service, float(seen))


class AddressStore(Protocol):
    """What `AddressSync` needs of the store."""

    def write_addresses(self, rows: list[AddressRow], forget_before: int) -> None:
        """Upsert learned addresses (latest time wins) and delete those last seen before a time."""

    def learned_addresses(self, since: int) -> list[AddressRow]:
        """Addresses last seen at or after `since`."""


class AddressSync:
    """Writes an AddressBook's new learnings with each flush; reloads it every `refresh_seconds`."""

    def __init__(self, book: AddressBook, refresh_seconds: float = 60.0) -> None:
        self.book = book
        self.refresh_seconds = refresh_seconds
        self._loaded = float("-inf")

    def sync(self, store: AddressStore) -> None:
        """Write what is new (forgetting what is older than the memory); reload when due."""
        book = self.book
        now = book.clock()
        fresh = book.take_fresh()
        due = now - self._loaded >= self.refresh_seconds
        if fresh or due:
            try:
                store.write_addresses(fresh, int(now - book.memory_seconds))
            except Exception:
                for address, env, service, seen in fresh:  # kept for the next flush
                    book._fresh[(address, env, service)] = float(seen)
                raise
        if due:
            self._loaded = now
            book.load(store.learned_addresses(int(now - book.memory_seconds)))


def _values(attrs: dict[str, str]) -> list[str]:
    return [value for key in ADDRESS_KEYS if (value := attrs.get(key)) and names_a_node(value)]


def learn_pair(book: AddressBook, client: Span, service: str, index: dict[bytes, Span]) -> None:
    """Rule 9: a CLIENT span reached `service`: its peer values are addresses of it, and so are
    those of a wrapper CLIENT span of the same service around it."""
    environment = client.resource.environment
    for value in _values(client.attrs):
        book.learn(value, environment, service)
    if client.parent_id:
        wrapper = index.get(client.trace_id + client.parent_id)
        if wrapper is not None and wrapper.kind == _CLIENT and wrapper.resource.service == client.resource.service:
            for value in _values(wrapper.attrs):
                book.learn(value, environment, service)


def resolve(book: AddressBook, span: Span) -> Call | None:
    """Rule 9: the call an unpaired CLIENT span made to the one service its address is learned for
    (`rpc`, failed per the span's status, client latency only). The first peer value learned at all
    decides; one learned for several services (ambiguous) leaves the span to rule 4."""
    for value in _values(span.attrs):
        services = book.services(value, span.resource.environment)
        if services:
            if len(services) > 1:
                return None
            return Call(span.start_ns, span.resource.service, NodeKind.SERVICE, services[0], NodeKind.SERVICE,
                        ConnectionType.RPC, span.resource.environment, span.error, span.duration_s, None,
                        span.trace_id)
    return None
