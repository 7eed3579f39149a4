"""The OTLP/gRPC receiver as a real grpc server on loopback, with good, bad and hostile calls.

Raw calls (identity serialisers) send arbitrary bytes; the generated TraceServiceStub sends
valid requests. After every bad call a good one must still be committed, and the graph must
hold exactly the calls of the good requests.
"""

from __future__ import annotations

import itertools
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import grpc
import pytest
from google.rpc import error_details_pb2, status_pb2
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
    ExportTraceServiceRequest,
    ExportTraceServiceResponse,
)
from opentelemetry.proto.collector.trace.v1.trace_service_pb2_grpc import TraceServiceStub
from opentelemetry.proto.common.v1.common_pb2 import AnyValue, KeyValue
from opentelemetry.proto.resource.v1.resource_pb2 import Resource as PbResource
from opentelemetry.proto.trace.v1.trace_pb2 import ResourceSpans, ScopeSpans
from opentelemetry.proto.trace.v1.trace_pb2 import Span as PbSpan

from collector.ingest import Receiver
from collector.otlp_grpc import SERVICE_NAME, build_grpc_server
from collector.pipeline import IngestPipeline
from graph.aggregate import AggregateBatch
from graph.model import Window
from graph.service_graph import ServiceGraph
from graph.store.sqlite import SQLiteStore
from tests.collector.otlp_builders import wait_until

METHOD = f"/{SERVICE_NAME}/Export"
MiB = 1 << 20
ALL_TIME = Window(0, 2**33)
TIMEOUT = 20.0
_trace_numbers = itertools.count(1)


def _kv(key: str, value: str) -> KeyValue:
    return KeyValue(key=key, value=AnyValue(string_value=value))


def call_request(
    client: str = "frontend", server: str = "backend", *, bad_ids: int = 0, padding: int = 0
) -> ExportTraceServiceRequest:
    """One rpc call client → server in a fresh trace; `bad_ids` extra spans with 5-byte span ids;
    `padding` bytes of an ignored resource attribute to make the message big."""
    trace = next(_trace_numbers).to_bytes(16, "big")
    t0 = time.time_ns()
    parent = PbSpan(trace_id=trace, span_id=b"\x00" * 7 + b"\x01", kind=PbSpan.SPAN_KIND_CLIENT, name="call",
                    start_time_unix_nano=t0, end_time_unix_nano=t0 + 3_000_000)
    child = PbSpan(trace_id=trace, span_id=b"\x00" * 7 + b"\x02", parent_span_id=parent.span_id,
                   kind=PbSpan.SPAN_KIND_SERVER, name="handle", start_time_unix_nano=t0 + 1_000_000,
                   end_time_unix_nano=t0 + 2_000_000)
    client_spans = [parent] + [
        PbSpan(trace_id=trace, span_id=bytes([i + 3]) * 5, start_time_unix_nano=t0) for i in range(bad_ids)
    ]
    client_attrs = [_kv("service.name", client)]
    if padding:
        client_attrs.append(_kv("padding", "p" * padding))
    return ExportTraceServiceRequest(resource_spans=[
        ResourceSpans(resource=PbResource(attributes=client_attrs), scope_spans=[ScopeSpans(spans=client_spans)]),
        ResourceSpans(resource=PbResource(attributes=[_kv("service.name", server)]),
                      scope_spans=[ScopeSpans(spans=[child])]),
    ])


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


@dataclass
class Harness:
    """A running OTLP/gRPC receiver, a channel to it and the expected graph."""

    channel: grpc.Channel
    stub: TraceServiceStub
    raw: Any
    store: GatedStore
    pipeline: IngestPipeline
    token: str | None = None
    expected: dict[tuple[str, str, str], int] = field(default_factory=dict)

    @property
    def metadata(self) -> list[tuple[str, str]]:
        return [("authorization", f"Bearer {self.token}")] if self.token else []

    def export(self, request: ExportTraceServiceRequest, **kwargs: Any) -> ExportTraceServiceResponse:
        kwargs.setdefault("metadata", self.metadata)
        return self.stub.Export(request, timeout=TIMEOUT, **kwargs)

    def export_raw(self, data: bytes, **kwargs: Any) -> bytes:
        kwargs.setdefault("metadata", self.metadata)
        return self.raw(data, timeout=TIMEOUT, **kwargs)

    def calls(self) -> dict[tuple[str, str, str], int]:
        graph = ServiceGraph.from_store(self.store, ALL_TIME)
        return {(e.source, e.target, e.connection_type): e.calls for e in graph.edges}

    def expect_call(self, client: str = "frontend", server: str = "backend") -> None:
        key = (client, server, "rpc")
        self.expected[key] = self.expected.get(key, 0) + 1

    def assert_graph(self) -> None:
        assert self.calls() == self.expected

    def assert_still_serving(self) -> None:
        assert self.export(call_request()) == ExportTraceServiceResponse()
        self.expect_call()
        self.assert_graph()


