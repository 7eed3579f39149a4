"""The OTLP/HTTP receiver behind a real uvicorn server, fed with good, bad and hostile requests.

Every test runs its own server (127.0.0.1, port 0) and a threaded IngestPipeline on a SQLite
store in tmp_path. After each bad request a good one must still be accepted and the graph must
hold exactly the calls of the good requests.
"""

from __future__ import annotations

import gzip
import itertools
import json
import resource
import socket
import struct
import threading
import time
import zlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
import uvicorn
from google.rpc import error_details_pb2, status_pb2
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
    ExportTraceServiceRequest,
    ExportTraceServiceResponse,
)
from opentelemetry.proto.common.v1.common_pb2 import AnyValue, KeyValue
from opentelemetry.proto.resource.v1.resource_pb2 import Resource as PbResource
from opentelemetry.proto.trace.v1.trace_pb2 import ResourceSpans, ScopeSpans
from opentelemetry.proto.trace.v1.trace_pb2 import Span as PbSpan

from collector.ingest import Receiver
from collector.otlp_http import create_otlp_http_app, gunzip_limited
from collector.pipeline import IngestPipeline
from graph.aggregate import AggregateBatch
from graph.model import Window
from graph.service_graph import ServiceGraph
from graph.store.sqlite import SQLiteStore
from tests.collector.otlp_builders import wait_until

PROTOBUF = "application/x-protobuf"
MiB = 1 << 20
ALL_TIME = Window(0, 2**33)
_trace_numbers = itertools.count(1)


# --------------------------------------------------------------------------- payloads


def _kv(key: str, value: str) -> KeyValue:
    return KeyValue(key=key, value=AnyValue(string_value=value))


def call_request(
    client: str = "frontend", server: str = "backend", *, bad_ids: bool = False, start: int | None = None
) -> ExportTraceServiceRequest:
    """One rpc call client → server in a fresh trace (CLIENT parent, SERVER child).

    With bad_ids an extra span with a 5-byte span id rides along (it must be rejected alone).
    """
    trace = next(_trace_numbers).to_bytes(16, "big")
    t0 = start if start is not None else time.time_ns()
    parent = PbSpan(trace_id=trace, span_id=b"\x00" * 7 + b"\x01", kind=PbSpan.SPAN_KIND_CLIENT, name="call",
                    start_time_unix_nano=t0, end_time_unix_nano=t0 + 3_000_000)
    child = PbSpan(trace_id=trace, span_id=b"\x00" * 7 + b"\x02", parent_span_id=parent.span_id,
                   kind=PbSpan.SPAN_KIND_SERVER, name="handle", start_time_unix_nano=t0 + 1_000_000,
                   end_time_unix_nano=t0 + 2_000_000)
    client_spans = [parent]
    if bad_ids:
        client_spans.append(PbSpan(trace_id=trace, span_id=b"\x05" * 5, kind=PbSpan.SPAN_KIND_CLIENT,
                                   start_time_unix_nano=t0, end_time_unix_nano=t0 + 1))
    return ExportTraceServiceRequest(resource_spans=[
        ResourceSpans(resource=PbResource(attributes=[_kv("service.name", client)]),
                      scope_spans=[ScopeSpans(spans=client_spans)]),
        ResourceSpans(resource=PbResource(attributes=[_kv("service.name", server)]),
                      scope_spans=[ScopeSpans(spans=[child])]),
    ])


