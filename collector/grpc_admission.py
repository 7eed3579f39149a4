"""Admission for OTLP/gRPC Export calls: a bound on calls in progress and on the request bytes they hold.

A call is admitted (or refused) when it arrives, from its metadata alone, before its message is
read; a refused call costs the server no more than what HTTP/2 flow control lets its stream buffer.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass

import grpc


@dataclass(frozen=True)
class Refusal:
    """Why a call is refused: a retryable gRPC status code and its message."""

    code: grpc.StatusCode
    message: str


class ExportAdmission:
    """At most `max_calls` Export calls in progress, holding at most `max_bytes` request bytes together.

    One call alone may always hold one message up to the receive limit, so the largest allowed
    request is never refused for good.
    """

    def __init__(self, max_calls: int, max_bytes: int) -> None:
        self.max_calls = max_calls
        self.max_bytes = max_bytes
        self.calls = 0
        self.held = 0
        self.refused = 0
        self._lock = threading.Lock()

    def enter(self) -> Refusal | None:
        """Admit one call (None) or say why not; an admitted call must `leave` once."""
        with self._lock:
            if self.calls >= self.max_calls:
                self.refused += 1
                return Refusal(grpc.StatusCode.UNAVAILABLE,
                               f"{self.calls} exports in progress (the limit); retry later")
            if self.held >= self.max_bytes:
                self.refused += 1
                return Refusal(grpc.StatusCode.RESOURCE_EXHAUSTED,
                               f"{self.held} request bytes in progress (the limit is {self.max_bytes}); retry later")
            self.calls += 1
            return None

    def hold(self, size: int) -> Refusal | None:
        """Account for an admitted call's message of `size` bytes, or refuse it when over the byte budget."""
        with self._lock:
            if self.held and self.held + size > self.max_bytes:
                self.refused += 1
                return Refusal(grpc.StatusCode.RESOURCE_EXHAUSTED,
                               f"{self.held + size} request bytes in progress (the limit is {self.max_bytes}); "
                               "retry later")
            self.held += size
            return None

    def leave(self, held: int = 0) -> None:
        """An admitted call ended; `held` is what its `hold` added (0 if refused or never read)."""
        with self._lock:
            self.calls -= 1
            self.held -= held
