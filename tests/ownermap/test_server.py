"""The composition root: a start-up that fails halfway stops what had started; a normal stop stops all."""

from __future__ import annotations

import asyncio
import os
import socket
import threading
from pathlib import Path

import pytest

from ownermap.server import Listening, OwnermapServer
from ownermap.settings import Settings


def _threads(prefix: str) -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name.startswith(prefix) and t.is_alive()]


def _can_bind(hostport: str) -> bool:
    host, port = hostport.rsplit(":", 1)
    with socket.socket() as probe:
        try:
            probe.bind((host, int(port)))
        except OSError:
            return False
    return True


def _settings(tmp_path: Path, api: str) -> Settings:
    return Settings(db=f"sqlite:///{tmp_path / 'root.db'}", otlp_grpc="127.0.0.1:0", otlp_http="127.0.0.1:0", api=api)


def test_a_failing_step_stops_every_part_that_had_started(tmp_path: Path) -> None:
    with socket.socket() as taken:  # the API's port is in use: the last start-up step fails
        taken.bind(("127.0.0.1", 0))
        taken.listen(1)
        server = OwnermapServer(_settings(tmp_path, f"127.0.0.1:{taken.getsockname()[1]}"))
        with pytest.raises(OSError):
            asyncio.run(server.run())
    # Everything before the API had started: the pipeline, both receivers, the catalog.
    assert server.listening.grpc and server.listening.http and server.listening.api is None
    assert server.pipeline is not None and server.pipeline._thread is None  # stopped and joined
    assert _can_bind(server.listening.grpc), "the OTLP/gRPC port is still held"
    assert _can_bind(server.listening.http), "the OTLP/HTTP port is still held"
    assert not _threads("otlp-http-loop"), "the OTLP/HTTP listener's thread is still running"
    # SQLite removes the write-ahead log when the last connection to the database closes.
    assert (tmp_path / "root.db").exists() and not (tmp_path / "root.db-wal").exists(), "the store is still open"


def test_a_stop_after_start_up_stops_every_part(tmp_path: Path) -> None:
    ready: list[Listening] = []

    async def run_then_stop() -> None:
        server = OwnermapServer(_settings(tmp_path, "127.0.0.1:0"), on_ready=ready.append)
        running = asyncio.create_task(server.run())
        while not ready:
            await asyncio.sleep(0.01)
        server.request_stop()
        await asyncio.wait_for(running, 30)
        assert server.pipeline is not None and server.pipeline._thread is None

    asyncio.run(run_then_stop())
    listening = ready[0]
    for address in (listening.grpc, listening.http, listening.api):
        assert address and _can_bind(address), f"{address} is still held"
    assert not _threads("otlp-http-loop")


def test_ingest_threads_run_at_the_lower_priority_and_the_api_does_not(tmp_path: Path) -> None:
    ready: list[Listening] = []
    seen: dict[str, int] = {}

    async def run_then_look() -> None:
        settings = _settings(tmp_path, "127.0.0.1:0").model_copy(update={"ingest_thread_nice": 7})
        server = OwnermapServer(settings, on_ready=ready.append)
        running = asyncio.create_task(server.run())
        while not ready:
            await asyncio.sleep(0.01)
        for thread in threading.enumerate():
            if thread.native_id is not None and thread.name in ("ownermap-ingest", "otlp-http-loop",
                                                                 "ownermap-maintenance"):
                seen[thread.name] = os.getpriority(os.PRIO_PROCESS, thread.native_id)
        seen["api"] = os.getpriority(os.PRIO_PROCESS, threading.get_native_id())
        server.request_stop()
        await asyncio.wait_for(running, 30)

    base = os.getpriority(os.PRIO_PROCESS, threading.get_native_id())
    asyncio.run(run_then_look())
    assert seen == {"ownermap-ingest": max(7, base), "otlp-http-loop": max(7, base),
                    "ownermap-maintenance": max(7, base), "api": base}