def call_json(client: str = "frontend", server: str = "backend", *, bad_ids: bool = False) -> dict[str, Any]:
    """The same call as OTLP/JSON (hex ids, string times, enum names)."""
    trace = next(_trace_numbers).to_bytes(16, "big").hex()
    t0 = time.time_ns()

    def resource(name: str) -> dict[str, Any]:
        return {"attributes": [{"key": "service.name", "value": {"stringValue": name}}]}

    client_spans: list[dict[str, Any]] = [{
        "traceId": trace, "spanId": "0000000000000001", "kind": "SPAN_KIND_CLIENT",
        "startTimeUnixNano": str(t0), "endTimeUnixNano": str(t0 + 3_000_000),
    }]
    if bad_ids:
        client_spans.append({"traceId": trace[:10], "spanId": "0000000000000009", "startTimeUnixNano": str(t0)})
    return {"resourceSpans": [
        {"resource": resource(client), "scopeSpans": [{"spans": client_spans}]},
        {"resource": resource(server), "scopeSpans": [{"spans": [{
            "traceId": trace, "spanId": "0000000000000002", "parentSpanId": "0000000000000001", "kind": 2,
            "startTimeUnixNano": str(t0 + 1_000_000), "endTimeUnixNano": str(t0 + 2_000_000),
        }]}]},
    ]}


def gzip_bomb(decompressed_mib: int) -> bytes:
    """A valid gzip stream of `decompressed_mib` MiB of zeros, built in bounded memory and time.

    One MiB of zeros is deflated once and ended with a full flush, which resets the dictionary:
    the resulting segment is self-contained and can simply be repeated.
    """
    compressor = zlib.compressobj(9, zlib.DEFLATED, -15)
    zeros = bytes(MiB)
    segment = compressor.compress(zeros) + compressor.flush(zlib.Z_FULL_FLUSH)
    final_block = zlib.compressobj(9, zlib.DEFLATED, -15).flush()
    crc = 0
    for _ in range(decompressed_mib):
        crc = zlib.crc32(zeros, crc)
    header = b"\x1f\x8b\x08\x00\x00\x00\x00\x00\x00\xff"
    trailer = struct.pack("<II", crc, (decompressed_mib * MiB) & 0xFFFFFFFF)
    return header + segment * decompressed_mib + final_block + trailer


# --------------------------------------------------------------------------- server harness


class GatedStore(SQLiteStore):
    """A SQLite store whose writes can be held back (to fill the ingest queue)."""

    def __init__(self, path: Path) -> None:
        super().__init__(path)
        self.gate = threading.Event()
        self.gate.set()
        self.writing = threading.Event()

    def write(self, batch: AggregateBatch) -> None:
        self.writing.set()
        if not self.gate.wait(timeout=20):
            raise TimeoutError("test gate was never opened")
        super().write(batch)


class UvicornThread:
    """uvicorn on a pre-bound loopback socket, in a background thread."""

    def __init__(self, app: Any) -> None:
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(128)
        self.port = self.sock.getsockname()[1]
        config = uvicorn.Config(app, log_level="warning", lifespan="off", access_log=False)
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, kwargs={"sockets": [self.sock]}, daemon=True)

    def start(self) -> None:
        self.thread.start()
        deadline = time.monotonic() + 10
        while not self.server.started:
            assert time.monotonic() < deadline, "uvicorn did not start"
            assert self.thread.is_alive(), "uvicorn thread died"
            time.sleep(0.01)

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(10)
        self.sock.close()
        assert not self.thread.is_alive(), "uvicorn did not stop"


@dataclass
class Harness:
    """A running OTLP/HTTP receiver plus what the tests need to talk to it and check the graph."""

    url: str
    client: httpx.Client
    store: GatedStore
    pipeline: IngestPipeline
    receiver: Receiver
    token: str | None = None
    expected: dict[tuple[str, str, str], int] = field(default_factory=dict)

    @property
    def auth(self) -> dict[str, str]:
        return {"authorization": f"Bearer {self.token}"} if self.token else {}

    def post(self, body: bytes, content_type: str = PROTOBUF, **headers: str) -> httpx.Response:
        all_headers = {"content-type": content_type, **self.auth, **headers}
        return self.client.post(self.url, content=body, headers=all_headers)

    def calls(self) -> dict[tuple[str, str, str], int]:
        graph = ServiceGraph.from_store(self.store, ALL_TIME)
        return {(e.source, e.target, e.connection_type): e.calls for e in graph.edges}

    def expect_call(self, client: str = "frontend", server: str = "backend") -> None:
        key = (client, server, "rpc")
        self.expected[key] = self.expected.get(key, 0) + 1

    def assert_graph(self) -> None:
        assert self.calls() == self.expected

    def assert_still_serving(self) -> None:
        """A good request is accepted and committed, and the graph holds exactly the good calls."""
        response = self.post(call_request().SerializeToString())
        assert response.status_code == 200, response.text
        assert response.headers["content-type"] == PROTOBUF
        assert ExportTraceServiceResponse.FromString(response.content) == ExportTraceServiceResponse()
        self.expect_call()
        self.assert_graph()


