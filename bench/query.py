"""Query latency at the design scale, measured from outside a real `ownermap serve` (DESIGN §7).

    python bench/query.py [--services 2000] [--edges 20000] [--calls 240000] [--requests 40] [--preload] [--json]

Starts `ownermap serve` (SQLite, default settings but `query_cache_seconds: 0`: no answer is
reused) with a catalog, loads `--calls` calls at random times over every hour of the last 7 days
over OTLP/HTTP (one client and one server span each, 8 192 spans a request; with `--preload`, the
same calls are stored in this process before the server starts), waits until they are committed,
then measures, while another process keeps posting recent calls
(`--writes-per-second` batches of 200 calls):

- `moving`: each request's 7-day window one 5-minute bucket later than the last (explicit
  `start`/`end`), so no window sums are asked for twice;
- `now`: `window=7d` ending now (the server's clock).

for `/api/v1/graph`, `/api/v1/services/{name}/dependents` and `/api/v1/findings`, for
`/api/v1/objectives` (one OpenSLO objective per service, 28-day windows: `end` moves, `start` is
ignored) and for `/api/v1/oncall` over 28-day windows (moving, and `window=28d`), and reports
p50/p95/p99, the server's RSS (after the load and at the end; its peak) and the load average.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import random
import sqlite3
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import httpx
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from opentelemetry.proto.common.v1.common_pb2 import AnyValue, KeyValue
from opentelemetry.proto.resource.v1.resource_pb2 import Resource
from opentelemetry.proto.trace.v1.trace_pb2 import ResourceSpans, ScopeSpans, Span, Status

from bench.report import make_catalog, service_name
from tests.integration.serve_process import ServeProcess, sqlite_url

DAY, BUCKET = 86_400, 300
CALLS_PER_REQUEST = 4096  # 8 192 spans
PROTOBUF = {"content-type": "application/x-protobuf"}

Pair = tuple[str, str]


def percentile(values: list[float], q: float) -> float:
    """The q-quantile (0..1) by nearest rank."""
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q * len(ordered)) - 1))]


def make_pairs(rng: random.Random, services: int, edges: int) -> list[Pair]:
    """`edges` distinct caller → callee pairs among `services` services (callers mostly call onward:
    a lower index calls a higher one, with a share of calls back, so the graph has depth and cycles)."""
    pairs: set[Pair] = set()
    while len(pairs) < edges:
        a, b = rng.randrange(services), rng.randrange(services)
        if a == b:
            continue
        if a > b and rng.random() < 0.9:
            a, b = b, a
        pairs.add((service_name(a), service_name(b)))
    return sorted(pairs)


def export_request(rng: random.Random, calls: list[tuple[Pair, float]]) -> bytes:
    """One ExportTraceServiceRequest: per call a CLIENT span in the caller and its SERVER span."""
    by_service: dict[str, list[Span]] = {}
    for (client, server), ts in calls:
        trace_id = rng.getrandbits(128).to_bytes(16, "big")
        client_id, server_id = rng.getrandbits(64).to_bytes(8, "big"), rng.getrandbits(64).to_bytes(8, "big")
        start = int(ts * 1e9)
        failed = rng.random() < 0.02
        status = Status(code=Status.STATUS_CODE_ERROR if failed else Status.STATUS_CODE_OK)
        by_service.setdefault(client, []).append(Span(
            trace_id=trace_id, span_id=client_id, kind=Span.SPAN_KIND_CLIENT, name="call",
            start_time_unix_nano=start, end_time_unix_nano=start + rng.randrange(1_000_000, 80_000_000),
            status=status))
        by_service.setdefault(server, []).append(Span(
            trace_id=trace_id, span_id=server_id, parent_span_id=client_id, kind=Span.SPAN_KIND_SERVER,
            name="handle", start_time_unix_nano=start + 1, end_time_unix_nano=start + rng.randrange(1_000, 60_000_000),
            status=status))
    request = ExportTraceServiceRequest()
    for service, spans in by_service.items():
        resource = Resource(attributes=[KeyValue(key="service.name", value=AnyValue(string_value=service))])
        request.resource_spans.append(ResourceSpans(resource=resource, scope_spans=[ScopeSpans(spans=spans)]))
    return request.SerializeToString()


def load(url: str, rng: random.Random, pairs: list[Pair], calls: int, now: float) -> float:
    """Post `calls` calls at random times over the 7 days before `now`; seconds taken."""
    started = time.perf_counter()
    every = [(rng.choice(pairs), now - rng.uniform(1, 7 * DAY)) for _ in range(calls)]
    with httpx.Client(timeout=120) as client:
        for i in range(0, calls, CALLS_PER_REQUEST):
            body = export_request(rng, every[i:i + CALLS_PER_REQUEST])
            for _ in range(100):  # back-pressure: retry after what the server asks
                response = client.post(url, content=body, headers=PROTOBUF)
                if response.status_code not in (429, 503):
                    break
                time.sleep(float(response.headers.get("retry-after", "1")))
            response.raise_for_status()
    return time.perf_counter() - started


def preload(db: Path, rng: random.Random, pairs: list[Pair], calls: int, now: float) -> float:
    """The same calls as `load`, decoded, paired and stored in this process (no server, no network),
    then rolled up as the server's maintenance does; seconds taken. Much faster than over OTLP/HTTP
    when only the queries are measured."""
    from collector.decode import decode_request_bytes
    from collector.pipeline import IngestPipeline
    from graph.store.sqlite import SQLiteStore

    started = time.perf_counter()
    every = [(rng.choice(pairs), now - rng.uniform(1, 7 * DAY)) for _ in range(calls)]
    store = SQLiteStore(db)
    try:
        pipeline = IngestPipeline(store)
        for i in range(0, calls, CALLS_PER_REQUEST):
            pipeline.ingest(decode_request_bytes(export_request(rng, every[i:i + CALLS_PER_REQUEST])).spans)
            pipeline.flush()
        pipeline.finish()
        store.compact(time.time(), retention_days=90)
    finally:
        store.close()
    return time.perf_counter() - started


def committed_calls(db: Path) -> int:
    """Calls committed to the database (both resolutions)."""
    with sqlite3.connect(db, timeout=30) as conn:
        return int(sum(conn.execute(f"SELECT COALESCE(SUM(calls), 0) FROM {t}").fetchone()[0]
                       for t in ("edge_buckets", "edge_hours")))


def keep_writing(url: str, pairs: list[Pair], per_second: float, stop: Any) -> None:
    """Another process: batches of 200 recent calls, `per_second` a second, until stopped."""
    rng = random.Random(2)
    with httpx.Client(timeout=60) as client:
        while not stop.wait(1 / per_second):
            body = export_request(rng, [(rng.choice(pairs), time.time() - rng.uniform(0, 60)) for _ in range(200)])
            client.post(url, content=body, headers=PROTOBUF)


def rss_mb(pid: int) -> dict[str, float]:
    """The process's resident set now and its peak, in MB."""
    fields = dict(line.split(":", 1) for line in Path(f"/proc/{pid}/status").read_text().splitlines() if ":" in line)
    return {"rss_mb": round(int(fields["VmRSS"].split()[0]) / 1024, 1),
            "peak_rss_mb": round(int(fields["VmHWM"].split()[0]) / 1024, 1)}


