"""Bounded loopback load on a running `ownermap serve`: big concurrent gRPC exports, many OTLP/HTTP
senders with /healthz probed meanwhile, and the server's RSS (shared by tests and bench/net_load.py)."""

from __future__ import annotations

import http.client
import multiprocessing
import statistics
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from multiprocessing.queues import Queue
from pathlib import Path
from urllib.parse import urlsplit

import grpc
import httpx
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from opentelemetry.proto.common.v1.common_pb2 import AnyValue, KeyValue
from opentelemetry.proto.resource.v1.resource_pb2 import Resource
from opentelemetry.proto.trace.v1.trace_pb2 import ResourceSpans, ScopeSpans, Span

EXPORT = "/opentelemetry.proto.collector.trace.v1.TraceService/Export"
MiB = 1 << 20


def big_request(size: int = 8 * MiB, spans: int = 64) -> bytes:
    """A valid OTLP request of about `size` bytes: `spans` SERVER root spans, each with a big attribute."""
    pad = "x" * (size // spans)
    now = time.time_ns()
    items = [
        Span(trace_id=(i + 1).to_bytes(16, "big"), span_id=(i + 1).to_bytes(8, "big"), kind=Span.SPAN_KIND_SERVER,
             name="GET /", start_time_unix_nano=now, end_time_unix_nano=now + 1_000_000,
             attributes=[KeyValue(key="padding", value=AnyValue(string_value=pad))])
        for i in range(spans)
    ]
    resource = Resource(attributes=[KeyValue(key="service.name", value=AnyValue(string_value="big-sender"))])
    request = ExportTraceServiceRequest(resource_spans=[ResourceSpans(resource=resource,
                                                                      scope_spans=[ScopeSpans(spans=items)])])
    return request.SerializeToString()


def small_request(spans: int = 50) -> bytes:
    """A valid OTLP request of `spans` SERVER root spans (a few KB)."""
    return big_request(size=spans * 64, spans=spans)


def rss_mb(pid: int, field_name: str = "VmRSS") -> float:
    """A process's resident set (VmRSS) or its peak so far (VmHWM), in MB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(f"{field_name}:"):
            return int(line.split()[1]) / 1024
    return 0.0


@dataclass
class GrpcFlood:
    """What `grpc_flood` saw: status code names and counts, the server's peak RSS, the elapsed time."""

    codes: Counter[str] = field(default_factory=Counter)
    peak_rss_mb: float = 0.0
    seconds: float = 0.0


def grpc_flood(target: str, pid: int, payload: bytes, calls: int = 200, channels: int = 4,
               metadata: tuple[tuple[str, str], ...] = (), timeout: float = 60.0) -> GrpcFlood:
    """Send `payload` `calls` times at once over a few channels; wait for every answer (bounded by timeout)."""
    result = GrpcFlood()
    opened = [grpc.insecure_channel(target, options=[("grpc.max_send_message_length", 64 * MiB)])
              for _ in range(channels)]
    start = time.monotonic()
    try:
        methods = [c.unary_unary(EXPORT, request_serializer=None, response_deserializer=None) for c in opened]
        futures = [methods[i % channels].future(payload, timeout=timeout, metadata=metadata) for i in range(calls)]
        for future in futures:
            try:
                future.result()
                result.codes["OK"] += 1
            except grpc.RpcError as exc:
                result.codes[exc.code().name] += 1  # type: ignore[attr-defined]
    finally:
        for channel in opened:
            channel.close()
    result.seconds = time.monotonic() - start
    result.peak_rss_mb = rss_mb(pid, "VmHWM")
    return result


@dataclass
class HttpLoad:
    """What `http_senders_with_probe` saw: /healthz latencies (s), sender status counts."""

    health: list[float] = field(default_factory=list)
    statuses: Counter[int] = field(default_factory=Counter)

    def p95(self) -> float:
        """The 95th percentile of the /healthz latencies, in seconds."""
        return statistics.quantiles(self.health, n=20)[-1]


def _send_loop(url: str, body: bytes, count: int, seconds: float, out: Queue[dict[int, int]]) -> None:
    """In a child process: `count` threads post `body` in a loop for `seconds`; put the status counts."""
    statuses: Counter[int] = Counter()
    lock = threading.Lock()
    deadline = time.monotonic() + seconds

    def send() -> None:
        with httpx.Client(timeout=30) as client:
            while time.monotonic() < deadline:
                try:
                    status = client.post(url, content=body,
                                         headers={"Content-Type": "application/x-protobuf"}).status_code
                except httpx.HTTPError:
                    status = 0
                with lock:
                    statuses[status] += 1

    threads = [threading.Thread(target=send, daemon=True) for _ in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(seconds + 35)
    out.put(dict(statuses))


def _probe_health(api_url: str) -> float:
    """Seconds for one GET /healthz on a fresh connection, with as little client work as kubelet does
    (the standard library's client: the figure is the server's, not a heavy client library's)."""
    parts = urlsplit(api_url)
    began = time.perf_counter()
    connection = http.client.HTTPConnection(parts.hostname or "127.0.0.1", parts.port, timeout=30)
    try:
        connection.request("GET", "/healthz")
        response = connection.getresponse()
        response.read()
    finally:
        connection.close()
    if response.status != 200:
        raise RuntimeError(f"/healthz answered {response.status}")
    return time.perf_counter() - began


def http_senders_with_probe(http_url: str, api_url: str, body: bytes, senders: int = 100,
                            seconds: float = 10.0, probe_every: float = 0.1) -> HttpLoad:
    """`senders` threads (in a child process, so their GIL is not the prober's) post `body` in a loop
    while /healthz is timed every `probe_every` s on a fresh connection, as kubelet does."""
    load = HttpLoad()
    context = multiprocessing.get_context("spawn")
    out: Queue[dict[int, int]] = context.Queue()
    child = context.Process(target=_send_loop, args=(http_url, body, senders, seconds + 3.0, out), daemon=True)
    child.start()
    try:
        time.sleep(3.0)  # the child starts and its senders ramp up
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            load.health.append(_probe_health(api_url))
            time.sleep(probe_every)
        load.statuses.update(out.get(timeout=60))
    finally:
        child.join(10)
        if child.is_alive():
            child.kill()
    return load
