"""OTLP/HTTP receiver: `POST /v1/traces` with protobuf or JSON bodies, optionally gzip-compressed.

Bodies are read with a size limit and decompressed with a second limit (a gzip bomb stops
at the limit, not in memory). Errors follow the OTLP/HTTP specification: 400 for bad
payloads, 413 for oversized ones, 415 for unknown content types, 503 with Retry-After when
overloaded; the body is a `google.rpc.Status` (protobuf or JSON, like the request).
"""

from __future__ import annotations

import hmac
import logging
import zlib
from collections.abc import Awaitable, Callable

from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from collector.decode import (
    DecodeError,
    decode_json_bytes,
    decode_request_bytes,
    encode_response,
    encode_status,
    response_json,
)
from collector.formats.zipkin import decode_zipkin_bytes
from collector.ingest import CommitTimeoutError, Receiver
from collector.pipeline import NotRunningError, OverloadedError
from graph.model import DecodeResult

log = logging.getLogger(__name__)

PROTOBUF = "application/x-protobuf"
JSON = "application/json"
RETRY_AFTER_SECONDS = 2

# gRPC status codes used in Status bodies.
_INVALID_ARGUMENT, _RESOURCE_EXHAUSTED, _UNAUTHENTICATED, _UNAVAILABLE = 3, 8, 16, 14


class PayloadError(Exception):
    """A request that gets a 4xx answer."""

    def __init__(self, http_status: int, message: str) -> None:
        super().__init__(message)
        self.http_status = http_status


async def read_body(request: Request, max_bytes: int, max_decompressed: int) -> bytes:
    """The request body, size-limited, gunzipped when Content-Encoding says so."""
    declared = request.headers.get("content-length")
    if declared and declared.isdigit() and int(declared) > max_bytes:
        raise PayloadError(413, f"body of {declared} bytes is over the {max_bytes}-byte limit")
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > max_bytes:
            raise PayloadError(413, f"body is over the {max_bytes}-byte limit")
        chunks.append(chunk)
    body = b"".join(chunks)
    encoding = request.headers.get("content-encoding", "identity").strip().lower()
    if encoding in ("", "identity"):
        return body
    if encoding not in ("gzip", "deflate"):
        raise PayloadError(415, f"content-encoding {encoding!r} is not supported (use gzip)")
    return gunzip_limited(body, max_decompressed, gzip=encoding == "gzip")


def gunzip_limited(body: bytes, limit: int, gzip: bool = True) -> bytes:
    """Decompress at most `limit` bytes (all gzip members); more is an error, not an out-of-memory."""
    name = "gzip" if gzip else "deflate"
    out: list[bytes] = []
    size = 0
    rest = body
    while True:
        inflater = zlib.decompressobj(wbits=31 if gzip else 15)
        try:
            data = inflater.decompress(rest, limit + 1 - size)
        except zlib.error as exc:
            raise PayloadError(400, f"body is not valid {name} data: {exc}") from None
        size += len(data)
        if size > limit or inflater.unconsumed_tail:
            raise PayloadError(413, f"decompressed body is over the {limit}-byte limit")
        if not inflater.eof:
            raise PayloadError(400, f"{name} body is truncated")
        out.append(data)
        rest = inflater.unused_data
        if not gzip or not rest:
            return b"".join(out)


def _media_type(request: Request) -> str:
    return request.headers.get("content-type", "").split(";")[0].strip().lower()


def _error(status: int, code: int, message: str, as_json: bool, retry: bool = False) -> Response:
    headers = {"Retry-After": str(RETRY_AFTER_SECONDS)} if retry else None
    if as_json:
        return JSONResponse({"code": code, "message": message}, status_code=status, headers=headers)
    body = encode_status(code, message, RETRY_AFTER_SECONDS if retry else None)
    return Response(body, status_code=status, media_type=PROTOBUF, headers=headers)


def _authorised(request: Request, expected: bytes | None) -> bool:
    if expected is None:
        return True
    given = request.headers.get("authorization", "").encode()
    return hmac.compare_digest(given, expected)


