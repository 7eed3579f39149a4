"""Reading trace files for `ownermap ingest`: OTLP JSON (one request or JSON lines), OTLP
protobuf, Jaeger and Zipkin JSON, recognised by content; `-` reads standard input."""

from __future__ import annotations

import json
import os
import stat
import sys
from collections.abc import Callable, Iterable, Iterator
from typing import Any

from collector.decode import decode_json_document, decode_request_bytes
from collector.errors import DecodeError
from collector.formats.jaeger import decode_jaeger
from collector.formats.sniff import detect_format
from collector.formats.zipkin import decode_zipkin
from collector.valid_text import InvalidTextError, checked, load_json, may_hold_surrogates, utf8_text
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


DEFAULT_MAX_FILE_BYTES = 256 * 1024 * 1024

_KINDS = (
    (stat.S_ISDIR, "a directory"), (stat.S_ISFIFO, "a FIFO"), (stat.S_ISCHR, "a character device"),
    (stat.S_ISBLK, "a block device"), (stat.S_ISSOCK, "a socket"),
)


def read_limited(path: str, max_bytes: int = DEFAULT_MAX_FILE_BYTES) -> bytes:
    """The content of a regular file (or of stdin for `-`), at most `max_bytes`; TraceFileError otherwise.

    Opening never blocks (a FIFO is refused, not waited on), and devices such as /dev/zero are
    refused before anything is read."""
    name = "<stdin>" if path == "-" else path
    if path == "-":
        data = sys.stdin.buffer.read(max_bytes + 1)
    else:
        try:
            fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0))
        except OSError as exc:
            raise TraceFileError(f"{name}: cannot open: {exc.strerror or exc}") from None
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode) or info.st_size > max_bytes:
            os.close(fd)
            if stat.S_ISREG(info.st_mode):
                raise TraceFileError(_too_large(name, info.st_size, max_bytes))
            kind = next((text for test, text in _KINDS if test(info.st_mode)), "not a regular file")
            raise TraceFileError(
                f"{name}: cannot open: {kind}, not a regular file (give a file, or - for standard input)"
            )
        with os.fdopen(fd, "rb") as handle:
            try:
                data = handle.read(max_bytes + 1)
            except OSError as exc:
                raise TraceFileError(f"{name}: cannot read: {exc.strerror or exc}") from None
    if len(data) > max_bytes:
        raise TraceFileError(_too_large(name, None, max_bytes))
    return data


def _too_large(name: str, size: int | None, max_bytes: int) -> str:
    what = f"{size} bytes" if size is not None else "more bytes"
    return (f"{name}: {what} is over the {max_bytes}-byte limit for one file "
            "(max_ingest_file_bytes; split the file or raise the limit)")


def read_trace_file(
    path: str,
    owner_keys: Iterable[str] = (),
    progress: Progress | None = None,
    max_bytes: int = DEFAULT_MAX_FILE_BYTES,
) -> Iterator[DecodeResult]:
    """Decode every document of a file (or `-` for stdin); JSON lines yield one result per line.

    Raises TraceFileError, naming the file, for anything that is not a readable trace file of at
    most `max_bytes`."""
    owner_keys = tuple(owner_keys)
    name = "<stdin>" if path == "-" else path
    data = read_limited(path, max_bytes)
    first = data.lstrip()[:1]
    if data.startswith(_BOM):
        first = data[len(_BOM):].lstrip()[:1]
    if not first:
        raise TraceFileError(f"{name}: file is empty; expected OTLP, Jaeger or Zipkin traces")
    if first in (b"{", b"["):
        yield from _read_json(name, data, owner_keys, progress)
        return
    if progress:
        progress(len(data))
    try:
        yield decode_request_bytes(data, owner_keys)
    except DecodeError as exc:
        raise TraceFileError(
            f"{name}: not JSON and not an OTLP protobuf ExportTraceServiceRequest ({exc})"
        ) from None


_BOM = b"\xef\xbb\xbf"


def _read_json(
    name: str, data: bytes, owner_keys: tuple[str, ...], progress: Progress | None
) -> Iterator[DecodeResult]:
    try:
        text = utf8_text(data)
    except InvalidTextError as exc:
        raise TraceFileError(f"{name}: {exc}") from None
    try:
        doc = json.loads(text)
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
        yield checked(decode_document(doc, owner_keys), may_hold_surrogates(text))
    except DecodeError as exc:
        raise TraceFileError(f"{name}: {exc}") from None


def _is_json(line: bytes) -> bool:
    try:
        load_json(line)
    except DecodeError:
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
            doc, suspect = load_json(line, "the line")
        except DecodeError as exc:
            raise TraceFileError(f"{name}: line {number}: invalid JSON ({exc})") from None
        try:
            result = checked(decode_document(doc, owner_keys), suspect)
        except DecodeError as exc:
            raise TraceFileError(f"{name}: line {number}: {exc}") from None
        yield result
