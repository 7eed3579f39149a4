"""Generated traffic for a small shop, sent through the OpenTelemetry Python SDK's OTLP exporter.

Every hop is a real pair of CLIENT and SERVER spans with W3C context propagation between two
tracer providers, so ownermap sees exactly what instrumented services would send.
"""

from __future__ import annotations

import random
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from opentelemetry import propagate
from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import OTLPSpanExporter
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import Tracer, TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor
from opentelemetry.trace import Span, SpanKind, Status, StatusCode

SERVICES = {
    "web-frontend": {"service.namespace": "storefront", "team": "team-storefront"},
    "cart": {"service.namespace": "storefront"},
    "catalog": {"service.namespace": "storefront"},
    "recommendations": {"service.namespace": "storefront"},
    "checkout": {"service.namespace": "payments"},
    "payments": {"service.namespace": "payments"},
    "shipping": {"service.namespace": "fulfilment"},
    "email": {"service.namespace": "fulfilment"},
}


class ShopTraffic:
    """A thread that simulates shop requests until stopped."""

    def __init__(self, otlp_grpc: str, rate_per_second: float = 5.0, seed: int = 7) -> None:
        self.rng = random.Random(seed)
        self.rate = rate_per_second
        self.providers: list[TracerProvider] = []
        self.tracers: dict[str, Tracer] = {}
        for name, extra in SERVICES.items():
            provider = TracerProvider(resource=Resource.create({
                "service.name": name, "deployment.environment.name": "demo", **extra,
            }))
            provider.add_span_processor(BatchSpanProcessor(
                OTLPSpanExporter(endpoint=otlp_grpc, insecure=True), schedule_delay_millis=500))
            self.providers.append(provider)
            self.tracers[name] = provider.get_tracer("ownermap.demo")
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.requests = 0

    @contextmanager
    def _hop(self, caller: str, callee: str, name: str, fail: float = 0.0,
             attributes: dict[str, Any] | None = None) -> Iterator[Span]:
        """A CLIENT span in `caller` and the matching SERVER span in `callee`."""
        with self.tracers[caller].start_as_current_span(
            f"{name} {callee}", kind=SpanKind.CLIENT, attributes={"server.address": callee, **(attributes or {})}
        ) as client:
            carrier: dict[str, str] = {}
            propagate.inject(carrier)
            with self.tracers[callee].start_as_current_span(
                name, kind=SpanKind.SERVER, context=propagate.extract(carrier)
            ) as server:
                if self.rng.random() < fail:
                    server.set_status(Status(StatusCode.ERROR, "simulated failure"))
                    client.set_status(Status(StatusCode.ERROR))
                yield server

    def _database(self, service: str, db: str, statement: str) -> None:
        with self.tracers[service].start_as_current_span(
            statement.split()[0], kind=SpanKind.CLIENT,
            attributes={"db.system.name": "postgresql", "db.namespace": db, "server.address": db,
                        "db.query.text": statement},
        ):
            pass

    def one_request(self) -> None:
        """One user request through the shop."""
        rng = self.rng
        with self.tracers["web-frontend"].start_as_current_span("GET /", kind=SpanKind.SERVER):
            with self._hop("web-frontend", "catalog", "GET /products"), self.tracers["catalog"].start_as_current_span(
                "GET", kind=SpanKind.CLIENT, attributes={"db.system.name": "redis", "server.address": "cache"}
            ):
                pass
            with self._hop("web-frontend", "recommendations", "GET /recommendations", fail=0.05), \
                    self._hop("recommendations", "catalog", "GET /products"):
                pass
            with self._hop("web-frontend", "cart", "POST /cart"):
                self._database("cart", "carts-db", "UPDATE carts SET items = $1")
            if rng.random() < 0.4:
                with self._hop("web-frontend", "checkout", "POST /checkout", fail=0.02):
                    self._database("checkout", "orders-db", "INSERT INTO orders VALUES ($1)")
                    with self._hop("checkout", "payments", "POST /charge", fail=0.03), \
                            self.tracers["payments"].start_as_current_span(
                                "POST /v1/charges", kind=SpanKind.CLIENT,
                                attributes={"peer.service": "stripe-api", "server.address": "api.stripe.example"}):
                        pass
                    with self._hop("checkout", "shipping", "POST /quote"):
                        pass
                    with self.tracers["checkout"].start_as_current_span(
                        "orders publish", kind=SpanKind.PRODUCER,
                        attributes={"messaging.system": "kafka", "messaging.destination.name": "orders"},
                    ):
                        carrier: dict[str, str] = {}
                        propagate.inject(carrier)
                    with self.tracers["email"].start_as_current_span(
                        "orders process", kind=SpanKind.CONSUMER, context=propagate.extract(carrier),
                        attributes={"messaging.system": "kafka", "messaging.destination.name": "orders"},
                    ):
                        pass
        self.requests += 1

    def start(self) -> None:
        """Generate traffic in a daemon thread."""
        self._thread = threading.Thread(target=self._run, name="ownermap-demo-traffic", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.is_set():
            self.one_request()
            self._stop.wait(self.rng.expovariate(self.rate))

    def stop(self) -> None:
        """Stop and flush every exporter."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(5)
        for provider in self.providers:
            provider.shutdown()