def create_otlp_http_app(
    receiver: Receiver,
    *,
    max_request_bytes: int,
    max_decompressed_bytes: int,
    token: str | None = None,
    extra_routes: list[Route] | None = None,
    max_concurrent: int = 64,
) -> Starlette:
    """The ASGI app of the OTLP/HTTP listener.

    At most `max_concurrent` requests are read and decoded at once; more get 503 with
    Retry-After (bodies in memory stay bounded, and OTLP clients retry).
    """
    expected = f"Bearer {token}".encode() if token else None
    owner_keys = receiver.owner_keys
    in_flight = 0

    def limited(handler: Callable[[Request], Awaitable[Response]]) -> Callable[[Request], Awaitable[Response]]:
        async def guarded(request: Request) -> Response:
            nonlocal in_flight
            if in_flight >= max_concurrent:
                receiver.pipeline.stats.overloaded += 1
                return _error(503, _UNAVAILABLE, "too many concurrent requests; retry later",
                              _media_type(request) != PROTOBUF, retry=True)
            in_flight += 1
            try:
                return await handler(request)
            finally:
                in_flight -= 1

        return guarded

    async def traces(request: Request) -> Response:
        media = _media_type(request)
        as_json = media == JSON
        if not _authorised(request, expected):
            return _error(401, _UNAUTHENTICATED, "missing or wrong bearer token", as_json)
        if media not in (PROTOBUF, JSON, "application/protobuf"):
            return _error(415, _INVALID_ARGUMENT, f"content-type {media!r}: use {PROTOBUF} or {JSON}", True)
        try:
            body = await read_body(request, max_request_bytes, max_decompressed_bytes)
        except PayloadError as exc:
            code = _RESOURCE_EXHAUSTED if exc.http_status == 413 else _INVALID_ARGUMENT
            return _error(exc.http_status, code, str(exc), as_json)
        decoder: Callable[[], DecodeResult]
        if as_json:
            def decoder() -> DecodeResult:
                return decode_json_bytes(body, owner_keys)
        else:
            def decoder() -> DecodeResult:
                return decode_request_bytes(body, owner_keys)
        outcome = await accept(receiver, "http", decoder, as_json, len(body))
        if isinstance(outcome, Response):
            return outcome
        if as_json:
            return JSONResponse(response_json(outcome))
        return Response(encode_response(outcome), media_type=PROTOBUF)

    async def zipkin_spans(request: Request) -> Response:
        """Zipkin v2 JSON (`POST /api/v2/spans`), so Zipkin-instrumented services can report here."""
        if not _authorised(request, expected):
            return _error(401, _UNAUTHENTICATED, "missing or wrong bearer token", True)
        media = _media_type(request)
        if media not in (JSON, ""):
            return _error(415, _INVALID_ARGUMENT, f"content-type {media!r}: Zipkin v2 spans are {JSON}", True)
        try:
            body = await read_body(request, max_request_bytes, max_decompressed_bytes)
        except PayloadError as exc:
            return _error(exc.http_status, _INVALID_ARGUMENT, str(exc), True)

        def decoder() -> DecodeResult:
            return decode_zipkin_bytes(body, owner_keys)

        outcome = await accept(receiver, "zipkin", decoder, True, len(body))
        if isinstance(outcome, Response):
            return outcome
        return Response(status_code=202)

    routes = [
        Route("/v1/traces", limited(traces), methods=["POST"]),
        Route("/api/v2/spans", limited(zipkin_spans), methods=["POST"]),
        *(extra_routes or []),
    ]
    return Starlette(routes=routes)


async def accept(
    receiver: Receiver, transport: str, decoder: Callable[[], DecodeResult], as_json: bool, size: int = 0
) -> DecodeResult | Response:
    """Run the receiver in a worker thread and map its errors to HTTP answers."""
    try:
        return await run_in_threadpool(receiver.accept, transport, decoder, size)
    except DecodeError as exc:
        return _error(400, _INVALID_ARGUMENT, str(exc), as_json)
    except OverloadedError:
        return _error(503, _UNAVAILABLE, "ownermap is overloaded; retry later", as_json, retry=True)
    except (NotRunningError, CommitTimeoutError) as exc:
        return _error(503, _UNAVAILABLE, f"{exc}; retry later", as_json, retry=True)
    except Exception:
        log.exception("OTLP/HTTP export failed")
        return _error(503, _UNAVAILABLE, "storing the batch failed; retry later", as_json, retry=True)


