"""The page at the design scale (DESIGN §4a): HTML size and time of GET / over OTLP-loaded data.

    python bench/page.py [--services 2000] [--edges 20000] [--requests 5] [--json]

Starts a real `ownermap serve` (loopback ports, a temporary SQLite file, bench/report.py's
generated catalog), sends every edge of bench/report.py's generated graph as real CLIENT/SERVER
span pairs (databases and external APIs as CLIENT spans with their peer attributes) over
OTLP/HTTP protobuf in batches, spread over the last 7 days, waits until the API shows them, then
times `--requests` page loads (the first included) of the default page (the team map), a focus
view on the busiest service and a search, and reports the median, the slowest and the HTML size.
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import httpx
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from opentelemetry.proto.common.v1.common_pb2 import AnyValue, KeyValue
from opentelemetry.proto.resource.v1.resource_pb2 import Resource
from opentelemetry.proto.trace.v1.trace_pb2 import ResourceSpans, ScopeSpans, Span

from bench.report import make_catalog, make_edges
from graph.model import NodeKind
from tests.integration.serve_process import ServeProcess, sqlite_url, wait_for

WEEK = 7 * 86400


def _attrs(values: dict[str, str]) -> list[KeyValue]:
    return [KeyValue(key=k, value=AnyValue(string_value=v)) for k, v in values.items()]


def batches(edges: list[tuple[str, str, str, str]], rng: random.Random, per_batch: int) -> list[bytes]:
    """OTLP protobuf requests holding one call of every edge (a span pair, or a CLIENT span to a peer)."""
    now = time.time_ns()
    out = []
    for start in range(0, len(edges), per_batch):
        spans: dict[str, list[Span]] = {}
        for client, server, kind, _ in edges[start:start + per_batch]:
            trace = rng.randbytes(16)
            begin = now - rng.randrange(60, WEEK - 3600) * 1_000_000_000
            client_id, server_id = rng.randbytes(8), rng.randbytes(8)
            attributes = {"server.address": server}
            if kind == NodeKind.DATABASE:
                attributes = {"db.system": "postgresql", "db.namespace": server, "server.address": server}
            spans.setdefault(client, []).append(Span(
                trace_id=trace, span_id=client_id, kind=Span.SPAN_KIND_CLIENT, name="call",
                start_time_unix_nano=begin, end_time_unix_nano=begin + 20_000_000, attributes=_attrs(attributes)))
            if kind == NodeKind.SERVICE:
                spans.setdefault(server, []).append(Span(
                    trace_id=trace, span_id=server_id, parent_span_id=client_id, kind=Span.SPAN_KIND_SERVER,
                    name="handle", start_time_unix_nano=begin + 1_000_000, end_time_unix_nano=begin + 15_000_000))
        request = ExportTraceServiceRequest(resource_spans=[
            ResourceSpans(resource=Resource(attributes=_attrs({"service.name": name})),
                          scope_spans=[ScopeSpans(spans=group)])
            for name, group in spans.items()
        ])
        out.append(request.SerializeToString())
    return out


def timed(url: str, params: dict[str, str], requests: int) -> dict[str, Any]:
    """Median and slowest of `requests` GETs (the first included), and the HTML size."""
    times, size = [], 0
    for _ in range(requests):
        started = time.perf_counter()
        response = httpx.get(url, params=params, timeout=120, follow_redirects=True)
        times.append(time.perf_counter() - started)
        assert response.status_code == 200, (response.status_code, response.text[:300])
        size = len(response.content)
    return {"median_ms": round(statistics.median(times) * 1000, 1), "first_ms": round(times[0] * 1000, 1),
            "max_ms": round(max(times) * 1000, 1), "html_bytes": size}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--services", type=int, default=2000)
    parser.add_argument("--edges", type=int, default=20000)
    parser.add_argument("--requests", type=int, default=5)
    parser.add_argument("--batch", type=int, default=2000, help="edges per OTLP request")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    rng = random.Random(args.seed)
    edges = make_edges(rng, args.services, args.edges)
    busiest = max(Counter([a for a, *_ in edges] + [b for _, b, *_ in edges if b.startswith("svc-")]).items(),
                  key=lambda kv: (kv[1], kv[0]))[0]
    results: dict[str, Any] = {}
    with tempfile.TemporaryDirectory(prefix="ownermap-bench-page-") as tmp:
        work = Path(tmp)
        make_catalog(rng, args.services, work / "catalog")
        server = ServeProcess(sqlite_url(work / "ownermap.db"), "--catalog", str(work / "catalog"),
                              "--pairing-ttl", "2", env={"OWNERMAP_LOG_LEVEL": "warning"}).start(timeout=60)
        try:
            started = time.perf_counter()
            for body in batches(edges, rng, args.batch):
                for _ in range(50):
                    sent = httpx.post(server.http, content=body, timeout=60,
                                      headers={"Content-Type": "application/x-protobuf"})
                    if sent.status_code not in (429, 503):
                        break
                    time.sleep(float(sent.headers.get("Retry-After", "1")))
                assert sent.status_code == 200, sent.text

            def loaded() -> int | None:
                graph = httpx.get(f"{server.api}/api/v1/graph", params={"window": "7d"}, timeout=120).json()
                return len(graph["edges"]) if len(graph["edges"]) >= args.edges * 0.99 else None

            count = wait_for(loaded, timeout=300, interval=2.0)
            if not count:
                sys.exit("the API never showed the loaded edges:\n" + "".join(server.log[-20:]))
            results["load_s"] = round(time.perf_counter() - started, 1)
            graph = httpx.get(f"{server.api}/api/v1/graph", params={"window": "7d"}, timeout=120).json()
            results["data"] = {"nodes": len(graph["nodes"]), "edges": len(graph["edges"])}
            page = f"{server.api}/"
            results["team_map"] = timed(page, {"window": "7d"}, args.requests)
            results["focus"] = timed(page, {"window": "7d", "node": busiest, "hops": "1"}, args.requests)
            results["focus_hops_3"] = timed(page, {"window": "7d", "node": busiest, "hops": "3"}, args.requests)
            results["search"] = timed(page, {"window": "7d", "q": busiest}, args.requests)
        finally:
            server.stop()
    if args.json:
        print(json.dumps(results))
    else:
        for name, figures in results.items():
            print(f"{name:14} {figures}")


if __name__ == "__main__":
    main()