def iso(ts: float) -> str:
    """A Unix time as the API's ISO 8601."""
    return datetime.fromtimestamp(ts, UTC).isoformat().replace("+00:00", "Z")


def measure(client: httpx.Client, paths: list[str]) -> dict[str, float]:
    """Latency percentiles (ms) over the requests; the first is reported apart (cold)."""
    times = []
    for path in paths:
        started = time.perf_counter()
        response = client.get(path)
        times.append((time.perf_counter() - started) * 1000)
        assert response.status_code == 200, (path, response.status_code, response.text[:200])
    cold, warm = times[0], times[1:]
    return {"cold_ms": round(cold, 1), "p50_ms": round(percentile(warm, 0.50), 1),
            "p95_ms": round(percentile(warm, 0.95), 1), "p99_ms": round(percentile(warm, 0.99), 1),
            "mean_ms": round(statistics.fmean(warm), 1)}


def windows(requests: int, now: float, moving: bool, days: int = 7) -> list[str]:
    """Query strings: windows of `days` each a bucket later than the last (ending by now), or `window=<days>d`."""
    if not moving:
        return [f"window={days}d"] * (requests + 1)
    last_end = (int(now) // BUCKET) * BUCKET
    ends = [last_end - (requests - i) * BUCKET for i in range(requests + 1)]
    return [f"start={iso(end - days * DAY)}&end={iso(end)}" for end in ends]


def make_objectives(services: int, directory: Path) -> None:
    """One OpenSLO availability objective (28 days) per service, all referring to one SLI."""
    docs = ["apiVersion: openslo/v1\nkind: SLI\nmetadata: {name: calls-ok}\nspec:\n  ratioMetric:\n"
            "    good: {metricSource: {type: ownermap, spec: {signal: availability}}}\n"
            "    total: {metricSource: {type: ownermap, spec: {signal: availability}}}\n"]
    for i in range(services):
        name = service_name(i)
        docs.append(f"apiVersion: openslo/v1\nkind: SLO\nmetadata: {{name: {name}-ok}}\nspec:\n"
                    f"  service: {name}\n  indicatorRef: calls-ok\n  timeWindow: [{{duration: 28d}}]\n"
                    "  budgetingMethod: Occurrences\n  objectives: [{target: 0.99}]\n")
    (directory / "slos.yaml").write_text("---\n".join(docs), encoding="utf-8")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--services", type=int, default=2000)
    parser.add_argument("--edges", type=int, default=20000)
    parser.add_argument("--calls", type=int, default=240_000)
    parser.add_argument("--requests", type=int, default=40, help="per endpoint and window kind (plus one cold)")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--writes-per-second", type=float, default=10.0)
    parser.add_argument("--set", action="append", default=[], metavar="NAME=VALUE",
                        help="another serve setting as OWNERMAP_NAME=VALUE (e.g. QUERY_MIRROR_MAX_ROWS=100000)")
    parser.add_argument("--no-objectives", action="store_true",
                        help="declare no objectives (findings then measure none, as before objectives existed)")
    parser.add_argument("--endpoints", default="graph,dependents,findings,objectives,oncall",
                        help="which to measure, comma-separated")
    parser.add_argument("--preload", action="store_true",
                        help="store the calls in this process before the server starts (not over OTLP/HTTP)")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    rng = random.Random(args.seed)
    results: dict[str, Any] = {}
    with tempfile.TemporaryDirectory(prefix="ownermap-bench-query-") as tmp:
        work = Path(tmp)
        make_catalog(rng, args.services, work / "catalog")
        if not args.no_objectives:
            make_objectives(args.services, work / "catalog")
        pairs = make_pairs(rng, args.services, args.edges)
        env = {"OWNERMAP_QUERY_CACHE_SECONDS": "0", **dict(f"OWNERMAP_{s}".split("=", 1) for s in args.set)}
        preloaded = preload(work / "ownermap.db", rng, pairs, args.calls, time.time()) if args.preload else None
        server = ServeProcess(sqlite_url(work / "ownermap.db"), "--catalog", str(work / "catalog"), env=env).start()
        stop = None
        writer = None
        try:
            assert server.proc is not None
            pid = server.proc.pid
            loaded_in = preloaded if preloaded is not None else load(server.http, rng, pairs, args.calls, time.time())
            deadline = time.monotonic() + 300
            while committed_calls(work / "ownermap.db") < args.calls and time.monotonic() < deadline:
                time.sleep(0.5)
            results["load"] = {"calls": args.calls, "seconds": round(loaded_in, 1), "preloaded": args.preload,
                               "committed": committed_calls(work / "ownermap.db"), **rss_mb(pid)}
            context = multiprocessing.get_context("spawn")
            stop = context.Event()
            writer = context.Process(target=keep_writing, args=(server.http, pairs, args.writes_per_second, stop),
                                     daemon=True)
            if args.writes_per_second > 0:
                writer.start()
            target = service_name(args.services // 2)  # in the middle: callers and callees on both sides
            endpoints = {"graph": ("/api/v1/graph?", 7), "dependents": (f"/api/v1/services/{target}/dependents?", 7),
                         "findings": ("/api/v1/findings?", 7), "objectives": ("/api/v1/objectives?", 28),
                         "oncall": ("/api/v1/oncall?", 28)}
            endpoints = {name: found for name, found in endpoints.items() if name in args.endpoints.split(",")}
            with httpx.Client(base_url=server.api, timeout=120) as client:
                for kind in ("moving", "now"):
                    for name, (path, days) in endpoints.items():
                        queries = windows(args.requests, time.time(), kind == "moving", days)
                        results[f"{name}_{kind}"] = measure(client, [path + q for q in queries])
            results["server"] = rss_mb(pid)
        finally:
            if stop is not None:
                stop.set()
            if writer is not None and writer.is_alive():
                writer.join(30)
            server.stop()
    results["data"] = {"services": args.services, "edges": args.edges, "calls": args.calls,
                       "requests": args.requests, "writes_per_second": args.writes_per_second,
                       "settings": env, "load_average": [round(v, 2) for v in os.getloadavg()]}
    if args.json:
        print(json.dumps(results))
    else:
        for name, figures in results.items():
            print(f"{name:16} {figures}")


if __name__ == "__main__":
    main()