@pytest.fixture
def make_server(tmp_path: Path) -> Iterator[Callable[..., Harness]]:
    started: list[tuple[grpc.Server, grpc.Channel, IngestPipeline, GatedStore]] = []

    def make(*, token: str | None = None, max_request_bytes: int = 4 * MiB, queue_batches: int = 64,
             max_concurrent: int = 32, max_inflight_bytes: int = 64 * MiB) -> Harness:
        store = GatedStore(tmp_path / f"graph{len(started)}.db")
        pipeline = IngestPipeline(store, ttl=60.0, queue_batches=queue_batches, tick_seconds=0.05)
        pipeline.start()
        server, port = build_grpc_server(
            Receiver(pipeline), "127.0.0.1:0", max_request_bytes=max_request_bytes, token=token,
            max_concurrent=max_concurrent, max_inflight_bytes=max_inflight_bytes,
        )
        server.start()
        channel = grpc.insecure_channel(f"127.0.0.1:{port}")
        started.append((server, channel, pipeline, store))
        raw = channel.unary_unary(METHOD, request_serializer=None, response_deserializer=None)
        return Harness(channel, TraceServiceStub(channel), raw, store, pipeline, token)

    yield make
    for server, channel, pipeline, store in started:
        store.gate.set()
        channel.close()
        server.stop(grace=None).wait(10)
        pipeline.stop(timeout=10)
        store.close()


@pytest.fixture
def otlp(make_server: Callable[..., Harness]) -> Harness:
    return make_server()


def _code(info: pytest.ExceptionInfo[grpc.RpcError]) -> grpc.StatusCode:
    return info.value.code()  # type: ignore[attr-defined, no-any-return]


# --------------------------------------------------------------------------- good calls


def test_valid_export_returns_an_empty_response_and_commits_the_edge(otlp: Harness) -> None:
    assert otlp.export(call_request()) == ExportTraceServiceResponse()
    otlp.expect_call()
    otlp.assert_graph()  # committed before the reply


def test_raw_valid_bytes_are_accepted(otlp: Harness) -> None:
    assert otlp.export_raw(call_request("web", "api").SerializeToString()) == b""
    otlp.expect_call("web", "api")
    otlp.assert_still_serving()


def test_empty_request_is_accepted(otlp: Harness) -> None:
    assert otlp.export_raw(b"") == b""
    otlp.assert_still_serving()


def test_gzip_compressed_request(otlp: Harness) -> None:
    response = otlp.export(call_request(padding=200_000), compression=grpc.Compression.Gzip)
    assert response == ExportTraceServiceResponse()
    otlp.expect_call()
    otlp.assert_still_serving()


def test_partial_success_reports_rejected_spans(otlp: Harness) -> None:
    response = otlp.export(call_request(bad_ids=2))
    assert response.partial_success.rejected_spans == 2
    assert "span ids 8 bytes" in response.partial_success.error_message
    assert "(got 16/5/0)" in response.partial_success.error_message
    otlp.expect_call()
    otlp.assert_graph()
    otlp.assert_still_serving()


def test_concurrent_exports_are_all_committed(otlp: Harness) -> None:
    futures = [otlp.stub.Export.future(call_request(), timeout=TIMEOUT) for _ in range(20)]
    assert all(f.result() == ExportTraceServiceResponse() for f in futures)
    otlp.expected[("frontend", "backend", "rpc")] = 20
    otlp.assert_still_serving()


# --------------------------------------------------------------------------- bad calls


