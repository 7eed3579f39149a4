"""read_trace_file: every supported file shape, stdin, and files that are not traces at all."""

from __future__ import annotations

import io
import json
import os
import time
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from opentelemetry.proto.common.v1.common_pb2 import AnyValue, KeyValue
from opentelemetry.proto.resource.v1.resource_pb2 import Resource as PbResource
from opentelemetry.proto.trace.v1.trace_pb2 import ResourceSpans, ScopeSpans
from opentelemetry.proto.trace.v1.trace_pb2 import Span as PbSpan

from collector.files import TraceFileError, read_trace_file
from graph.model import DecodeResult, SpanKind

T0 = 1_700_000_000_000_000_000
TRACE_HEX = "5b8efff798038103d269b633813fc60c"


def otlp_request(service: str, n: int = 2, trace_hex: str = TRACE_HEX) -> dict[str, Any]:
    """An OTLP/JSON export request as the collector's file exporter writes it (hex ids, string times)."""
    spans = [
        {
            "traceId": trace_hex, "spanId": f"{i + 1:016x}", "parentSpanId": f"{i:016x}" if i else "",
            "name": f"op{i}", "kind": 2 if i == 0 else 3,
            "startTimeUnixNano": str(T0 + i), "endTimeUnixNano": str(T0 + i + 1000),
            "status": {},
        }
        for i in range(n)
    ]
    return {"resourceSpans": [{
        "resource": {"attributes": [{"key": "service.name", "value": {"stringValue": service}}]},
        "scopeSpans": [{"scope": {"name": "test"}, "spans": spans}],
    }]}


def pb_request(service: str) -> bytes:
    span = PbSpan(trace_id=bytes.fromhex(TRACE_HEX), span_id=b"\x00" * 7 + b"\x01", kind=PbSpan.SPAN_KIND_SERVER,
                  start_time_unix_nano=T0, end_time_unix_nano=T0 + 5)
    resource = PbResource(attributes=[KeyValue(key="service.name", value=AnyValue(string_value=service))])
    return ExportTraceServiceRequest(
        resource_spans=[ResourceSpans(resource=resource, scope_spans=[ScopeSpans(spans=[span])])]
    ).SerializeToString()


def services(results: list[DecodeResult]) -> list[str]:
    return [span.service for result in results for span in result.spans]


def read_all(path: Path | str, **kwargs: Any) -> list[DecodeResult]:
    return list(read_trace_file(str(path), **kwargs))


class Progress:
    def __init__(self) -> None:
        self.counts: list[int] = []

    def __call__(self, n: int) -> None:
        self.counts.append(n)

    @property
    def total(self) -> int:
        return sum(self.counts)


# --------------------------------------------------------------------------- OTLP


def test_otlp_json_single_document(tmp_path: Path) -> None:
    path = tmp_path / "trace.json"
    path.write_text(json.dumps(otlp_request("checkout", 3), indent=2))
    progress = Progress()
    results = read_all(path, progress=progress)
    assert len(results) == 1
    assert services(results) == ["checkout"] * 3
    assert results[0].spans[1].kind == SpanKind.CLIENT
    assert progress.total == path.stat().st_size


def test_otlp_json_lines_as_the_collector_file_exporter_writes(tmp_path: Path) -> None:
    path = tmp_path / "exporter.jsonl"
    lines = [json.dumps(otlp_request(name)) for name in ("a", "b", "c")]
    path.write_text(lines[0] + "\n\n" + lines[1] + "\n   \n" + lines[2] + "\n")
    progress = Progress()
    results = read_all(path, progress=progress)
    assert len(results) == 3
    assert services(results) == ["a", "a", "b", "b", "c", "c"]
    assert progress.total == path.stat().st_size


def test_json_lines_reject_bad_spans_per_line(tmp_path: Path) -> None:
    bad = otlp_request("b")
    bad["resourceSpans"][0]["scopeSpans"][0]["spans"][0]["spanId"] = "12"
    path = tmp_path / "mixed.jsonl"
    path.write_text(json.dumps(otlp_request("a")) + "\n" + json.dumps(bad) + "\n")
    first, second = read_all(path)
    assert first.rejected == 0 and second.rejected == 1 and len(second.spans) == 1


