"""Beyond max_concurrent requests in flight, OTLP/HTTP answers 503 with Retry-After (retryable)."""

from __future__ import annotations

import asyncio
import json

import httpx

from collector.ingest import Receiver
from collector.otlp_http import create_otlp_http_app
from collector.pipeline import IngestPipeline
from graph.store.sqlite import SQLiteStore


def test_requests_beyond_the_limit_get_503_with_retry_after() -> None:
    store = SQLiteStore(":memory:")
    pipeline = IngestPipeline(store)
    pipeline.start()
    app = create_otlp_http_app(Receiver(pipeline), max_request_bytes=1 << 20, max_decompressed_bytes=1 << 20,
                               max_concurrent=1)
    release = asyncio.Event()

    async def slow_body():  # type: ignore[no-untyped-def]
        await release.wait()
        yield json.dumps({"resourceSpans": []}).encode()

    async def scenario() -> tuple[httpx.Response, httpx.Response]:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://ownermap") as client:
            headers = {"Content-Type": "application/json"}
            first = asyncio.create_task(client.post("/v1/traces", content=slow_body(), headers=headers))
            await asyncio.sleep(0.05)  # the first request is now in flight, waiting for its body
            second = await client.post("/v1/traces", content=b"{}", headers=headers)
            release.set()
            return await first, second

    try:
        first, second = asyncio.run(scenario())
    finally:
        pipeline.stop()
        store.close()
    assert first.status_code == 200
    assert second.status_code == 503
    assert second.headers["Retry-After"] == "2"
    assert second.json()["code"] == 14  # UNAVAILABLE: retryable by the OTLP specification