@pytest.fixture
def make_server(tmp_path: Path) -> Iterator[Callable[..., Harness]]:
    started: list[tuple[UvicornThread, IngestPipeline, httpx.Client, GatedStore]] = []

    def make(
        *, token: str | None = None, max_request_bytes: int = 4 * MiB, max_decompressed_bytes: int = 4 * MiB,
        queue_batches: int = 64,
    ) -> Harness:
        store = GatedStore(tmp_path / f"graph{len(started)}.db")
        pipeline = IngestPipeline(store, ttl=60.0, queue_batches=queue_batches, tick_seconds=0.05)
        pipeline.start()
        receiver = Receiver(pipeline)
        app = create_otlp_http_app(
            receiver, max_request_bytes=max_request_bytes, max_decompressed_bytes=max_decompressed_bytes, token=token
        )
        server = UvicornThread(app)
        server.start()
        client = httpx.Client(timeout=30)
        started.append((server, pipeline, client, store))
        return Harness(f"http://127.0.0.1:{server.port}/v1/traces", client, store, pipeline, receiver, token)

    yield make
    for server, pipeline, client, store in started:
        store.gate.set()
        client.close()
        server.stop()
        pipeline.stop(timeout=10)
        store.close()


@pytest.fixture
def otlp(make_server: Callable[..., Harness]) -> Harness:
    return make_server()


# --------------------------------------------------------------------------- good requests


def test_protobuf_export_is_committed_before_the_reply(otlp: Harness) -> None:
    response = otlp.post(call_request().SerializeToString())
    assert response.status_code == 200
    assert response.headers["content-type"] == PROTOBUF
    assert ExportTraceServiceResponse.FromString(response.content) == ExportTraceServiceResponse()
    otlp.expect_call()
    otlp.assert_graph()  # no waiting: the reply means it is durable
    assert otlp.receiver.stats.requests == {"http": 1}
    assert otlp.receiver.stats.spans_received == 2


def test_application_protobuf_media_type_with_parameters_is_accepted(otlp: Harness) -> None:
    response = otlp.post(call_request().SerializeToString(), "application/protobuf; charset=binary")
    assert response.status_code == 200
    otlp.expect_call()
    otlp.assert_graph()


def test_json_export_answers_an_empty_json_object(otlp: Harness) -> None:
    response = otlp.post(json.dumps(call_json("web", "api")).encode(), "application/json")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/json")
    assert response.json() == {}
    otlp.expect_call("web", "api")
    otlp.assert_still_serving()


@pytest.mark.parametrize("encoding", ["gzip", "GZIP", "deflate"])
def test_compressed_bodies(otlp: Harness, encoding: str) -> None:
    raw = call_request().SerializeToString()
    body = gzip.compress(raw) if encoding.lower() == "gzip" else zlib.compress(raw)
    response = otlp.post(body, **{"content-encoding": encoding})
    assert response.status_code == 200, response.text
    otlp.expect_call()
    otlp.assert_still_serving()


def test_gzip_json_body(otlp: Harness) -> None:
    body = gzip.compress(json.dumps(call_json()).encode())
    response = otlp.post(body, "application/json", **{"content-encoding": "gzip"})
    assert response.status_code == 200 and response.json() == {}
    otlp.expect_call()
    otlp.assert_graph()