def test_owner_keys_are_passed_to_the_decoder(tmp_path: Path) -> None:
    doc = otlp_request("a", 1)
    doc["resourceSpans"][0]["resource"]["attributes"].append({"key": "team", "value": {"stringValue": "core"}})
    path = tmp_path / "t.json"
    path.write_text(json.dumps(doc))
    (result,) = read_all(path, owner_keys=["team"])
    assert result.spans[0].resource.hints == {"team": "core"}


def test_protobuf_request_starts_with_a_newline_byte() -> None:
    assert pb_request("x")[:1] == b"\n"  # so sniffing must not skip leading whitespace bytes


def test_protobuf_file(tmp_path: Path) -> None:
    path = tmp_path / "trace.pb"
    path.write_bytes(pb_request("pb-service"))
    progress = Progress()
    results = read_all(path, progress=progress)
    assert services(results) == ["pb-service"]
    assert progress.total == path.stat().st_size


def fake_stdin(monkeypatch: pytest.MonkeyPatch, data: bytes) -> io.BytesIO:
    buffer = io.BytesIO(data)
    monkeypatch.setattr("sys.stdin", SimpleNamespace(buffer=buffer))
    return buffer


def test_stdin_json(monkeypatch: pytest.MonkeyPatch) -> None:
    buffer = fake_stdin(monkeypatch, json.dumps(otlp_request("from-stdin")).encode())
    assert services(read_all("-")) == ["from-stdin", "from-stdin"]
    assert not buffer.closed  # stdin is not ours to close


def test_stdin_json_lines(monkeypatch: pytest.MonkeyPatch) -> None:
    lines = [json.dumps(otlp_request(name, 1)) for name in ("x", "y")]
    fake_stdin(monkeypatch, ("\n".join(lines) + "\n").encode())
    assert services(read_all("-")) == ["x", "y"]


def test_stdin_protobuf(monkeypatch: pytest.MonkeyPatch) -> None:
    fake_stdin(monkeypatch, pb_request("pb-stdin"))
    assert services(read_all("-")) == ["pb-stdin"]


def test_stdin_errors_name_stdin_and_leave_it_open(monkeypatch: pytest.MonkeyPatch) -> None:
    buffer = fake_stdin(monkeypatch, b"\xff\xfe\xfd garbage")
    with pytest.raises(TraceFileError, match=r"^<stdin>: not JSON and not an OTLP protobuf"):
        read_all("-")
    assert not buffer.closed


# --------------------------------------------------------------------------- Jaeger and Zipkin


def test_jaeger_document(tmp_path: Path) -> None:
    trace = "00000000000000aa"
    doc = {"data": [{
        "traceID": trace,
        "spans": [
            {"traceID": trace, "spanID": "0000000000000001", "processID": "p1", "operationName": "GET /",
             "startTime": 1_700_000_000_000_000, "duration": 1500, "references": [],
             "tags": [{"key": "span.kind", "type": "string", "value": "client"}]},
            {"traceID": trace, "spanID": "0000000000000002", "processID": "p2", "operationName": "handle",
             "startTime": 1_700_000_000_000_100, "duration": 900,
             "references": [{"refType": "CHILD_OF", "traceID": trace, "spanID": "0000000000000001"}],
             "tags": [{"key": "span.kind", "type": "string", "value": "server"}]},
        ],
        "processes": {"p1": {"serviceName": "frontend", "tags": []}, "p2": {"serviceName": "backend", "tags": []}},
    }]}
    path = tmp_path / "jaeger.json"
    path.write_text(json.dumps(doc))
    (result,) = read_all(path)
    assert result.rejected == 0
    by_service = {s.service: s for s in result.spans}
    assert set(by_service) == {"frontend", "backend"}
    assert by_service["backend"].parent_id == by_service["frontend"].span_id
    assert by_service["frontend"].kind == SpanKind.CLIENT and by_service["backend"].kind == SpanKind.SERVER


def test_zipkin_document(tmp_path: Path) -> None:
    trace = "00000000000000ab"
    doc = [
        {"traceId": trace, "id": "0000000000000001", "kind": "CLIENT", "timestamp": 1_600_000_000_000_000,
         "duration": 1000, "localEndpoint": {"serviceName": "Web"}},
        {"traceId": trace, "id": "0000000000000002", "parentId": "0000000000000001", "kind": "SERVER",
         "timestamp": 1_600_000_000_000_100, "duration": 500, "localEndpoint": {"serviceName": "api"}},
    ]
    path = tmp_path / "zipkin.json"
    path.write_text(json.dumps(doc))
    (result,) = read_all(path)
    assert result.rejected == 0
    assert sorted(services([result])) == ["api", "web"]  # Zipkin lowercases service names


