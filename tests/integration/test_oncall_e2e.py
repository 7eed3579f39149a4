"""End to end: OpenTelemetry SDK traffic with explicit timestamps over OTLP/gRPC to a running
`ownermap serve`; `/api/v1/oncall` gives exactly the expected episodes, off-hours counts and load
per rotation member, `oncall_overloaded` lands on exactly the overloaded team, and a what-if move
removes the overload.

The window is two days from a Tuesday 00:00 UTC a few days ago (hourly buckets). Each failure
burst is 20 entry calls, 12 failed, in one 5-minute bucket. Bursts (UTC):
  red   (UTC, rotation of 1 of 4 members): Tue 01:00, 10:00, 20:00, Wed 03:00 → 4 episodes, 3 off-hours
  blue  (America/New_York, 2 members):      Tue 15:00 (10/11:00 local), Wed 02:00 (21/22:00 Tue) → 2, 1
  green (Asia/Tokyo, 1 member):             Tue 02:00 (11:00 local: working hours) → 1, 0
Per member 4, 1, 1: median 1, so red (4 > 2 x 1, 4 episodes) is overloaded. blue-api calls red-api.
Moving red-api to blue: blue's Wed 02:00 and red's Wed 03:00 merge, blue has 5 episodes over 2
(2.5 per member; median of the teams owning services 1.75), so nobody is overloaded.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

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

HOUR, DAY, NS = 3600, 86400, 1_000_000_000
OWNERS_YAML = """\
teams:
  - {name: red, members: [a, b, c, e], oncall: {url: "https://pd.example/red", members: [a]}}
  - {name: blue, members: [f, g], timezone: America/New_York}
  - {name: green, members: [h], timezone: Asia/Tokyo, oncall: "https://pd.example/green"}
services:
  - {name: red-api, owner: red}
  - {name: blue-api, owner: blue}
  - {name: green-api, owner: green}
"""
BURSTS = {
    "red-api": [1 * HOUR, 10 * HOUR, 20 * HOUR, DAY + 3 * HOUR],
    "blue-api": [15 * HOUR, DAY + 2 * HOUR],
    "green-api": [2 * HOUR],
}


def tuesday() -> int:
    """00:00 UTC of the newest Tuesday at least two days ago (the window ends before now)."""
    day = int(time.time() // DAY * DAY) - 2 * DAY
    while datetime.fromtimestamp(day, UTC).weekday() != 1:
        day -= DAY
    return day


@pytest.fixture
def server(tmp_path: Path) -> Iterator[ServeProcess]:
    (tmp_path / "owners.yaml").write_text(OWNERS_YAML, encoding="utf-8")
    proc = ServeProcess(sqlite_url(tmp_path / "oncall.db"), "--catalog", str(tmp_path / "owners.yaml"),
                        "--pairing-ttl", "0.5", env={"OWNERMAP_QUERY_CACHE_SECONDS": "0"}).start()
    yield proc
    proc.stop()


def send(endpoint: str, base: int) -> None:
    providers: dict[str, TracerProvider] = {}
    tracers: dict[str, Tracer] = {}
    for name in BURSTS:
        provider = TracerProvider(resource=Resource.create({"service.name": name}))
        provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter(endpoint=endpoint, insecure=True)))
        providers[name], tracers[name] = provider, provider.get_tracer("oncall-e2e")
    for name, offsets in BURSTS.items():
        for offset in offsets:
            for i in range(20):
                start = (base + offset + 10 + i) * NS
                span = tracers[name].start_span("GET /work", kind=SpanKind.SERVER, start_time=start)
                if i < 12:
                    span.set_status(Status(StatusCode.ERROR, "boom"))
                span.end(end_time=start + 5_000_000)
    start = (base + 5 * HOUR) * NS  # blue-api calls red-api once, successfully
    client = tracers["blue-api"].start_span("call red", kind=SpanKind.CLIENT, start_time=start)
    served = tracers["red-api"].start_span("GET /work", kind=SpanKind.SERVER, start_time=start + 1_000_000,
                                           context=trace.set_span_in_context(client))
    served.end(end_time=start + 2_000_000)
    client.end(end_time=start + 3_000_000)
    for provider in providers.values():
        provider.shutdown()


def oncall(server: ServeProcess, window: dict[str, str], *moves: str) -> dict[str, Any]:
    response = httpx.get(f"{server.api}/api/v1/oncall", params={**window, "move": list(moves)}, timeout=30)
    assert response.status_code == 200, response.text
    return response.json()


def test_oncall_load_from_sdk_traffic(server: ServeProcess) -> None:
    base = tuesday()
    window = {"start": datetime.fromtimestamp(base, UTC).isoformat(),
              "end": datetime.fromtimestamp(base + 2 * DAY, UTC).isoformat()}
    send(server.grpc, base)

    def settled() -> dict[str, Any] | None:
        body = oncall(server, window)
        teams = {t["team"]: t for t in body["teams"]}
        return teams if teams["red"]["failed"] == 48 and teams["red"]["depended_on_by"] else None

    teams = wait_for(settled, timeout=30)
    assert teams, "the bursts never reached the store"
    figures = {name: (t["services"], t["episodes"], t["off_hours_episodes"], t["rotation"], t["per_member"],
                      t["overloaded"]) for name, t in teams.items()}
    assert figures == {
        "red": (["red-api"], 4, 3, {"declared": True, "size": 1}, 4.0, True),
        "blue": (["blue-api"], 2, 1, {"declared": False, "size": 2}, 1.0, False),
        "green": (["green-api"], 1, 0, {"declared": True, "size": 1}, 1.0, False),
    }
    assert (teams["red"]["depended_on_by"], teams["blue"]["depended_on_by"]) == (["blue"], [])
    assert (teams["green"]["calls"], teams["green"]["failed"], teams["blue"]["failed"]) == (20, 12, 24)

    findings = httpx.get(f"{server.api}/api/v1/findings", params=window, timeout=30).json()["findings"]
    overloaded = [(f["service"], f["team"]) for f in findings if f["code"] == "oncall_overloaded"]
    assert overloaded == [(None, "red")]

    moved = oncall(server, window, "red-api=blue")
    assert moved["moves"] == [{"service": "red-api", "team": "blue"}]
    after = {t["team"]: t for t in moved["teams"]}
    assert (after["blue"]["episodes"], after["blue"]["off_hours_episodes"], after["blue"]["per_member"]) == (5, 3, 2.5)
    assert (after["red"]["episodes"], after["red"]["services"]) == (0, [])
    assert not any(t["overloaded"] for t in after.values())
    refused = httpx.get(f"{server.api}/api/v1/oncall", params={**window, "move": "red-api=purple"}, timeout=30)
    assert refused.status_code == 400 and "purple" in refused.json()["detail"]
