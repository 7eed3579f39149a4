"""The OTLP/HTTP listener's concurrency limit: beyond it, 503 with Retry-After (OTLP clients retry)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from starlette.requests import Request
from starlette.responses import Response

from collector.http_answers import PROTOBUF, UNAVAILABLE, error, media_type
from collector.pipeline import PipelineStats

Handler = Callable[[Request], Awaitable[Response]]


class ConcurrencyLimit:
    """At most `max_concurrent` requests of the wrapped handlers in progress at once (one event loop)."""

    def __init__(self, max_concurrent: int, stats: PipelineStats) -> None:
        self.max_concurrent = max_concurrent
        self.stats = stats
        self.in_flight = 0

    def __call__(self, handler: Handler) -> Handler:
        """`handler`, limited."""

        async def guarded(request: Request) -> Response:
            if self.in_flight >= self.max_concurrent:
                self.stats.overloaded += 1
                return error(503, UNAVAILABLE, "too many concurrent requests; retry later",
                             media_type(request) != PROTOBUF, retry=True)
            self.in_flight += 1
            try:
                return await handler(request)
            finally:
                self.in_flight -= 1

        return guarded