@pytest.mark.parametrize(
    "data", [b"\xff\xff\xff\xff garbage", bytes(range(256)), b"\x0a\xff\xff\xff\xff\x0f"],
    ids=["garbage", "all-bytes", "huge-length-prefix"],
)
def test_garbage_is_invalid_argument(otlp: Harness, data: bytes) -> None:
    with pytest.raises(grpc.RpcError) as info:
        otlp.export_raw(data)
    assert _code(info) == grpc.StatusCode.INVALID_ARGUMENT
    assert "not a valid OTLP ExportTraceServiceRequest" in info.value.details()  # type: ignore[attr-defined]
    otlp.assert_still_serving()


def test_truncated_request_is_invalid_argument(otlp: Harness) -> None:
    data = call_request().SerializeToString()
    for cut in (1, len(data) // 3, len(data) - 1):
        with pytest.raises(grpc.RpcError) as info:
            otlp.export_raw(data[:cut])
        assert _code(info) == grpc.StatusCode.INVALID_ARGUMENT
    otlp.assert_graph()  # nothing stored
    otlp.assert_still_serving()


def test_message_over_the_limit_is_resource_exhausted(make_server: Callable[..., Harness]) -> None:
    otlp = make_server(max_request_bytes=256 * 1024)
    with pytest.raises(grpc.RpcError) as info:
        otlp.export(call_request(padding=300 * 1024))
    assert _code(info) == grpc.StatusCode.RESOURCE_EXHAUSTED
    with pytest.raises(grpc.RpcError) as info:
        otlp.export_raw(b"\x00" * (1 * MiB))
    assert _code(info) == grpc.StatusCode.RESOURCE_EXHAUSTED
    otlp.assert_graph()
    otlp.assert_still_serving()


def test_gzip_bomb_is_resource_exhausted(make_server: Callable[..., Harness]) -> None:
    """A small gzip-compressed message that inflates past the limit is refused."""
    otlp = make_server(max_request_bytes=256 * 1024)
    request = call_request(padding=8 * MiB)
    with pytest.raises(grpc.RpcError) as info:
        otlp.export(request, compression=grpc.Compression.Gzip)
    assert _code(info) == grpc.StatusCode.RESOURCE_EXHAUSTED
    assert "larger than max" in info.value.details()  # type: ignore[attr-defined]
    otlp.assert_graph()
    otlp.assert_still_serving()


def test_unknown_method_is_unimplemented(otlp: Harness) -> None:
    other = otlp.channel.unary_unary(f"/{SERVICE_NAME}/Nope", request_serializer=None, response_deserializer=None)
    with pytest.raises(grpc.RpcError) as info:
        other(b"", timeout=TIMEOUT)
    assert _code(info) == grpc.StatusCode.UNIMPLEMENTED
    otlp.assert_still_serving()


# --------------------------------------------------------------------------- overload


def _fill_queue(otlp: Harness) -> list[grpc.Future]:
    """Block the worker in a store write and leave one batch queued (queue size 1)."""
    otlp.store.gate.clear()
    first = otlp.stub.Export.future(call_request(), timeout=TIMEOUT)
    wait_until(otlp.store.writing.is_set, "the worker to block in the store")
    second = otlp.stub.Export.future(call_request(), timeout=TIMEOUT)
    wait_until(lambda: otlp.pipeline.queue_depth == 1, "the second batch to be queued")
    return [first, second]


def test_full_ingest_queue_is_unavailable(make_server: Callable[..., Harness]) -> None:
    otlp = make_server(queue_batches=1)
    pending = _fill_queue(otlp)
    try:
        with pytest.raises(grpc.RpcError) as info:
            otlp.export(call_request())
        assert _code(info) == grpc.StatusCode.UNAVAILABLE
        assert "overloaded" in info.value.details()  # type: ignore[attr-defined]
        assert otlp.pipeline.stats.overloaded == 1
    finally:
        otlp.store.gate.set()
    assert [f.result() for f in pending] == [ExportTraceServiceResponse()] * 2
    otlp.expect_call()
    otlp.expect_call()
    otlp.assert_graph()  # the refused call left nothing behind
    otlp.assert_still_serving()


def test_overload_answer_carries_retry_info(make_server: Callable[..., Harness]) -> None:
    otlp = make_server(queue_batches=1)
    pending = _fill_queue(otlp)
    try:
        with pytest.raises(grpc.RpcError) as info:
            otlp.export(call_request())
        trailers = dict(info.value.trailing_metadata() or ())  # type: ignore[attr-defined]
    finally:
        otlp.store.gate.set()
        for f in pending:
            f.result()
    assert "grpc-status-details-bin" in trailers


def _retry_delay(error: grpc.RpcError) -> int:
    """The RetryInfo delay (seconds) in a refusal's grpc-status-details-bin trailer."""
    trailers = dict(error.trailing_metadata() or ())  # type: ignore[attr-defined]
    status = status_pb2.Status.FromString(trailers["grpc-status-details-bin"])
    info = error_details_pb2.RetryInfo()
    assert status.details[0].Unpack(info)
    return info.retry_delay.seconds


def _block_one_export(otlp: Harness, request: ExportTraceServiceRequest) -> grpc.Future:
    """One admitted export held in a store write (so it stays in progress)."""
    otlp.store.gate.clear()
    blocked = otlp.stub.Export.future(request, timeout=TIMEOUT)
    wait_until(otlp.store.writing.is_set, "the export to block in the store")
    return blocked


def test_exports_beyond_the_concurrency_limit_are_unavailable_with_retry_info(
    make_server: Callable[..., Harness],
) -> None:
    otlp = make_server(max_concurrent=1)
    blocked = _block_one_export(otlp, call_request())
    try:
        with pytest.raises(grpc.RpcError) as info:
            otlp.export(call_request())
        assert _code(info) == grpc.StatusCode.UNAVAILABLE
        assert "exports in progress" in info.value.details()  # type: ignore[attr-defined]
        assert _retry_delay(info.value) == 2
        assert otlp.pipeline.stats.overloaded == 1
    finally:
        otlp.store.gate.set()
    assert blocked.result() == ExportTraceServiceResponse()
    otlp.expect_call()
    otlp.assert_still_serving()  # the slot was given back


def test_exports_beyond_the_byte_budget_are_resource_exhausted_with_retry_info(
    make_server: Callable[..., Harness],
) -> None:
    otlp = make_server(max_inflight_bytes=600 * 1024)
    blocked = _block_one_export(otlp, call_request(padding=512 * 1024))  # alone, it may exceed nothing
    try:
        with pytest.raises(grpc.RpcError) as info:
            otlp.export(call_request(padding=128 * 1024))  # 512 + 128 KiB held would be over 600 KiB
        assert _code(info) == grpc.StatusCode.RESOURCE_EXHAUSTED
        assert "request bytes in progress" in info.value.details()  # type: ignore[attr-defined]
        assert _retry_delay(info.value) == 2
    finally:
        otlp.store.gate.set()
    assert blocked.result() == ExportTraceServiceResponse()
    otlp.expect_call()
    otlp.assert_still_serving()  # the bytes were given back


# --------------------------------------------------------------------------- bearer token


def test_bearer_token(make_server: Callable[..., Harness]) -> None:
    otlp = make_server(token="s3cret-token")
    request = call_request()
    for metadata in ([], [("authorization", "Bearer wrong")], [("authorization", "s3cret-token")],
                     [("authorization", "Bearer s3cret-token-and-more")], [("x-token", "Bearer s3cret-token")]):
        with pytest.raises(grpc.RpcError) as info:
            otlp.export(request, metadata=metadata)
        assert _code(info) == grpc.StatusCode.UNAUTHENTICATED, metadata
    with pytest.raises(grpc.RpcError) as info:
        otlp.export_raw(b"\xff garbage", metadata=[])
    assert _code(info) == grpc.StatusCode.UNAUTHENTICATED  # not even decoded
    otlp.assert_graph()  # nothing stored
    assert otlp.export(request, metadata=[("authorization", "Bearer s3cret-token")]) == ExportTraceServiceResponse()
    otlp.expect_call()
    otlp.assert_still_serving()


def test_bearer_scheme_is_case_insensitive(make_server: Callable[..., Harness]) -> None:
    otlp = make_server(token="s3cret-token")
    for scheme in ("bearer", "BEARER"):
        assert otlp.export(call_request(), metadata=[("authorization", f"{scheme} s3cret-token")]) \
            == ExportTraceServiceResponse()
        otlp.expect_call()
    otlp.assert_graph()
