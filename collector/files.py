"""Reading trace files for `ownermap ingest`: OTLP JSON (one request or JSON lines), OTLP
protobuf, Jaeger and Zipkin JSON, recognised by content; `-` reads standard input."""

from __future__ import annotations

import json
import sys
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import IO, Any

from collector.decode import DecodeError, decode_json_document, decode_request_bytes
from collector.formats.jaeger import decode_jaeger
from collector.formats.sniff import detect_format
from collector.formats.zipkin import decode_zipkin
from graph.model import DecodeResult

Progress = Callable[[int], None]


class TraceFileError(ValueError):
    """A file that cannot be read as traces; the message names the file (and line)."""


def decode_document(doc: Any, owner_keys: Iterable[str] = ()) -> DecodeResult:
    """Decode one parsed JSON document of any supported format."""
    kind = detect_format(doc)
    if kind == "otlp":
        return decode_json_document(doc, owner_keys)
    if kind == "jaeger":
        return decode_jaeger(doc, owner_keys)
    return decode_zipkin(doc, owner_keys)


def read_trace_file(
    path: str, owner_keys: Iterable[str] = (), progress: Progress | None = None
) -> Iterator[DecodeResult]:
    """Decode every document of a file (or `-` for stdin); JSON lines yield one result per line."""
    owner_keys = tuple(owner_keys)
    name = "<stdin>" if path == "-" else path
    try:
        handle: IO[bytes] = sys.stdin.buffer if path == "-" else Path(path).open("rb")  # noqa: SIM115
    except OSError as exc:
        raise TraceFileError(f"{name}: cannot open: {exc.strerror or exc}") from None
    try:
        data = handle.read()
        first = data.lstrip()[:1]
        if not first:
            raise TraceFileError(f"{name}: file is empty; expected OTLP, Jaeger or Zipkin traces")
        if first in (b"{", b"["):
            yield from _read_json(name, data, owner_keys, progress)
        else:
            if progress:
                progress(len(data))
            try:
                yield decode_request_bytes(data, owner_keys)
            except DecodeError as exc:
                raise TraceFileError(
                    f"{name}: not JSON and not an OTLP protobuf ExportTraceServiceRequest ({exc})"
                ) from None
    finally:
        if handle is not sys.stdin.buffer:
            handle.close()


def _read_json(
    name: str, data: bytes, owner_keys: tuple[str, ...], progress: Progress | None
) -> Iterator[DecodeResult]:
    try:
        doc = json.loads(data)
    except json.JSONDecodeError as whole_error:
        lines = data.splitlines(keepends=True)
        first_line = next((line for line in lines if line.strip()), b"")
        if len(lines) < 2 or not _is_json(first_line):
            # Not JSON lines either: report where the document itself is broken.
            raise TraceFileError(f"{name}: invalid JSON at line {whole_error.lineno}: {whole_error.msg}") from None
        yield from _read_json_lines(name, lines, owner_keys, progress)
        return
    except RecursionError:
        raise TraceFileError(f"{name}: JSON is nested too deeply") from None
    if progress:
        progress(len(data))
    try:
        yield decode_document(doc, owner_keys)
    except DecodeError as exc:
        raise TraceFileError(f"{name}: {exc}") from None


def _is_json(line: bytes) -> bool:
    try:
        json.loads(line)
    except (ValueError, RecursionError):
        return False
    return True


def _read_json_lines(
    name: str, lines: list[bytes], owner_keys: tuple[str, ...], progress: Progress | None
) -> Iterator[DecodeResult]:
    """JSON lines, as the collector's file exporter writes: one export request per line."""
    for number, line in enumerate(lines, start=1):
        if progress:
            progress(len(line))
        if not line.strip():
            continue
        try:
            doc = json.loads(line)
        except (json.JSONDecodeError, RecursionError) as exc:
            raise TraceFileError(f"{name}: line {number}: invalid JSON ({exc})") from None
        try:
            yield decode_document(doc, owner_keys)
        except DecodeError as exc:
            raise TraceFileError(f"{name}: line {number}: {exc}") from None
