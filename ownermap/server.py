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
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

import uvicorn

from api.app import create_app
from api.config import ApiConfig
from api.state import ApiState
from collector.ingest import Receiver
from collector.otlp_grpc import build_grpc_server
from collector.otlp_http import create_otlp_http_app
from collector.pipeline import IngestPipeline
from collector.span_times import SpanTimeRange
from graph.store import Store, open_store
from graph.store.mirror import QueryMirror
from graph.store.reads import WindowReads
from graph.store.sql_store import SqlStore
from ownermap.limits import objective_limits, oncall_settings
from ownermap.listeners import QuietServer, address_of, bind_socket, serve_in_own_thread, stop_uvicorn
from ownermap.metrics import build_registry
from ownermap.priority import lower_priority
from ownermap.settings import Settings, split_hostport
from ownermap.wiring import build_catalog, build_pipeline
from ownership.lens import owner_name
from ownership.source import CatalogSource
from reports.run import Delivery, run_weekly_report
from reports.schedule import ReportScheduler

log = logging.getLogger("ownermap")
MAINTENANCE_SECONDS = 300.0
HTTP_INGEST_WORKERS = 4  # the OTLP/HTTP pool: decoding holds the GIL, more threads only contend


def tune_gc_for_ingest() -> None:
    """Collect the young generation far less often.

    Ingest allocates tens of thousands of span records per batch and keeps up to `max_pending`
    of them in the span index; with the default thresholds the cyclic collector keeps walking
    that index (about 15% of ingest time in bench/ingest.py). Span records form no reference
    cycles, so collecting rarely loses nothing.
    """
    gc.freeze()  # everything allocated at start-up stays out of collections
    gc.set_threshold(200_000, 50, 1000)


