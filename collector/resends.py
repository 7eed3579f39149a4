"""Recognising a batch the pipeline already took: exporters resend after a timeout or an error.

The span index recognises resent spans only while they wait in it (`pairing_ttl`); a resend after
a database stall comes later than that. So the pipeline also remembers a digest of each batch it
took, for longer than exporters keep retrying, and takes a batch with a known digest only once.
"""

from __future__ import annotations

import hashlib
from collections import OrderedDict
from collections.abc import Callable, Sequence

from graph.model import Span

# Exporters give up after 5 minutes by default (the OpenTelemetry Collector's retry_on_failure
# max_elapsed_time); a batch is remembered for twice that.
RESEND_SECONDS = 600.0
# At most this many digests (about 150 bytes each): the oldest go first when there are more.
RESEND_BATCHES = 100_000


def batch_digest(spans: Sequence[Span]) -> bytes:
    """A digest of the identities (trace id, span id) of a batch's spans, in order."""
    ids = b"".join([span.trace_id + span.span_id for span in spans])
    return hashlib.blake2b(ids, digest_size=16).digest()


class RecentBatches:
    """Digests of the batches taken recently, each forgotten `seconds` after it was first seen
    or when more than `limit` are held (oldest first). One owner thread."""

    def __init__(self, clock: Callable[[], float], seconds: float = RESEND_SECONDS,
                 limit: int = RESEND_BATCHES) -> None:
        self.clock = clock
        self.seconds = seconds
        self.limit = limit
        self._expires: OrderedDict[bytes, float] = OrderedDict()

    def __len__(self) -> int:
        return len(self._expires)

    def seen(self, digest: bytes) -> bool:
        """True if this digest was seen within the time kept; otherwise remember it, False."""
        now = self.clock()
        expires = self._expires
        while expires:
            oldest, until = next(iter(expires.items()))
            if until > now and len(expires) < self.limit:
                break
            del expires[oldest]
        if digest in expires:
            return True
        expires[digest] = now + self.seconds
        return False
