"""`POST /api/v2/spans` on the OTLP/HTTP listener: Zipkin v2 JSON, so Zipkin-instrumented services can
report here (same token, size limits and overload answers as `/v1/traces`; 202 once committed)."""

from __future__ import annotations

from concurrent.futures import Executor

from starlette.requests import Request
from starlette.responses import Response

from collector.formats.zipkin import decode_zipkin_bytes
from collector.http_answers import INVALID_ARGUMENT, JSON, UNAUTHENTICATED, accept, error, media_type
from collector.http_body import PayloadError, read_body
from collector.http_limits import Handler
from collector.ingest import Receiver
from graph.bearer import BearerCheck
from graph.model import DecodeResult


def zipkin_spans_handler(receiver: Receiver, auth: BearerCheck, max_request_bytes: int,
                         max_decompressed_bytes: int, executor: Executor | None = None) -> Handler:
    """The handler of `POST /api/v2/spans`."""
    owner_keys = receiver.owner_keys

    async def zipkin_spans(request: Request) -> Response:
        if not auth.allows(request.headers.get("authorization")):
            return error(401, UNAUTHENTICATED, "missing or wrong bearer token", True)
        media = media_type(request)
        if media not in (JSON, ""):
            return error(415, INVALID_ARGUMENT, f"content-type {media!r}: Zipkin v2 spans are {JSON}", True)
        try:
            body = await read_body(request, max_request_bytes, max_decompressed_bytes)
        except PayloadError as exc:
            return error(exc.http_status, INVALID_ARGUMENT, str(exc), True)

        def decoder() -> DecodeResult:
            return decode_zipkin_bytes(body, owner_keys)

        outcome = await accept(receiver, "zipkin", decoder, True, len(body), executor)
        if isinstance(outcome, Response):
            return outcome
        return Response(status_code=202)

    return zipkin_spans