def api_config(settings: Settings) -> ApiConfig:
    """The API's view of the settings."""
    return ApiConfig(
        api_token=settings.api_token.get_secret_value() if settings.api_token else None,
        catalog_paths=list(settings.catalog),
        owner_attributes=list(settings.owner_attributes),
        map_max_nodes=settings.map_max_nodes,
        objective_min_calls=settings.objective_min_calls,
        burn_min_calls=settings.burn_min_calls,
        oncall=oncall_settings(settings),
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

    def _uvicorn(self, app: Any, sock: socket.socket, limit_concurrency: int | None = None) -> QuietServer:
        s = self.settings
        config = uvicorn.Config(
            app, log_level="warning", access_log=False, lifespan="off",
            limit_concurrency=limit_concurrency,
            ssl_certfile=str(s.tls_cert) if s.tls_cert else None,
            ssl_keyfile=str(s.tls_key) if s.tls_key else None,
            timeout_graceful_shutdown=10,
        )
        return QuietServer(config)

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
            if not catalog.complete:  # checked before claiming, so that a later run may still send this week's
                log.warning("weekly report for %s not sent: the catalog is incomplete (a live source has not synced)",
                            due)
                return
            if not store.claim("weekly-report", int(due), time.time()):
                log.info("the weekly report for %s was already sent by another process", due)
                return
            output = s.report_dir / f"weekly-{time.strftime('%Y-%m-%d', time.gmtime(due))}.md" if s.report_dir else None
            delivery = Delivery(fmt="md", output=output, webhook=s.report_webhook,
                                webhook_format=s.report_webhook_format, webhook_attempts=s.report_webhook_attempts)
            run_weekly_report(store, catalog.index, due, s.owner_attributes, delivery,
                              catalog_complete=catalog.complete, oncall=oncall_settings(s), limits=objective_limits(s))
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
        setup = self._ingest_thread_setup()

        def loop() -> None:
            setup()
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
        """Start the role's parts in order, serve until asked to stop, then stop them in reverse.

        Each part registers its own shutdown on an exit stack as it starts, so a start-up that
        fails halfway stops what had started, and a normal stop drains the receivers before the
        pipeline flushes and the store closes.
        """
        s = self.settings
        async with contextlib.AsyncExitStack() as stack:
            stack.callback(_say, "stopped")
            self.store = open_store(s.db)
            stack.callback(self.store.close)
            serving: list[asyncio.Future[Any]] = []
            receiver: Receiver | None = None
            if s.role in ("all", "ingest"):
                receiver = self._start_pipeline(stack)
                self._start_otlp_grpc(stack, receiver)
                serving.append(self._start_otlp_http(stack, receiver))
            catalog = self._start_catalog(stack)
            serving.append(self._start_api(stack, catalog, receiver))
            self._announce()
            if self.on_stop is not None:
                stack.push_async_callback(_in_thread, self.on_stop)
            if self.on_ready is not None:
                self.on_ready(self.listening)
            stop_waiter = asyncio.create_task(self._stop.wait())
            await asyncio.wait([stop_waiter, *serving], return_when=asyncio.FIRST_COMPLETED)
            stop_waiter.cancel()
            _say("shutting down: draining receivers and flushing pending edges")

    def _start_pipeline(self, stack: contextlib.AsyncExitStack) -> Receiver:
        """The ingest pipeline and its maintenance (compaction, retention); the receivers' entry."""
        assert self.store is not None
        tune_gc_for_ingest()
        self.pipeline = build_pipeline(self.settings, self.store, self.clock)
        self.pipeline.start(thread_setup=self._ingest_thread_setup())
        stack.push_async_callback(_in_thread, self.pipeline.stop)
        stack.callback(self._start_maintenance().set)
        s = self.settings
        span_times = SpanTimeRange(s.span_age_limit_days, s.max_span_future_seconds)
        return Receiver(self.pipeline, s.owner_attributes, span_times=span_times)

    def _ingest_thread_setup(self) -> Callable[[], None]:
        """What every ingest thread runs first: yield the CPU to the API and health checks (ownermap.priority)."""
        return lower_priority(self.settings.ingest_thread_nice)

    def _otlp_token(self) -> str | None:
        token = self.settings.otlp_token
        return token.get_secret_value() if token else None

    def _start_otlp_grpc(self, stack: contextlib.AsyncExitStack, receiver: Receiver) -> None:
        """The OTLP/gRPC receiver."""
        s = self.settings
        host, port = split_hostport(s.otlp_grpc)
        bind = f"[{host}]:{port}" if ":" in host else f"{host}:{port}"
        server, port = build_grpc_server(
            receiver, bind, max_request_bytes=s.max_request_bytes, token=self._otlp_token(), tls=self._tls(),
            max_concurrent=s.grpc_max_concurrent, max_inflight_bytes=s.grpc_max_inflight_bytes,
            thread_setup=self._ingest_thread_setup(),
        )
        server.start()
        stack.push_async_callback(_in_thread, lambda: server.stop(5).wait(10))
        self.listening.grpc = f"[{host}]:{port}" if ":" in host else f"{host}:{port}"

    def _start_otlp_http(self, stack: contextlib.AsyncExitStack, receiver: Receiver) -> asyncio.Future[None]:
        """The OTLP/HTTP receiver, on its own thread, event loop and pool: ingest cannot starve the API."""
        s = self.settings
        pool = ThreadPoolExecutor(HTTP_INGEST_WORKERS, thread_name_prefix="otlp-http",
                                  initializer=self._ingest_thread_setup())
        stack.callback(pool.shutdown, wait=False)
        app = create_otlp_http_app(
            receiver, max_request_bytes=s.max_request_bytes, max_decompressed_bytes=s.max_decompressed_bytes,
            token=self._otlp_token(), max_concurrent=s.max_concurrent_requests, executor=pool,
        )
        sock = bind_socket(s.otlp_http)
        stack.callback(sock.close)
        self.listening.http = address_of(sock)
        server = self._uvicorn(app, sock)
        serving = serve_in_own_thread(server, sock, "otlp-http-loop", self._ingest_thread_setup())
        stack.push_async_callback(stop_uvicorn, server, serving)
        return serving

    def _start_catalog(self, stack: contextlib.AsyncExitStack) -> CatalogSource:
        """The catalog (loaded, watched, reloaded on SIGHUP) and the report schedule, outside the ingest role."""
        s = self.settings
        catalog = build_catalog(s)
        stack.callback(catalog.close)
        if s.role == "ingest":
            return catalog
        # With live sources, start-up does not wait for them: files now, the first sync in the background.
        report = catalog.load_files() if catalog.live else catalog.reload()
        if catalog.live:
            catalog.request_reload()
        _say(f"catalog: {report.files} file(s), {sum(report.counts.values())} entities, {len(report.errors)} error(s)"
             + ("" if report.complete else "; incomplete: live sources are syncing"))
        catalog.watch()
        catalog.refresh_live(s.catalog_refresh)
        with contextlib.suppress(NotImplementedError, RuntimeError):
            asyncio.get_running_loop().add_signal_handler(signal.SIGHUP, catalog.request_reload)
        scheduler = self._schedule_reports(catalog)
        if scheduler is not None:
            stack.callback(scheduler.close)
        return catalog

    def _start_api(
        self, stack: contextlib.AsyncExitStack, catalog: CatalogSource, receiver: Receiver | None
    ) -> asyncio.Future[Any]:
        """The API listener: health, readiness and metrics in every role; API and page unless ingest-only."""
        s = self.settings
        state = ApiState(
            config=api_config(s), store=self.store, reads=self._query_store(), catalog=catalog,
            cache_seconds=s.query_cache_seconds,
            metric_sources={"registry": build_registry(receiver, self.pipeline, owner_lookup(catalog),
                                                       catalog.status if s.role != "ingest" else None)},
        )
        app = create_app(state, include_api=s.role != "ingest")
        sock = bind_socket(s.api)
        stack.callback(sock.close)
        self.listening.api = address_of(sock)
        server = self._uvicorn(app, sock, limit_concurrency=s.max_concurrent_requests)
        serving = asyncio.create_task(server.serve(sockets=[sock]))
        stack.push_async_callback(stop_uvicorn, server, serving)
        return serving

    def _announce(self) -> None:
        scheme = "https" if self.settings.tls_cert else "http"
        if self.listening.grpc:
            _say(f"OTLP/gRPC listening on {self.listening.grpc}")
            _say(f"OTLP/HTTP listening on {scheme}://{self.listening.http}/v1/traces")
        _say(f"API and UI on {scheme}://{self.listening.api}/ (role {self.settings.role}, db {self.settings.db})")


async def _in_thread(function: Callable[[], Any]) -> None:
    """Run a blocking shutdown step without holding the event loop."""
    await asyncio.get_running_loop().run_in_executor(None, function)


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