def test_empty_request_is_accepted(otlp: Harness) -> None:
    assert otlp.post(b"").status_code == 200
    assert otlp.post(b"{}", "application/json").json() == {}
    otlp.assert_still_serving()


# --------------------------------------------------------------------------- partial success


def test_protobuf_span_with_wrong_id_length_is_rejected_alone(otlp: Harness) -> None:
    response = otlp.post(call_request(bad_ids=True).SerializeToString())
    assert response.status_code == 200
    partial = ExportTraceServiceResponse.FromString(response.content).partial_success
    assert partial.rejected_spans == 1
    assert "span ids 8 bytes" in partial.error_message and "(got 16/5/0)" in partial.error_message
    otlp.expect_call()
    otlp.assert_graph()
    assert otlp.receiver.stats.spans_rejected == 1
    otlp.assert_still_serving()


def test_json_span_with_wrong_id_length_is_rejected_alone(otlp: Harness) -> None:
    response = otlp.post(json.dumps(call_json(bad_ids=True)).encode(), "application/json")
    assert response.status_code == 200
    body = response.json()
    assert body["partialSuccess"]["rejectedSpans"] == "1"
    assert "traceId must be 16 bytes" in body["partialSuccess"]["errorMessage"]
    otlp.expect_call()
    otlp.assert_graph()
    otlp.assert_still_serving()


# --------------------------------------------------------------------------- bad requests


def _status(response: httpx.Response) -> status_pb2.Status:
    assert response.headers["content-type"] == PROTOBUF
    return status_pb2.Status.FromString(response.content)


@pytest.mark.parametrize(
    "body", [b"\xff\xff\xff\xff garbage", bytes(range(256)) * 4, b"\x0a\xff\xff\xff\xff\x0f"],
    ids=["garbage", "all-bytes", "huge-length-prefix"],
)
def test_garbage_protobuf_is_400(otlp: Harness, body: bytes) -> None:
    response = otlp.post(body)
    assert response.status_code == 400
    status = _status(response)
    assert status.code == 3  # INVALID_ARGUMENT
    assert "not a valid OTLP ExportTraceServiceRequest" in status.message
    otlp.assert_still_serving()


