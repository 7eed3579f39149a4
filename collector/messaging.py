"""Messaging (DESIGN §2 rule 10): which node a PRODUCER names, and one call per consumer service.

A producer's virtual node is its destination (`messaging.destination.name`), so the queues of one
broker are apart; a temporary or anonymous destination is named by its template, else the broker's
peer attribute names the node. Receive and process CONSUMER spans of one service that both point at
one producer span are one call: `HeldMessages` keeps each producer → consumer-service call for the
pairing TTL, merging the consumer spans that arrive meanwhile.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable

from collector.hygiene import first_name
from graph.model import (
    MESSAGING_DESTINATION,
    MESSAGING_TEMPLATE,
    MESSAGING_TEMPORARY_FLAGS,
    PEER_SERVICE_KEYS,
    SERVER_ADDRESS,
    Call,
    NodeKind,
)

_BROKER_KEYS = (*PEER_SERVICE_KEYS, SERVER_ADDRESS)


def destination(attrs: dict[str, str]) -> str | None:
    """The destination a PRODUCER span names: its name, or for a temporary or anonymous one its
    template (None when neither is usable)."""
    if any(attrs.get(flag, "").strip().lower() == "true" for flag in MESSAGING_TEMPORARY_FLAGS):
        return first_name(attrs, (MESSAGING_TEMPLATE,))
    return first_name(attrs, (MESSAGING_DESTINATION,))


def producer_target(attrs: dict[str, str]) -> tuple[str | None, NodeKind, str | None]:
    """A PRODUCER span without a consumer: (node name, node kind, destination) — the destination
    first (kind messaging), else the broker's peer attribute (kind external)."""
    named = destination(attrs)
    if named is not None:
        return named, NodeKind.MESSAGING, named
    return first_name(attrs, _BROKER_KEYS), NodeKind.EXTERNAL, None


class HeldMessages:
    """Producer → consumer calls held `ttl` seconds, one per (producer span, consumer service)."""

    def __init__(self, emit: Callable[[Call], None]) -> None:
        self._emit = emit
        self._held: dict[tuple[bytes, str], tuple[Call, int]] = {}  # → (call, its consumer's start)
        self._queue: deque[tuple[float, tuple[bytes, str]]] = deque()

    def __len__(self) -> int:
        return len(self._held)

    def offer(self, producer_key: bytes, call: Call, consumer_start_ns: int, expires: float) -> None:
        """A call from one producer span to one consumer span: held, or merged into the held call of
        the same consumer service (the earliest consumer gives the latency; failed if either did)."""
        key = (producer_key, call.server)
        held = self._held.get(key)
        if held is None:
            self._held[key] = (call, consumer_start_ns)
            self._queue.append((expires, key))
            return
        first, first_start = held
        if consumer_start_ns < first_start:
            first.server_seconds, first.queue_seconds = call.server_seconds, call.queue_seconds
            self._held[key] = (first, consumer_start_ns)
        first.failed = first.failed or call.failed

    def flush(self, now: float | None = None) -> None:
        """Emit the held calls whose time is up (all of them when `now` is None)."""
        queue, held = self._queue, self._held
        while queue and (now is None or queue[0][0] <= now):
            entry = held.pop(queue.popleft()[1], None)
            if entry is not None:
                self._emit(entry[0])
