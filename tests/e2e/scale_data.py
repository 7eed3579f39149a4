"""A design-scale store for browser tests: 2 000 services, 20 000 edges spread over the last 7 days.

Written directly through the Aggregator and the store API (no collector: seconds, not minutes),
with bench.report's edge and catalog generators, so tests and benchmarks share one shape.
"""

from __future__ import annotations

import random
import time
from pathlib import Path

from bench.report import make_catalog, make_edges
from graph.aggregate import Aggregator
from graph.model import Call, NodeKind, Resource, Span, SpanKind
from graph.store.sqlite import SQLiteStore

NS = 1_000_000_000
SERVICES, EDGES = 2000, 20000


def build_design_scale(directory: Path, services: int = SERVICES, edges: int = EDGES, seed: int = 1,
                       now: float | None = None) -> tuple[Path, Path, list[tuple[str, str, str, str]]]:
    """Write ownermap.db and catalog/owners.yaml under `directory`; returns their paths and the edges."""
    rng = random.Random(seed)
    end = time.time() if now is None else now
    pairs = make_edges(rng, services, edges)
    catalog = directory / "catalog"
    make_catalog(rng, services, catalog)
    db = directory / "ownermap.db"
    store = SQLiteStore(db)
    agg = Aggregator(store.bucket_seconds)
    n = 0
    for i in range(services):
        n += 1
        name = f"svc-{i:04d}"
        span_ts = int((end - rng.uniform(60, 6 * 86400)) * NS)
        agg.sighting(Span(n.to_bytes(16, "big"), n.to_bytes(8, "big"), b"", Resource(name, "prod"), SpanKind.SERVER,
                          span_ts, span_ts + 1000))
    for client, server, kind, ctype in pairs:
        for _ in range(rng.randint(1, 3)):
            n += 1
            agg.call(Call(int((end - rng.uniform(60, 6 * 86400)) * NS), client, NodeKind.SERVICE, server, kind, ctype,
                     "prod", rng.random() < 0.02, 0.02, 0.01, n.to_bytes(16, "big")))
    store.write(agg.drain())
    store.close()
    return db, catalog, pairs
