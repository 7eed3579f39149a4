"""Query latency at 2 000 services / 20 000 edges / 7 days: /api/v1/graph, /dependents, /findings.

    python bench/query.py [--services 2000] [--edges 20000] [--requests 30] [--json]

Builds the same data set as bench/report.py (a week of aggregates, compacted as `serve` keeps
them, and a catalog), then sends requests to the real FastAPI app (in-process ASGI client, the
clock fixed at the data's end) and reports p50/p95/p99 per endpoint. The first request of each
endpoint is reported apart ("cold"). As `serve` does, the API reads through the in-memory mirror
of the last `--mirror-days` (loaded before the first request; its load time is reported), and a
writer keeps adding batches meanwhile so that every request has fresh rows to pick up: by default
another process (as ingest processes beside an API process), or with `--writer thread` a thread
of the API's process (as `serve --role all`, where ingest competes for the same interpreter lock).
With `--cache-seconds 0` (the default here) no answer is reused: each request refreshes the
mirror and sums its window.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import random
import statistics
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from fastapi.testclient import TestClient

from api.app import create_app
from api.config import ApiConfig
from api.state import ApiState
from bench.report import END, generate, make_catalog, make_edges, service_name
from graph.aggregate import Aggregator
from graph.model import Call, NodeKind
from graph.store.base import Store
from graph.store.mirror import MirroredStore
from graph.store.sqlite import SQLiteStore
from ownermap.server import tune_gc_for_ingest
from ownership.source import CatalogSource


def percentile(values: list[float], q: float) -> float:
    """The q-quantile (0..1) by nearest rank."""
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q * len(ordered)) - 1))]


def measure(client: TestClient, url: str, requests: int, tick: Callable[[], None]) -> dict[str, float]:
    """Cold (first) and warm latency percentiles in milliseconds (`tick` runs before each request)."""
    times = []
    for _ in range(requests + 1):
        tick()
        started = time.perf_counter()
        response = client.get(url)
        times.append((time.perf_counter() - started) * 1000)
        assert response.status_code == 200, (url, response.status_code, response.text[:200])
    cold, warm = times[0], times[1:]
    return {"cold_ms": round(cold, 1), "p50_ms": round(percentile(warm, 0.50), 1),
            "p95_ms": round(percentile(warm, 0.95), 1), "p99_ms": round(percentile(warm, 0.99), 1),
            "mean_ms": round(statistics.fmean(warm), 1)}


def write_from_another_process(path: str, edges: list[tuple[str, str, str, str]], per_second: float,
                               stop: Any) -> None:
    """keep_writing, in a process of its own with its own connection."""
    store = SQLiteStore(path)
    keep_writing(store, edges, per_second, stop)
    store.close()


def keep_writing(store: SQLiteStore, edges: list[tuple[str, str, str, str]], per_second: float,
                 stop: Any) -> None:
    """Write small batches of recent calls (as ingest does) until stopped."""
    rng = random.Random(2)
    while not stop.wait(1 / per_second):
        agg = Aggregator(store.bucket_seconds)
        for client, server, kind, ctype in rng.sample(edges, 200):
            agg.call(Call(int((END - rng.uniform(1, 600)) * 1e9), client, NodeKind.SERVICE, server, kind, ctype, "",
                     rng.random() < 0.01, rng.random() / 20, None, rng.randbytes(16)))
        store.write(agg.drain())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--services", type=int, default=2000)
    parser.add_argument("--edges", type=int, default=20000)
    parser.add_argument("--requests", type=int, default=30)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--cache-seconds", type=float, default=0.0,
                        help="the API's window cache (serve's query_cache_seconds; 0 = every request sums the window)")
    parser.add_argument("--mirror-days", type=float, default=8.0,
                        help="serve's query_mirror_days: recent aggregates in memory (0 = windows summed in SQL)")
    parser.add_argument("--writes-per-second", type=float, default=10.0,
                        help="batches written meanwhile, as ingest would (each request then has changes to pick up)")
    parser.add_argument("--writer", choices=["process", "thread"], default="process",
                        help="where the writes come from: another process, or a thread of the API's process")
    parser.add_argument("--advance-seconds", type=float, default=0.0,
                        help="move the clock this much before each request (300: every request's window has moved "
                             "by a bucket, so no window sums can be reused: the worst case)")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    tune_gc_for_ingest()  # as `serve` runs
    rng = random.Random(args.seed)
    with tempfile.TemporaryDirectory(prefix="ownermap-bench-query-") as tmp:
        work = Path(tmp)
        edges = make_edges(rng, args.services, args.edges)
        make_catalog(rng, args.services, work / "catalog")
        store = SQLiteStore(work / "ownermap.db")
        generate(store, rng, args.services, edges)
        store.compact(END, retention_days=90)
        catalog = CatalogSource([work / "catalog"])
        catalog.reload()
        now = [float(END)]

        def clock() -> float:
            return now[0]

        def tick() -> None:
            now[0] += args.advance_seconds

        query_store: Store = store
        load_seconds = 0.0
        if args.mirror_days > 0:
            query_store = MirroredStore(store, days=args.mirror_days, refresh_seconds=args.cache_seconds,
                                        clock=clock)
            started = time.perf_counter()
            query_store.refresh()  # serve does this in the background at start
            load_seconds = time.perf_counter() - started
        state = ApiState(config=ApiConfig(), store=query_store, catalog=catalog, clock=clock,
                         cache_seconds=args.cache_seconds)
        writer: threading.Thread | multiprocessing.process.BaseProcess
        if args.writer == "thread":
            stop: Any = threading.Event()
            writer = threading.Thread(target=keep_writing, args=(store, edges, args.writes_per_second, stop),
                                      daemon=True)
        else:
            context = multiprocessing.get_context("spawn")
            stop = context.Event()
            writer = context.Process(target=write_from_another_process,
                                     args=(str(work / "ownermap.db"), edges, args.writes_per_second, stop), daemon=True)
        if args.writes_per_second > 0:
            writer.start()
        # A service in the middle of the graph: callers and callees on both sides.
        target = service_name(args.services // 2)
        results: dict[str, Any] = {}
        with TestClient(create_app(state)) as client:
            results["graph_7d"] = measure(client, "/api/v1/graph?window=7d", args.requests, tick)
            results["dependents_7d"] = measure(client, f"/api/v1/services/{target}/dependents?window=7d",
                                               args.requests, tick)
            results["findings_7d"] = measure(client, "/api/v1/findings?window=7d", args.requests, tick)
        stop.set()
        if writer.is_alive():
            writer.join()
        store.close()
    results["data"] = {"services": args.services, "edges": args.edges, "cache_seconds": args.cache_seconds,
                       "mirror_days": args.mirror_days, "mirror_load_s": round(load_seconds, 2),
                       "writes_per_second": args.writes_per_second, "writer": args.writer,
                       "advance_seconds": args.advance_seconds}
    if args.json:
        print(json.dumps(results))
    else:
        for name, figures in results.items():
            print(f"{name:16} {figures}")


if __name__ == "__main__":
    main()
