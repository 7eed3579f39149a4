"""OTLP/HTTP receiver: `POST /v1/traces` with protobuf or JSON bodies, optionally gzip-compressed.

Bodies are read with a size limit and decompressed with a second limit (a gzip bomb stops
at the limit, not in memory; `http_body`). Errors follow the OTLP/HTTP specification: 400 for bad
payloads, 413 for oversized ones, 415 for unknown content types, 503 with Retry-After when
overloaded; the body is a `google.rpc.Status` (protobuf or JSON, like the request; `http_answers`).
The listener also serves Zipkin v2 (`zipkin_route`) and limits its requests in progress (`http_limits`).
"""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import Executor

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from collector.decode import decode_json_bytes, decode_request_bytes, encode_response, response_json
from collector.http_answers import (
    INVALID_ARGUMENT,
    JSON,
    PROTOBUF,
    RESOURCE_EXHAUSTED,
    UNAUTHENTICATED,
    accept,
    error,
    media_type,
)
from collector.http_body import PayloadError, gunzip_limited, read_body
from collector.http_limits import ConcurrencyLimit, Handler
from collector.ingest import Receiver
from collector.zipkin_route import zipkin_spans_handler
from graph.bearer import BearerCheck
from graph.model import DecodeResult

__all__ = ["PayloadError", "create_otlp_http_app", "gunzip_limited", "read_body", "traces_handler"]


def traces_handler(receiver: Receiver, auth: BearerCheck, max_request_bytes: int, max_decompressed_bytes: int,
                   executor: Executor | None = None) -> Handler:
    """The handler of `POST /v1/traces` (OTLP protobuf or JSON)."""
    owner_keys = receiver.owner_keys

    async def traces(request: Request) -> Response:
        media = media_type(request)
        as_json = media == JSON
        if not auth.allows(request.headers.get("authorization")):
            return error(401, UNAUTHENTICATED, "missing or wrong bearer token", as_json)
        if media not in (PROTOBUF, JSON, "application/protobuf"):
            return error(415, INVALID_ARGUMENT, f"content-type {media!r}: use {PROTOBUF} or {JSON}", True)
        try:
            body = await read_body(request, max_request_bytes, max_decompressed_bytes)
        except PayloadError as exc:
            code = RESOURCE_EXHAUSTED if exc.http_status == 413 else INVALID_ARGUMENT
            return error(exc.http_status, code, str(exc), as_json)
        decode = decode_json_bytes if as_json else decode_request_bytes

        def decoder() -> DecodeResult:
            return decode(body, owner_keys)

        outcome = await accept(receiver, "http", decoder, as_json, len(body), executor)
        if isinstance(outcome, Response):
            return outcome
        if as_json:
            return JSONResponse(response_json(outcome))
        return Response(encode_response(outcome), media_type=PROTOBUF)

    return traces


def create_otlp_http_app(
    receiver: Receiver,
    *,
    max_request_bytes: int,
    max_decompressed_bytes: int,
    token: str | None = None,
    extra_routes: list[Route] | None = None,
    max_concurrent: int = 64,
    executor: Executor | None = None,
) -> Starlette:
    """The ASGI app of the OTLP/HTTP listener.

    At most `max_concurrent` requests are read and decoded at once; more get 503 with
    Retry-After (bodies in memory stay bounded, and OTLP clients retry). The receiver runs in
    `executor`'s threads (the event loop's default executor when None).
    """
    auth = BearerCheck(token)
    limited: Callable[[Handler], Handler] = ConcurrencyLimit(max_concurrent, receiver.pipeline.stats)
    limits = (max_request_bytes, max_decompressed_bytes, executor)
    routes = [
        Route("/v1/traces", limited(traces_handler(receiver, auth, *limits)), methods=["POST"]),
        Route("/api/v2/spans", limited(zipkin_spans_handler(receiver, auth, *limits)), methods=["POST"]),
        *(extra_routes or []),
    ]
    return Starlette(routes=routes)