def test_empty_jaeger_and_zipkin_documents(tmp_path: Path) -> None:
    (tmp_path / "j.json").write_text('{"data": []}')
    (tmp_path / "z.json").write_text("[]")
    assert services(read_all(tmp_path / "j.json")) == []
    assert services(read_all(tmp_path / "z.json")) == []


# --------------------------------------------------------------------------- bad files


@pytest.mark.parametrize("content", [b"", b"   \n\t\n  "], ids=["empty", "whitespace"])
def test_empty_file(tmp_path: Path, content: bytes) -> None:
    path = tmp_path / "empty.json"
    path.write_bytes(content)
    with pytest.raises(TraceFileError, match=r"empty\.json: file is empty; expected OTLP, Jaeger or Zipkin"):
        read_all(path)


@pytest.mark.parametrize(
    "content", [b"\xff\xfe\xfd\xfc garbage", bytes(range(256)), b"\x89PNG\r\n\x1a\n" + b"\x00" * 50]
)
def test_binary_garbage(tmp_path: Path, content: bytes) -> None:
    path = tmp_path / "garbage.bin"
    path.write_bytes(content)
    with pytest.raises(TraceFileError) as info:
        read_all(path)
    message = str(info.value)
    assert message.startswith(str(path))
    assert "not JSON and not an OTLP protobuf ExportTraceServiceRequest" in message


def test_truncated_protobuf_file(tmp_path: Path) -> None:
    path = tmp_path / "cut.pb"
    path.write_bytes(pb_request("x")[:-3])
    with pytest.raises(TraceFileError, match="not an OTLP protobuf"):
        read_all(path)


def test_invalid_json_line_names_file_and_line(tmp_path: Path) -> None:
    path = tmp_path / "broken.jsonl"
    good = json.dumps(otlp_request("a"))
    path.write_text(good + "\n" + good + "\n" + '{"resourceSpans": [ nope\n' + good + "\n")
    reader = read_trace_file(str(path))
    assert len(next(reader).spans) == 2  # lines before the bad one are delivered
    assert len(next(reader).spans) == 2
    with pytest.raises(TraceFileError, match=rf"^{path}: line 3: invalid JSON"):
        next(reader)


def test_single_line_invalid_json_names_the_line(tmp_path: Path) -> None:
    path = tmp_path / "one.json"
    path.write_text('{"resourceSpans": [}')
    with pytest.raises(TraceFileError, match=rf"^{path}: invalid JSON at line 1"):
        read_all(path)


def test_pretty_printed_invalid_json_names_the_right_line(tmp_path: Path) -> None:
    path = tmp_path / "pretty.json"
    path.write_text('{\n  "resourceSpans": [\n    {\n      "resource": {,}\n    }\n  ]\n}\n')
    with pytest.raises(TraceFileError, match="line 4"):
        read_all(path)


@pytest.mark.parametrize(
    ("content", "where"),
    [
        ('{"foo": 1, "bar": 2}', "unrecognised trace JSON object (keys: bar, foo)"),
        ("[1, 2, 3]", "unrecognised trace JSON array"),
        ('"just a string"', None),
        ("42", None),
        ('{"resourceSpans": "not a list"}', "unrecognised trace JSON object"),
    ],
)
def test_unknown_json_shape_names_the_expected_formats(tmp_path: Path, content: str, where: str | None) -> None:
    path = tmp_path / "odd.json"
    path.write_text(content)
    with pytest.raises(TraceFileError) as info:
        read_all(path)
    message = str(info.value)
    if content[0] in "{[":
        assert message.startswith(f"{path}: ")
        assert "OTLP/JSON" in message and "Jaeger JSON" in message and "Zipkin v2 JSON" in message
        assert where is not None and where in message
    else:
        # Not starting with { or [: tried as protobuf, and the message says so.
        assert "not JSON and not an OTLP protobuf" in message or "OTLP/JSON" in message


