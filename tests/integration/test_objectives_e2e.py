"""End to end: OpenTelemetry SDK traffic with a known failure ratio and known server durations, sent
with explicit timestamps over seven hours to a running `ownermap serve` whose catalog holds an
OpenSLO file and owners.yaml objectives; /api/v1/objectives and /api/v1/findings report them."""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest
from opentelemetry import trace
from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import OTLPSpanExporter
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import Tracer, TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor
from opentelemetry.trace import SpanKind, Status, StatusCode

from tests.integration.serve_process import ServeProcess, sqlite_url, wait_for

pytestmark = pytest.mark.slow

OWNERS = """\
teams: [{name: shop, members: [ana]}, {name: money, members: [bo]}]
services:
  - {name: web, owner: shop}
  - {name: search, owner: shop}
  - name: checkout
    owner: shop
    objectives: [{name: checkout-fast, sli: latency, target: 0.8, threshold_ms: 100}]
  - {name: payments, owner: money}
"""

RATIO = """\
    ratioMetric:
      counter: true
      good: {metricSource: {type: ownermap, spec: {signal: availability}}}
      total: {metricSource: {type: ownermap, spec: {signal: availability}}}
"""


def _slo(name: str, service: str, target: str, indicator: str) -> str:
    return (f"apiVersion: openslo/v1\nkind: SLO\nmetadata: {{name: {name}}}\nspec:\n  service: {service}\n"
            f"{indicator}  timeWindow: [{{duration: 28d, isRolling: true}}]\n  budgetingMethod: Occurrences\n"
            f"  objectives: [{{{target}}}]\n")


OPENSLO = "---\n".join([
    "apiVersion: openslo/v1\nkind: SLI\nmetadata: {name: availability}\nspec:\n" + RATIO.replace("    ", "  ", 1)
    .replace("\n    ", "\n  "),
    _slo("checkout-up", "checkout", "targetPercent: 95", "  indicatorRef: availability\n"),
    _slo("payments-up", "payments", "target: 0.99", "  indicatorRef: availability\n"),
    _slo("web-up", "web", "target: 0.97", "  indicator:\n    spec:\n" + RATIO.replace("    ", "      ")),
    _slo("ghost-up", "ghost", "target: 0.99", "  indicatorRef: availability\n"),
])

OLD, RECENT = 3000, 120  # traces from 7 h to 1 h 15 min ago, and one every 14 s in the last 28 minutes


@pytest.fixture
def server(tmp_path: Path) -> Iterator[ServeProcess]:
    catalog = tmp_path / "catalog"
    catalog.mkdir()
    (catalog / "owners.yaml").write_text(OWNERS, encoding="utf-8")
    (catalog / "slos.yaml").write_text(OPENSLO, encoding="utf-8")
    proc = ServeProcess(sqlite_url(tmp_path / "o.db"), "--catalog", str(catalog), "--pairing-ttl", "5",
                        env={"OWNERMAP_QUERY_CACHE_SECONDS": "0"}).start()
    yield proc
    proc.stop()


def _span(tracer: Tracer, name: str, kind: SpanKind, parent: trace.Span | None, start: int, end: int,
          failed: bool = False) -> trace.Span:
    context = trace.set_span_in_context(parent) if parent is not None else None
    span = tracer.start_span(name, context=context, kind=kind, start_time=start)
    if failed:
        span.set_status(Status(StatusCode.ERROR))
    span.end(end_time=end)
    return span


