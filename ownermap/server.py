"""`ownermap serve`: the composition root that wires receivers, pipeline, store and API."""

from __future__ import annotations

import asyncio
import contextlib
import gc
import logging
import signal
import socket
import sys
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import grpc
import uvicorn

from api.app import create_app
from api.config import ApiConfig
from api.state import ApiState
from collector.ingest import Receiver
from collector.otlp_grpc import build_grpc_server
from collector.otlp_http import create_otlp_http_app
from collector.pipeline import IngestPipeline
from graph.store import Store, open_store
from graph.store.base import SqlStore
from graph.store.mirror import QueryMirror
from graph.store.reads import WindowReads
from ownermap.metrics import build_registry
from ownermap.settings import Settings, split_hostport
from ownership.analysis import owner_name
from ownership.source import CatalogSource
from reports.run import Delivery, run_weekly_report
from reports.schedule import ReportScheduler

log = logging.getLogger("ownermap")
MAINTENANCE_SECONDS = 300.0


class _QuietServer(uvicorn.Server):
    """A uvicorn server that leaves signal handling to ownermap (several run in one loop)."""

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield


def tune_gc_for_ingest() -> None:
    """Collect the young generation far less often.

    Ingest allocates tens of thousands of span records per batch and keeps up to `max_pending`
    of them in the span index; with the default thresholds the cyclic collector keeps walking
    that index (about 15% of ingest time in bench/ingest.py). Span records form no reference
    cycles, so collecting rarely loses nothing.
    """
    gc.freeze()  # everything allocated at start-up stays out of collections
    gc.set_threshold(200_000, 50, 1000)


def bind_socket(hostport: str) -> socket.socket:
    """A listening TCP socket for HOST:PORT (port 0 picks a free port)."""
    host, port = split_hostport(hostport)
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    infos = socket.getaddrinfo(host, port, family if ":" in host else 0, socket.SOCK_STREAM)
    family, _, _, _, address = infos[0]
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(address)
    sock.listen(512)
    sock.setblocking(False)
    return sock


def _address(sock: socket.socket) -> str:
    host, port = sock.getsockname()[:2]
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


def api_config(settings: Settings) -> ApiConfig:
    """The API's view of the settings."""
    return ApiConfig(
        api_token=settings.api_token.get_secret_value() if settings.api_token else None,
        catalog_paths=list(settings.catalog),
        owner_attributes=list(settings.owner_attributes),
    )


@dataclass
class Listening:
    """Where a running server listens (filled in as listeners start)."""

    grpc: str | None = None
    http: str | None = None
    api: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)


