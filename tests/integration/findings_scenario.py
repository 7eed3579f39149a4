"""A running `ownermap serve` with non-default judgement settings, fed over OTLP/HTTP, for the
end-to-end tests of findings, the teams view and the weekly report (DESIGN §3a, §3b).

The window is two days from 00:00 UTC two days ago (hourly buckets). Entry calls, 20 per burst:
  red-api   (team red, rotation of 1):  hours 1, 5, 20 of the first day, 8 of 20 failed each
  blue-api  (team blue, 2 members):     hour 3, 8 of 20 failed
(every episode off-hours, whatever the weekday)
  green-api (team green, 2 members):    hour 2, none failed
With `episode_min_failed` 5 (the settings below) every burst is an episode: per member red 3,
blue 0.5, green 0, median 0.5, so red is overloaded; with the default 10 there is none. red-api's
availability objective (99 %) sees 60 calls, 24 failed: breached with `objective_min_calls` 20,
insufficient_data with the default 100.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import httpx

from tests.collector.otlp_builders import T0_NS, otlp_json, span
from tests.integration.serve_process import ServeProcess, sqlite_url, wait_for

HOUR, DAY = 3600, 86400
OWNERS_YAML = """\
teams:
  - {name: red, members: [a, b, c], oncall: {members: [a]}}
  - {name: blue, members: [d, e]}
  - {name: green, members: [f, g]}
services:
  - name: red-api
    owner: red
    objectives: [{name: red-up, sli: availability, target: 0.99}]
  - {name: blue-api, owner: blue}
  - {name: green-api, owner: green}
"""
BURSTS = {"red-api": [(1, 8), (5, 8), (20, 8)], "blue-api": [(3, 8)], "green-api": [(2, 0)]}
SETTINGS = {"OWNERMAP_EPISODE_MIN_FAILED": "5", "OWNERMAP_OBJECTIVE_MIN_CALLS": "20"}


def day_start() -> int:
    """00:00 UTC two days ago: the window [it, it + 2 d) ends before now."""
    return int(time.time() // DAY * DAY) - 2 * DAY


def window(base: int) -> dict[str, str]:
    """The scenario's window as query parameters (and CLI flags)."""
    return {"start": datetime.fromtimestamp(base, UTC).isoformat(),
            "end": datetime.fromtimestamp(base + 2 * DAY, UTC).isoformat()}


def start_server(tmp_path: Path, **env: str) -> ServeProcess:
    """`ownermap serve` over a fresh SQLite file with the scenario's catalog and SETTINGS (plus `env`)."""
    (tmp_path / "owners.yaml").write_text(OWNERS_YAML, encoding="utf-8")
    return ServeProcess(sqlite_url(tmp_path / "o.db"), "--catalog", str(tmp_path / "owners.yaml"),
                        env={"OWNERMAP_QUERY_CACHE_SECONDS": "0", **SETTINGS, **env}).start()


def send(server: ServeProcess, base: int) -> None:
    """Post every burst as OTLP/JSON to the server's OTLP/HTTP receiver."""
    specs = []
    for service, bursts in BURSTS.items():
        for hour, failed in bursts:
            for i in range(20):
                at_ms = ((base + hour * HOUR + 60 + i) * 1_000_000_000 - T0_NS) / 1_000_000
                specs.append(span(f"{service}:SERVER s{hour}x{i}", trace=f"{service}-{hour}-{i}", start_ms=at_ms,
                                  error=i < failed))
    response = httpx.post(server.http, json=otlp_json(specs), timeout=30)
    assert response.status_code == 200, response.text


def settled(server: ServeProcess, base: int) -> list[dict[str, object]]:
    """The window's findings once every call is in the store (the overload finding shows it)."""
    def ready() -> list[dict[str, object]] | None:
        body = httpx.get(f"{server.api}/api/v1/findings", params=window(base), timeout=30).json()
        found = body["findings"]
        return found if any(f["code"] == "oncall_overloaded" for f in found) else None

    found = wait_for(ready, timeout=30)
    assert found, "the bursts never reached the store"
    return found


def running(tmp_path: Path) -> Iterator[tuple[ServeProcess, int]]:
    """A fed server and its window's start (a fixture body)."""
    server = start_server(tmp_path)
    try:
        base = day_start()
        send(server, base)
        settled(server, base)
        yield server, base
    finally:
        server.stop()
