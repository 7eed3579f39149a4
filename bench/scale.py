"""Scale-out benchmark: OTLP/gRPC ingest into one vs two `ownermap serve --role ingest` processes
sharing one PostgreSQL (DESIGN §7: two processes at least 1.7 times one).

    OWNERMAP_TEST_POSTGRES=postgresql://… python bench/scale.py [--batches 40]

Each ingest process gets its own client process (as the Collector's loadbalancing exporter would
send each trace to one of them); batches hold whole traces, so splitting by batch is splitting by
trace id. Throughput counts acknowledged (committed) spans over the slowest client's time.
One-process runs bracket each two-process run; the median speed-up of --repeat comparisons is printed.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import statistics
import sys
import time
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.ingest import _client
from bench.workload import make_batch
from tests.integration.serve_process import ServeProcess

SPANS_PER_BATCH = 8192


def _schema_url(url: str) -> tuple[str, str]:
    import psycopg

    schema = f"bench_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(f"CREATE SCHEMA {schema}")
    separator = "&" if "?" in url else "?"
    return f"{url}{separator}options=-csearch_path%3D{schema}", schema


def _drop(url: str, schema: str) -> None:
    import psycopg

    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(f"DROP SCHEMA {schema} CASCADE")


def run(url: str, batches: list[bytes], processes: int, in_flight: int) -> float:
    """Spans per second with `processes` ingest processes, each fed by its own client."""
    db, schema = _schema_url(url)
    servers = [ServeProcess(db, "--role", "ingest").start() for _ in range(processes)]
    try:
        context = multiprocessing.get_context("spawn")
        results = context.Queue()
        shares = [batches[i::processes] for i in range(processes)]
        clients = [context.Process(target=_client, args=(s.grpc, share, in_flight, results))
                   for s, share in zip(servers, shares, strict=True)]
        for client in clients:
            client.start()
        elapsed = max(results.get(timeout=900) for _ in clients)
        for client in clients:
            client.join(30)
    finally:
        for server in servers:
            server.stop()
        _drop(url, schema)
    return len(batches) * SPANS_PER_BATCH / elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--batches", type=int, default=40)
    parser.add_argument("--in-flight", type=int, default=2)
    parser.add_argument("--repeat", type=int, default=3, help="measured comparisons (the median is printed)")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    url = os.environ.get("OWNERMAP_TEST_POSTGRES")
    if not url:
        sys.exit("set OWNERMAP_TEST_POSTGRES to a postgresql:// URL")
    started = time.perf_counter()
    batches = [make_batch(seed) for seed in range(args.batches)]
    # This machine's speed drifts over tens of seconds (a shared host), so one process is measured
    # before and after each two-process run (one, two, one, two, ..., one) and each two-process run
    # is compared with the mean of the one-process runs around it.
    ones = [run(url, batches, 1, args.in_flight)]
    comparisons = []
    for _ in range(args.repeat):
        two = run(url, batches, 2, args.in_flight)
        ones.append(run(url, batches, 1, args.in_flight))
        one = (ones[-2] + ones[-1]) / 2
        comparisons.append({"one_process_spans_per_second": round(one), "two_processes_spans_per_second": round(two),
                            "speed_up": round(two / one, 2)})
    result = {"runs": comparisons, "median_speed_up": statistics.median(c["speed_up"] for c in comparisons),
              "cpus": os.cpu_count(), "seconds": round(time.perf_counter() - started)}
    if args.json:
        print(json.dumps(result))
        return
    for number, comparison in enumerate(comparisons, 1):
        print(f"run {number}: " + ", ".join(f"{k} {v}" for k, v in comparison.items()))
    for key in ("median_speed_up", "cpus", "seconds"):
        print(f"{key:32} {result[key]}")


if __name__ == "__main__":
    main()