class OwnermapServer:
    """One ownermap process in the role its settings name."""

    def __init__(
        self,
        settings: Settings,
        clock: Callable[[], float] = time.monotonic,
        on_ready: Callable[[Listening], None] | None = None,
        on_stop: Callable[[], None] | None = None,
    ) -> None:
        self.settings = settings
        self.clock = clock
        self.on_ready = on_ready
        self.on_stop = on_stop
        self.listening = Listening()
        self.store: Store | None = None
        self.pipeline: IngestPipeline | None = None
        self._stop = asyncio.Event()

    def request_stop(self) -> None:
        """Begin a graceful shutdown (what SIGTERM does)."""
        self._stop.set()

    def _tls(self) -> tuple[bytes, bytes] | None:
        s = self.settings
        if s.tls_cert and s.tls_key:
            return s.tls_cert.read_bytes(), s.tls_key.read_bytes()
        return None

    def _uvicorn(self, app: Any, sock: socket.socket, limit_concurrency: int | None = None) -> _QuietServer:
        s = self.settings
        config = uvicorn.Config(
            app, log_level="warning", access_log=False, lifespan="off",
            limit_concurrency=limit_concurrency,
            ssl_certfile=str(s.tls_cert) if s.tls_cert else None,
            ssl_keyfile=str(s.tls_key) if s.tls_key else None,
            timeout_graceful_shutdown=10,
        )
        return _QuietServer(config)

    def _query_store(self) -> WindowReads:
        """What the API reads windows from: with query_mirror_days, the recent aggregates mirrored in memory
        (loaded in the background now, brought up to date before each query)."""
        s = self.settings
        if s.role == "ingest" or s.query_mirror_days <= 0 or not isinstance(self.store, SqlStore):
            return self.store
        # refresh_seconds=0: reading what changed since the last query costs little (the seq index),
        # so the mirror never makes an answer older than what is committed.
        mirror = QueryMirror(self.store, days=s.query_mirror_days, refresh_seconds=0,
                             max_rows=s.query_mirror_max_rows)
        threading.Thread(target=mirror.refresh, name="ownermap-mirror-load", daemon=True).start()
        return mirror

    def _schedule_reports(self, catalog: CatalogSource) -> ReportScheduler | None:
        """With `report_schedule` set, this process builds and delivers the weekly report itself."""
        s = self.settings
        if not s.report_schedule:
            return None
        store = self.store
        assert store is not None

        def job(due: float) -> None:
            if not store.claim("weekly-report", int(due), time.time()):
                log.info("the weekly report for %s was already sent by another process", due)
                return
            output = s.report_dir / f"weekly-{time.strftime('%Y-%m-%d', time.gmtime(due))}.md" if s.report_dir else None
            delivery = Delivery(fmt="md", output=output, webhook=s.report_webhook,
                                webhook_format=s.report_webhook_format, webhook_attempts=s.report_webhook_attempts)
            run_weekly_report(store, catalog.index, due, s.owner_attributes, delivery)
            log.info("weekly report for the week ending %s delivered", time.strftime("%Y-%m-%d", time.gmtime(due)))

        scheduler = ReportScheduler(s.report_schedule, job)
        scheduler.start()
        _say(f"weekly report scheduled: {s.report_schedule} (UTC)")
        return scheduler

    def _start_maintenance(self) -> threading.Event:
        """Roll up old buckets and apply the retention every few minutes (ingest processes)."""
        stop = threading.Event()
        store, retention = self.store, self.settings.retention_days
        assert store is not None

        def loop() -> None:
            while True:
                try:
                    store.compact(time.time(), retention)
                except Exception:
                    log.exception("compaction failed; will retry")
                if stop.wait(MAINTENANCE_SECONDS):
                    return

        threading.Thread(target=loop, name="ownermap-maintenance", daemon=True).start()
        return stop

    async def run(self) -> None:
        """Start every listener of the role, serve until asked to stop, then drain and flush."""
        s = self.settings
        self.store = open_store(s.db)
        receiver: Receiver | None = None
        maintenance: threading.Event | None = None
        grpc_server: grpc.Server | None = None
        servers: list[tuple[_QuietServer, socket.socket]] = []
        scheme = "https" if s.tls_cert else "http"
        if s.role in ("all", "ingest"):
            tune_gc_for_ingest()
            self.pipeline = IngestPipeline(
                self.store, ttl=s.pairing_ttl, max_pending=s.max_pending, clock=self.clock,
                queue_batches=s.ingest_queue_batches, max_queued_spans=s.ingest_queue_spans,
                max_services=s.max_services, max_edges=s.max_edges, max_environments=s.max_environments,
                database_at_once=s.database_at_once,
            )
            self.pipeline.start()
            maintenance = self._start_maintenance()
            receiver = Receiver(self.pipeline, s.owner_attributes)
            token = s.otlp_token.get_secret_value() if s.otlp_token else None
            host, port = split_hostport(s.otlp_grpc)
            bind = f"[{host}]:{port}" if ":" in host else f"{host}:{port}"
            grpc_server, port = build_grpc_server(
                receiver, bind, max_request_bytes=s.max_request_bytes, token=token, tls=self._tls()
            )
            grpc_server.start()
            self.listening.grpc = f"[{host}]:{port}" if ":" in host else f"{host}:{port}"
            http_app = create_otlp_http_app(
                receiver, max_request_bytes=s.max_request_bytes,
                max_decompressed_bytes=s.max_decompressed_bytes, token=token,
                max_concurrent=s.max_concurrent_requests,
            )
            sock = bind_socket(s.otlp_http)
            self.listening.http = _address(sock)
            servers.append((self._uvicorn(http_app, sock), sock))
        catalog = CatalogSource(s.catalog)
        if s.role != "ingest":
            report = catalog.reload()
            _say(f"catalog: {report.files} file(s), {sum(report.counts.values())} entities, "
                 f"{len(report.errors)} error(s)")
            catalog.watch()
            with contextlib.suppress(NotImplementedError, RuntimeError):
                asyncio.get_running_loop().add_signal_handler(signal.SIGHUP, catalog.reload)
        scheduler = self._schedule_reports(catalog) if s.role != "ingest" else None
        state = ApiState(
            config=api_config(s), store=self.store, reads=self._query_store(), catalog=catalog,
            cache_seconds=s.query_cache_seconds,
            metric_sources={"registry": build_registry(receiver, self.pipeline, owner_lookup(catalog))},
        )
        api_app = create_app(state, include_api=s.role != "ingest")
        api_sock = bind_socket(s.api)
        self.listening.api = _address(api_sock)
        servers.append((self._uvicorn(api_app, api_sock, limit_concurrency=s.max_concurrent_requests), api_sock))

        tasks = [asyncio.create_task(server.serve(sockets=[sock])) for server, sock in servers]
        if self.listening.grpc:
            _say(f"OTLP/gRPC listening on {self.listening.grpc}")
            _say(f"OTLP/HTTP listening on {scheme}://{self.listening.http}/v1/traces")
        _say(f"API and UI on {scheme}://{self.listening.api}/ (role {s.role}, db {s.db})")
        if self.on_ready is not None:
            self.on_ready(self.listening)
        stop_waiter = asyncio.create_task(self._stop.wait())
        await asyncio.wait([stop_waiter, *tasks], return_when=asyncio.FIRST_COMPLETED)
        _say("shutting down: draining receivers and flushing pending edges")
        if self.on_stop is not None:
            await asyncio.get_running_loop().run_in_executor(None, self.on_stop)
        if grpc_server is not None:
            await asyncio.get_running_loop().run_in_executor(None, lambda: grpc_server.stop(5).wait(10))
        for server, _ in servers:
            server.should_exit = True
        await asyncio.gather(*tasks, return_exceptions=True)
        if self.pipeline is not None:
            await asyncio.get_running_loop().run_in_executor(None, self.pipeline.stop)
        catalog.close()
        if maintenance is not None:
            maintenance.set()
        if scheduler is not None:
            scheduler.close()
        self.store.close()
        _say("stopped")


def owner_lookup(catalog: CatalogSource) -> Callable[[str], str | None]:
    """Who owns a node, by the current catalog (for the service-graph metrics' owner labels)."""

    def owner_of(name: str) -> str | None:
        index = catalog.index
        found = index.match_service(name) or index.match_virtual(name)
        return owner_name(index.owner_of(found.entity)) if found is not None else None

    return owner_of


def _say(message: str) -> None:
    print(f"ownermap: {message}", file=sys.stderr, flush=True)


def serve(
    settings: Settings,
    on_ready: Callable[[Listening], None] | None = None,
    on_stop: Callable[[], None] | None = None,
) -> None:
    """Run a server until SIGTERM or SIGINT."""
    logging.basicConfig(level=settings.log_level.upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s")

    async def main() -> None:
        server = OwnermapServer(settings, on_ready=on_ready, on_stop=on_stop)
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, server.request_stop)
        await server.run()

    asyncio.run(main())