def _send(server: ServeProcess, now: float) -> dict[str, int]:
    """Send every trace; return what was sent."""
    providers, tracers = [], {}
    for name in ("web", "checkout", "payments", "search"):
        provider = TracerProvider(resource=Resource.create({"service.name": name}))
        provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter(endpoint=server.grpc, insecure=True),
                                                       max_export_batch_size=512, schedule_delay_millis=100,
                                                       max_queue_size=50_000))
        providers.append(provider)
        tracers[name] = provider.get_tracer("objectives-e2e")
    sent = dict.fromkeys(("checkout_failed", "checkout_slow", "payments", "payments_failed", "web_failed"), 0)
    times = [now - 7 * 3600 + k * (5.75 * 3600 / OLD) for k in range(OLD)]
    times += [now - 28 * 60 + j * 14 for j in range(RECENT)]
    for k, ts in enumerate(times):
        t = int(ts * 1e9)
        ms = 1_000_000
        recent_failure = k >= OLD and k % 2 == 0  # half of the recent entry calls fail: web burns fast
        root = tracers["web"].start_span("GET /", kind=SpanKind.SERVER, start_time=t)
        client = _span(tracers["web"], "call checkout", SpanKind.CLIENT, root, t + ms, t + 400 * ms)
        slow = k % 10 == 0
        failed = k % 100 < 3
        server_span = tracers["checkout"].start_span("handle", context=trace.set_span_in_context(client),
                                                     kind=SpanKind.SERVER, start_time=t + 2 * ms)
        if k % 2 == 0:
            pay_client = _span(tracers["checkout"], "call payments", SpanKind.CLIENT, server_span, t + 3 * ms,
                               t + 20 * ms)
            _span(tracers["payments"], "charge", SpanKind.SERVER, pay_client, t + 4 * ms, t + 19 * ms,
                  failed=k % 50 == 0)
            sent["payments"] += 1
            sent["payments_failed"] += k % 50 == 0
        if failed:
            server_span.set_status(Status(StatusCode.ERROR))
        server_span.end(end_time=t + 2 * ms + (300 if slow else 50) * ms)
        if k % 10 == 5:
            search_client = _span(tracers["web"], "call search", SpanKind.CLIENT, root, t + ms, t + 30 * ms)
            _span(tracers["search"], "find", SpanKind.SERVER, search_client, t + 2 * ms, t + 29 * ms)
        if recent_failure:
            root.set_status(Status(StatusCode.ERROR))
        root.end(end_time=t + 450 * ms)
        sent["checkout_failed"] += failed
        sent["checkout_slow"] += slow
        sent["web_failed"] += recent_failure
    for provider in providers:
        provider.shutdown()
    return sent


def test_objectives_report_what_the_traces_show(server: ServeProcess) -> None:
    now = time.time()
    sent = _send(server, now)
    total = OLD + RECENT
    end = {"end": datetime.fromtimestamp(now + 5, UTC).isoformat()}  # fixed: the burn windows do not move

    def objectives() -> dict[str, dict] | None:  # type: ignore[type-arg]
        body = httpx.get(f"{server.api}/api/v1/objectives", params=end, timeout=30).json()
        found = {o["name"]: o for o in body["objectives"]}
        ready = (found["checkout-up"]["total"] == total and found["payments-up"]["total"] == sent["payments"]
                 and found["web-up"]["total"] == total)
        return found if ready else None

    found = wait_for(objectives, timeout=120, interval=0.5)
    last = httpx.get(f"{server.api}/api/v1/objectives", params=end).json()["objectives"]
    assert found, ({o["name"]: o["total"] for o in last}, total, sent)
    checkout = found["checkout-up"]
    assert abs(checkout["observed"] - (1 - sent["checkout_failed"] / total)) <= 0.001  # within 0.1 pp
    assert (checkout["status"], checkout["target"], checkout["owner"]) == ("met", 0.95, "shop")
    fast = found["checkout-fast"]  # 100 ms is a histogram bound: exact
    assert fast["observed"] == pytest.approx(1 - sent["checkout_slow"] / total, abs=1e-6)
    assert (fast["status"], fast["approximate"], fast["total"]) == ("met", False, total)
    payments = found["payments-up"]
    assert abs(payments["observed"] - (1 - sent["payments_failed"] / sent["payments"])) <= 0.001
    assert payments["status"] == "breached" and payments["budget_remaining"] < 0
    web = found["web-up"]
    assert abs(web["observed"] - (1 - sent["web_failed"] / total)) <= 0.001
    assert web["status"] == "burning" and web["budget_remaining"] > 0
    assert web["burn_rates"]["5m"] >= 14.4 and web["burn_rates"]["1h"] >= 14.4
    assert found["ghost-up"]["status"] == "unmatched"

    window = {"start": datetime.fromtimestamp(now - 86400, UTC).isoformat(), **end}
    findings = httpx.get(f"{server.api}/api/v1/findings", params=window, timeout=30).json()["findings"]
    by_code: dict[str, set[str]] = {}
    for finding in findings:
        by_code.setdefault(finding["code"], set()).add(finding["service"])
    assert by_code.get("no_objective") == {"search"}  # called (by web) and no objective; web, checkout, payments
    assert by_code.get("objective_breached") == {"payments"}
    assert by_code.get("objective_burning") == {"web"}
    assert by_code.get("objective_unmatched") == {"ghost"}