def test_unknown_shape_in_json_lines_names_the_line(tmp_path: Path) -> None:
    path = tmp_path / "lines.jsonl"
    path.write_text(json.dumps(otlp_request("a")) + "\n" + '{"hello": "world"}' + "\n")
    with pytest.raises(TraceFileError, match=r"line 2: unrecognised trace JSON object \(keys: hello\)"):
        read_all(path)


def test_deeply_nested_json_is_a_clear_error(tmp_path: Path) -> None:
    path = tmp_path / "deep.json"
    path.write_text("[" * 200_000 + "]" * 200_000)
    with pytest.raises(TraceFileError, match="nested too deeply"):
        read_all(path)


def test_missing_file(tmp_path: Path) -> None:
    path = tmp_path / "nope" / "missing.json"
    with pytest.raises(TraceFileError, match=rf"^{path}: cannot open: No such file or directory"):
        read_all(path)


def test_directory_is_not_a_trace_file(tmp_path: Path) -> None:
    with pytest.raises(TraceFileError, match="cannot open"):
        read_all(tmp_path)


# --------------------------------------------------------------------------- progress


def _jsonl(tmp_path: Path, separator: str, trailing: bool, prefix: str = "") -> Path:
    path = tmp_path / "p.jsonl"
    lines = [json.dumps(otlp_request(name)) for name in ("a", "b")]
    path.write_bytes((prefix + separator.join(lines) + (separator if trailing else "")).encode())
    return path


@pytest.mark.parametrize(
    ("separator", "trailing", "prefix"),
    [
        ("\n", True, ""),
        ("\n\n", True, ""),
        ("\n", False, ""),
        ("\r\n", True, ""),
        ("\n", True, "\n  "),
    ],
)
def test_progress_sums_to_the_file_size(tmp_path: Path, separator: str, trailing: bool, prefix: str) -> None:
    path = _jsonl(tmp_path, separator, trailing, prefix)
    progress = Progress()
    assert len(read_all(path, progress=progress)) == 2
    assert all(n > 0 for n in progress.counts)
    assert progress.total == path.stat().st_size


def test_large_json_lines_file_reads_quickly(tmp_path: Path) -> None:
    path = tmp_path / "big.jsonl"
    line = json.dumps(otlp_request("bulk", 20))
    with path.open("w") as handle:
        for _ in range(2000):
            handle.write(line + "\n")
    progress = Progress()
    started = time.monotonic()
    total_spans = sum(len(r.spans) for r in read_trace_file(str(path), progress=progress))
    assert total_spans == 40_000
    assert progress.total == path.stat().st_size
    assert time.monotonic() - started < 10


# --------------------------------------------------------------------------- files that are not files


def test_non_utf8_json_file_is_a_clear_error(tmp_path: Path) -> None:
    path = tmp_path / "latin1.json"
    path.write_bytes(json.dumps(otlp_request("caf\u00e9"), ensure_ascii=False).encode("latin-1"))
    with pytest.raises(TraceFileError, match=rf"^{path}: not UTF-8: byte 0xe9 at offset \d+"):
        read_all(path)


def test_fifo_is_refused_without_waiting_for_a_writer(tmp_path: Path) -> None:
    path = tmp_path / "pipe"
    os.mkfifo(path)
    with pytest.raises(TraceFileError, match=rf"^{path}: cannot open: a FIFO, not a regular file"):
        read_all(path)


def test_character_device_is_refused_before_reading() -> None:
    with pytest.raises(TraceFileError, match=r"^/dev/zero: cannot open: a character device, not a regular file"):
        read_all("/dev/zero")


def test_file_over_the_limit_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "big.json"
    path.write_text(json.dumps(otlp_request("a")))
    size = path.stat().st_size
    assert len(read_all(path, max_bytes=size)) == 1
    with pytest.raises(TraceFileError, match=rf"{size} bytes is over the {size - 1}-byte limit for one file"):
        read_all(path, max_bytes=size - 1)


def test_stdin_over_the_limit_is_refused_after_reading_just_past_it(monkeypatch: pytest.MonkeyPatch) -> None:
    buffer = fake_stdin(monkeypatch, b"[" + b" " * 5000 + b"]")
    with pytest.raises(TraceFileError, match=r"^<stdin>: more bytes is over the 1024-byte limit"):
        read_all("-", max_bytes=1024)
    assert buffer.tell() == 1025
