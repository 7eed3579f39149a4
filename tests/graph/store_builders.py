"""Helpers to put known aggregates into a store through the real Aggregator (no collector needed).

Times are Unix seconds; `T0` is aligned to 5-minute buckets so tests can reason about buckets.
"""

from __future__ import annotations

import hashlib
import os
from typing import Any

from graph.aggregate import Aggregator
from graph.model import Call, NodeKind, Resource, Span, SpanKind
from graph.store.interface import Store
from graph.store.sql_store import SqlStore
from tests.conftest import skip_or_fail

T0 = 1_700_000_100  # 2023-11-14T22:15:00Z, a multiple of 300 (and of 60)
NS = 1_000_000_000


def postgres_store(schema: str) -> SqlStore:
    """A PostgreSQL store in its own schema of OWNERMAP_TEST_POSTGRES (skipped, or failed under
    OWNERMAP_REQUIRE_ALL, when that is not set)."""
    url = os.environ.get("OWNERMAP_TEST_POSTGRES")
    if not url:
        skip_or_fail("OWNERMAP_TEST_POSTGRES is not set (a postgresql:// URL of a test database)")
    from graph.store.postgres import PostgresStore

    return PostgresStore(url, schema=schema)


def trace_id(label: str) -> bytes:
    """A stable 16-byte trace id for a label."""
    return hashlib.sha256(label.encode()).digest()[:16]


def sighting(
    agg: Aggregator, service: str, ts: float, *, env: str = "", hints: dict[str, str] | None = None,
    error: bool = False, count: int = 1,
) -> None:
    """`count` spans of `service` starting at `ts` seconds."""
    resource = Resource(service, env, dict(hints or {}))
    for i in range(count):
        span = Span(trace_id(f"{service}{ts}{i}"), i.to_bytes(8, "big"), b"", resource, SpanKind.SERVER,
                    int(ts * NS), int(ts * NS) + 1000, error)
        agg.sighting(span)


def call(
    agg: Aggregator, client: str, server: str, ts: float, *, ctype: str = "rpc", env: str = "",
    failed: bool = False, client_kind: str = NodeKind.SERVICE, server_kind: str = NodeKind.SERVICE,
    client_s: float | None = None, server_s: float | None = 0.01, trace: str = "t", count: int = 1,
    queue_s: float | None = None,
) -> None:
    """`count` calls client → server at `ts` seconds."""
    for _ in range(count):
        agg.call(Call(int(ts * NS), client, client_kind, server, server_kind, ctype, env, failed, client_s, server_s,
                 trace_id(trace), queue_s))


def write(store: Store, agg: Aggregator) -> None:
    """Flush what the aggregator holds into the store."""
    store.write(agg.drain())


def seed_shop(store: Store) -> dict[str, Any]:
    """A small shop: user → frontend → checkout → {payments, postgres}, payments → stripe, plus
    hostile names, a self-call, a staging-only edge and an edge two days old.

    All recent activity is at T0 + 60 s .. T0 + 600 s, in environment `prod` unless said otherwise.
    """
    agg = Aggregator(store.bucket_seconds)
    t = T0 + 60
    for service, n in (("frontend", 10), ("checkout", 8), ("payments", 5)):
        sighting(agg, service, t, env="prod", count=n, hints={"service.namespace": "shop"})
    sighting(agg, "checkout", t + 1, env="prod", error=True)
    sighting(agg, "team/a b", t, env="prod")
    sighting(agg, "<script>alert(1)</script>", t, env="prod")
    sighting(agg, "legacy", t, env="staging")
    sighting(agg, "old-caller", T0 - 2 * 86400, env="prod")
    call(agg, "user", "frontend", t, ctype="entry", client_kind=NodeKind.USER, env="prod", count=10,
         server_s=0.05)
    call(agg, "frontend", "checkout", t, env="prod", count=6, server_s=0.02, client_s=0.03)
    call(agg, "frontend", "checkout", t + 300, env="prod", count=2, failed=True, server_s=0.3)
    call(agg, "checkout", "payments", t, env="prod", count=4, server_s=0.1)
    # rule 7: a virtual peer named like a real service is that service
    call(agg, "checkout", "payments", t, ctype="virtual", server_kind=NodeKind.EXTERNAL, env="prod",
         server_s=None, client_s=0.2)
    call(agg, "checkout", "postgres", t, ctype="database", server_kind=NodeKind.DATABASE, env="prod", count=3,
         server_s=None, client_s=0.004)
    call(agg, "payments", "stripe-api", t, ctype="virtual", server_kind=NodeKind.EXTERNAL, env="prod",
         server_s=None, client_s=0.5, failed=True)
    call(agg, "checkout", "checkout", t, env="prod", count=2)
    call(agg, "team/a b", "<script>alert(1)</script>", t, env="prod")
    call(agg, "<script>alert(1)</script>", "checkout", t, env="prod")
    call(agg, "legacy", "frontend", t, env="staging", count=7)
    call(agg, "old-caller", "frontend", T0 - 2 * 86400, env="prod")
    write(store, agg)
    return {"now": T0 + 3600}
