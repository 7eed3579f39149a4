"""OTLP/HTTP answers: `google.rpc.Status` error bodies (protobuf or JSON, like the request), and the
receiver run in the listener's own worker threads with its errors mapped to HTTP statuses."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from concurrent.futures import Executor

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from collector.decode import DecodeError, encode_status
from collector.ingest import CommitTimeoutError, Receiver
from collector.pipeline import NotRunningError, OverloadedError
from graph.model import DecodeResult

log = logging.getLogger("collector.otlp_http")

PROTOBUF = "application/x-protobuf"
JSON = "application/json"
RETRY_AFTER_SECONDS = 2

# gRPC status codes used in Status bodies.
INVALID_ARGUMENT, RESOURCE_EXHAUSTED, UNAUTHENTICATED, UNAVAILABLE = 3, 8, 16, 14


def media_type(request: Request) -> str:
    """The request's Content-Type without parameters, lower case."""
    return request.headers.get("content-type", "").split(";")[0].strip().lower()


def error(status: int, code: int, message: str, as_json: bool, retry: bool = False) -> Response:
    """An error answer: a Status body, and Retry-After (with RetryInfo) when the client should retry."""
    headers = {"Retry-After": str(RETRY_AFTER_SECONDS)} if retry else None
    if as_json:
        return JSONResponse({"code": code, "message": message}, status_code=status, headers=headers)
    body = encode_status(code, message, RETRY_AFTER_SECONDS if retry else None)
    return Response(body, status_code=status, media_type=PROTOBUF, headers=headers)


async def accept(
    receiver: Receiver, transport: str, decoder: Callable[[], DecodeResult], as_json: bool, size: int = 0,
    executor: Executor | None = None,
) -> DecodeResult | Response:
    """Run the receiver in a worker thread of `executor` and map its errors to HTTP answers."""
    try:
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(executor, receiver.accept, transport, decoder, size)
    except DecodeError as exc:
        return error(400, INVALID_ARGUMENT, str(exc), as_json)
    except OverloadedError:
        return error(503, UNAVAILABLE, "ownermap is overloaded; retry later", as_json, retry=True)
    except (NotRunningError, CommitTimeoutError) as exc:
        return error(503, UNAVAILABLE, f"{exc}; retry later", as_json, retry=True)
    except Exception:
        log.exception("OTLP/HTTP export failed")
        return error(503, UNAVAILABLE, "storing the batch failed; retry later", as_json, retry=True)
