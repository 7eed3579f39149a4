"""OTLP/gRPC ingest benchmark against a real `ownermap serve`, with the decode floor of the same batches.

    python bench/ingest.py [--batches 60] [--in-flight 4] [--repeat 3] [--db sqlite:///PATH]

Starts `ownermap serve` (one process), has a separate client process send pre-serialised
8 192-span batches over OTLP/gRPC with a few requests in flight, and reports spans/s
(acknowledged, so durable), the decode floor of the same batches measured just before and
just after the ingest (protobuf decode plus reading each span's service, ids, kind, status,
times and peer attribute in a plain loop, one core), the ratio to the floor and the server's
peak RSS.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import statistics
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.workload import make_batch
from tests.integration.serve_process import ServeProcess

PEER_KEYS = frozenset({"service.peer.name", "peer.service", "server.address"})


def decode_floor(batches: list[bytes]) -> float:
    """Spans/s of decoding the batches and reading the fields the edge rules need, in a plain loop."""
    from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest

    spans = 0
    started = time.perf_counter()
    for data in batches:
        request = ExportTraceServiceRequest.FromString(data)
        for rs in request.resource_spans:
            service = ""
            for kv in rs.resource.attributes:
                if kv.key == "service.name":
                    service = kv.value.string_value
            for ss in rs.scope_spans:
                for s in ss.spans:
                    _ = (service, s.trace_id, s.span_id, s.parent_span_id, s.kind, s.status.code,
                         s.start_time_unix_nano, s.end_time_unix_nano)
                    for kv in s.attributes:
                        if kv.key in PEER_KEYS:
                            _ = kv.value.string_value
                    spans += 1
    return spans / (time.perf_counter() - started)


def _client(target: str, batches: list[bytes], in_flight: int, result_queue: multiprocessing.Queue) -> None:
    import grpc

    channel = grpc.insecure_channel(target, options=[("grpc.max_send_message_length", 64 * 1024 * 1024)])
    export = channel.unary_unary(
        "/opentelemetry.proto.collector.trace.v1.TraceService/Export",
        request_serializer=lambda b: b, response_deserializer=lambda b: b,
    )
    grpc.channel_ready_future(channel).result(timeout=30)
    started = time.perf_counter()
    with ThreadPoolExecutor(in_flight) as pool:
        list(pool.map(lambda data: export(data, timeout=120), batches))
    result_queue.put(time.perf_counter() - started)
    channel.close()


def current_rss_mb(pid: int) -> float:
    """VmRSS of a process in MiB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def peak_rss_mb(pid: int) -> float:
    """VmHWM of a process in MiB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--batches", type=int, default=60, help="batches to send (8 192 spans each)")
    parser.add_argument("--total-spans", type=int, default=0,
                        help="sustained run: send this many spans, cycling through --distinct batches, "
                             "and report the server's RSS over time (e.g. 10000000)")
    parser.add_argument("--distinct", type=int, default=60, help="distinct batches to cycle through")
    parser.add_argument("--in-flight", type=int, default=4, help="concurrent requests from the client")
    parser.add_argument("--db", help="database URL (default: a temporary SQLite file)")
    parser.add_argument("--repeat", type=int, default=1,
                        help="measured runs (each with a fresh server); with more than one, medians are printed")
    parser.add_argument("--json", action="store_true", help="print the result as JSON")
    args = parser.parse_args()

    if args.total_spans:
        # Cycling through more batches than fit in one pairing TTL: a batch sent again finds its
        # spans expired and counts them anew, which keeps the span index full, as in production.
        distinct = [make_batch(seed) for seed in range(args.distinct)]
        count = -(-args.total_spans // 8192)
        batches = [distinct[i % len(distinct)] for i in range(count)]
        args.batches = count
    else:
        distinct = [make_batch(seed) for seed in range(min(args.batches, 20))]
        batches = [distinct[i % len(distinct)] if i < len(distinct) else make_batch(i) for i in range(args.batches)]
    runs = [_run(args, batches, distinct[:20]) for _ in range(args.repeat)]
    result = dict(runs[-1]) if len(runs) == 1 else {
        "runs": runs,
        "median_spans_per_second": round(statistics.median(r["spans_per_second"] for r in runs)),
        "median_ratio_to_floor": round(statistics.median(r["ratio_to_floor"] for r in runs), 3),
        "max_server_peak_rss_mb": max(r["server_peak_rss_mb"] for r in runs),
    }
    if args.json:
        print(json.dumps(result))
        return
    for key, value in result.items():
        if key == "runs":
            for number, run in enumerate(value, 1):
                print(f"run {number}: " + ", ".join(f"{k} {v}" for k, v in run.items() if k != "rss_mb_over_time"))
        else:
            print(f"{key:32} {value}")


def _run(args: argparse.Namespace, batches: list[bytes], floor_batches: list[bytes]) -> dict[str, object]:
    """One measured run: a fresh server, the decode floor just before and just after the ingest."""
    with tempfile.TemporaryDirectory() as tmp:
        db = args.db or f"sqlite:///{tmp}/bench.db"
        server = ServeProcess(db).start()
        try:
            floor_before = decode_floor(floor_batches)
            context = multiprocessing.get_context("spawn")
            results: multiprocessing.Queue = context.Queue()
            client = context.Process(
                target=_client, args=(server.grpc, batches, args.in_flight, results))
            client.start()
            assert server.proc is not None
            samples: list[tuple[float, float]] = []
            started = time.perf_counter()
            while client.is_alive():
                samples.append((time.perf_counter() - started, current_rss_mb(server.proc.pid)))
                client.join(1.0)
            elapsed = results.get(timeout=600)
            rss = peak_rss_mb(server.proc.pid)
            floor_after = decode_floor(floor_batches)
        finally:
            if server.proc is not None and server.proc.poll() is None:
                server.terminate()
            server.stop()
    spans = 8192 * len(batches)
    rate = spans / elapsed
    # This machine's speed drifts by up to 1.7x over tens of seconds (a shared host): the floor is
    # measured right before and right after the ingest, and the ratio taken to their mean.
    floor = (floor_before + floor_after) / 2
    result: dict[str, object] = {
        "spans": spans, "seconds": round(elapsed, 2), "spans_per_second": round(rate),
        "decode_floor_before": round(floor_before), "decode_floor_after": round(floor_after),
        "ratio_to_floor": round(rate / floor, 3),
        "ratio_to_higher_floor": round(rate / max(floor_before, floor_after), 3),
        "server_peak_rss_mb": round(rss, 1),
    }
    if args.total_spans:
        step = max(1, len(samples) // 12)
        result["rss_mb_over_time"] = [(round(t), round(mb)) for t, mb in samples[::step]]
        result["rss_mb_last_minute_max"] = round(max((mb for t, mb in samples if t >= samples[-1][0] - 60),
                                                     default=0.0))
    return result


if __name__ == "__main__":
    main()