def test_truncated_protobuf_is_400_and_stores_nothing(otlp: Harness) -> None:
    data = call_request().SerializeToString()
    for cut in (1, len(data) // 2, len(data) - 1):
        assert otlp.post(data[:cut]).status_code == 400
    otlp.assert_graph()  # still empty
    assert otlp.receiver.stats.requests_rejected == 3
    otlp.assert_still_serving()


@pytest.mark.parametrize(
    "body", [b"{not json", b"", b"[1, 2]", b'{"resourceSpans": 5}', b"[" * 200_000, b"\xff\xfe"],
    ids=["syntax", "empty", "array", "not-a-list", "deep", "binary"],
)
def test_invalid_json_is_400_with_a_json_status(otlp: Harness, body: bytes) -> None:
    response = otlp.post(body, "application/json")
    assert response.status_code == 400
    assert response.json()["code"] == 3
    assert response.json()["message"]
    otlp.assert_still_serving()


@pytest.mark.parametrize("content_type", ["text/plain", "", "application/xml", "multipart/form-data"])
def test_unsupported_content_type_is_415(otlp: Harness, content_type: str) -> None:
    response = otlp.post(call_request().SerializeToString(), content_type)
    assert response.status_code == 415
    assert "content-type" in response.json()["message"]
    otlp.assert_still_serving()


@pytest.mark.parametrize("encoding", ["br", "zstd", "gzip, br", "compress"])
def test_unknown_content_encoding_is_415(otlp: Harness, encoding: str) -> None:
    response = otlp.post(gzip.compress(call_request().SerializeToString()), **{"content-encoding": encoding})
    assert response.status_code == 415
    assert "content-encoding" in _status(response).message
    otlp.assert_still_serving()


def test_corrupt_gzip_is_400(otlp: Harness) -> None:
    response = otlp.post(b"\x1f\x8b\x08\x00garbage-not-deflate", **{"content-encoding": "gzip"})
    assert response.status_code == 400
    assert "not valid gzip" in _status(response).message
    otlp.assert_still_serving()


def test_wrong_method_and_path(otlp: Harness) -> None:
    assert otlp.client.get(otlp.url).status_code == 405
    assert otlp.client.post(otlp.url.replace("/v1/traces", "/v1/logs"), content=b"").status_code == 404
    otlp.assert_still_serving()


# --------------------------------------------------------------------------- size limits


def test_gzip_bomb_is_413_quickly_and_without_memory_blow_up(make_server: Callable[..., Harness]) -> None:
    otlp = make_server(max_request_bytes=4 * MiB, max_decompressed_bytes=1 * MiB)
    bomb = gzip_bomb(1024)  # 1 GiB of zeros in about 1 MiB
    assert len(bomb) < 2 * MiB
    rss_before_kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    started = time.monotonic()
    response = otlp.post(bomb, **{"content-encoding": "gzip"})
    elapsed = time.monotonic() - started
    assert response.status_code == 413
    status = _status(response)
    assert status.code == 8  # RESOURCE_EXHAUSTED
    assert "decompressed body is over the 1048576-byte limit" in status.message
    assert elapsed < 5
    grown_mib = (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - rss_before_kib) / 1024
    assert grown_mib < 128, f"peak RSS grew by {grown_mib:.0f} MiB"
    otlp.assert_still_serving()


def test_gunzip_limited_stops_at_the_limit() -> None:
    bomb = gzip_bomb(64)
    with pytest.raises(Exception, match="over the 1000-byte limit") as info:
        gunzip_limited(bomb, 1000)
    assert getattr(info.value, "http_status", None) == 413
    assert gunzip_limited(gzip.compress(b"x" * 1000), 1000) == b"x" * 1000


def test_body_over_the_limit_with_content_length_is_413(make_server: Callable[..., Harness]) -> None:
    otlp = make_server(max_request_bytes=64 * 1024)
    response = otlp.post(b"\x00" * (256 * 1024))
    assert response.status_code == 413
    assert _status(response).code == 8
    assert "over the 65536-byte limit" in _status(response).message
    otlp.assert_still_serving()


def test_body_over_the_limit_without_content_length_is_413(make_server: Callable[..., Harness]) -> None:
    otlp = make_server(max_request_bytes=64 * 1024)
    chunk = b"\x00" * 16 * 1024

    def chunks() -> Iterator[bytes]:
        for _ in range(16):
            yield chunk

    request = otlp.client.build_request(
        "POST", otlp.url, content=chunks(), headers={"content-type": "application/json"}
    )
    assert "content-length" not in request.headers
    assert request.headers["transfer-encoding"] == "chunked"
    response = otlp.client.send(request)
    assert response.status_code == 413
    assert response.json()["code"] == 8
    otlp.assert_still_serving()


def test_body_at_the_limit_is_accepted(make_server: Callable[..., Harness]) -> None:
    body = call_request().SerializeToString()
    otlp = make_server(max_request_bytes=len(body))
    assert otlp.post(body).status_code == 200
    otlp.expect_call()
    otlp.assert_graph()


# --------------------------------------------------------------------------- overload


def test_full_ingest_queue_is_503_with_retry_after(make_server: Callable[..., Harness]) -> None:
    otlp = make_server(queue_batches=1)
    otlp.store.gate.clear()
    results: dict[str, httpx.Response] = {}

    def send(name: str) -> None:
        with httpx.Client(timeout=30) as own_client:
            results[name] = own_client.post(
                otlp.url, content=call_request().SerializeToString(), headers={"content-type": PROTOBUF}
            )

    first = threading.Thread(target=send, args=("first",))
    first.start()
    wait_until(otlp.store.writing.is_set, "the worker to block in the store")
    second = threading.Thread(target=send, args=("second",))
    second.start()
    wait_until(lambda: otlp.pipeline.queue_depth == 1, "the second batch to be queued")

    try:
        response = otlp.post(call_request().SerializeToString())
        assert response.status_code == 503
        assert response.headers["retry-after"] == "2"
        status = _status(response)
        assert status.code == 14  # UNAVAILABLE
        (detail,) = status.details
        info = error_details_pb2.RetryInfo()
        assert detail.Unpack(info) and info.retry_delay.seconds == 2
        json_response = otlp.post(json.dumps(call_json()).encode(), "application/json")
        assert json_response.status_code == 503 and json_response.headers["retry-after"] == "2"
        assert json_response.json()["code"] == 14
        assert otlp.pipeline.stats.overloaded == 2
    finally:
        otlp.store.gate.set()
        first.join(30)
        second.join(30)
    assert results["first"].status_code == 200 and results["second"].status_code == 200
    otlp.expect_call()
    otlp.expect_call()
    otlp.assert_graph()  # the two refused requests left nothing behind
    otlp.assert_still_serving()


# --------------------------------------------------------------------------- bearer token


def test_bearer_token(make_server: Callable[..., Harness]) -> None:
    otlp = make_server(token="s3cret-token")
    body = call_request().SerializeToString()
    for headers in ({}, {"authorization": "Bearer wrong"}, {"authorization": "s3cret-token"},
                    {"authorization": "Basic s3cret-token"}, {"authorization": "Bearer s3cret-token-and-more"}):
        response = otlp.client.post(otlp.url, content=body, headers={"content-type": PROTOBUF, **headers})
        assert response.status_code == 401, headers
        assert _status(response).code == 16  # UNAUTHENTICATED
    json_response = otlp.client.post(otlp.url, content=b"{}", headers={"content-type": "application/json"})
    assert json_response.status_code == 401 and json_response.json()["code"] == 16
    otlp.assert_graph()  # nothing stored
    assert otlp.post(body).status_code == 200
    otlp.expect_call()
    otlp.assert_still_serving()


def test_bearer_scheme_is_case_insensitive(make_server: Callable[..., Harness]) -> None:
    otlp = make_server(token="s3cret-token")
    for scheme in ("bearer", "BEARER"):
        response = otlp.client.post(otlp.url, content=call_request().SerializeToString(),
                                    headers={"content-type": PROTOBUF, "authorization": f"{scheme} s3cret-token"})
        assert response.status_code == 200, scheme
        otlp.expect_call()
    zipkin = otlp.url.replace("/v1/traces", "/api/v2/spans")
    response = otlp.client.post(zipkin, content=b"[]", headers={"content-type": "application/json",
                                                               "authorization": "bearer s3cret-token"})
    assert response.status_code == 202
    otlp.assert_graph()


def test_token_is_checked_before_the_body_is_read(make_server: Callable[..., Harness]) -> None:
    otlp = make_server(token="t", max_request_bytes=1024)
    response = otlp.client.post(otlp.url, content=b"\x00" * 4096, headers={"content-type": PROTOBUF})
    assert response.status_code == 401


# --------------------------------------------------------------------------- known bugs


def test_span_time_beyond_int64_does_not_poison_later_exports(otlp: Harness) -> None:
    otlp.post(call_request("evil", "victim", start=2**64 - 10_000_000).SerializeToString())
    otlp.assert_still_serving()


def test_json_time_with_superscript_digit_is_not_a_retryable_error(otlp: Harness) -> None:
    doc = call_json()
    doc["resourceSpans"][0]["scopeSpans"][0]["spans"][0]["startTimeUnixNano"] = "²"
    response = otlp.post(json.dumps(doc).encode(), "application/json")
    assert response.status_code in (200, 400), response.text
