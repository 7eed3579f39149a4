"""Shared builders for the report tests: telemetry with explicit timestamps, catalogs in files,
and the two-week golden scenario.

Every timestamp is explicit (nothing waits for the clock). `END` is Monday 2026-11-23 00:00 UTC,
aligned to every bucket size; the report's window is [END - 7 d, END), the previous window
[END - 14 d, END - 7 d).
"""

from __future__ import annotations

from pathlib import Path

from graph.aggregate import Aggregator
from graph.model import Call, NodeKind, Resource, Span, SpanKind
from graph.service_graph import iso_ns
from graph.store.interface import Store
from graph.window import parse_time
from ownership.catalog import load_catalog
from ownership.identity import CatalogIndex

NS = 1_000_000_000
DAY = 86400
WEEK = 7 * DAY
END = parse_time("2026-11-23")  # a Monday, 00:00 UTC
THIS_WEEK = END - 3 * DAY  # 2026-11-20T00:00Z: inside [END - 7 d, END)
LAST_WEEK = END - 10 * DAY  # 2026-11-13T00:00Z: inside [END - 14 d, END - 7 d)


def iso(ts: float) -> str:
    """How the report writes `orphaned_since` (ISO 8601 UTC, milliseconds)."""
    value = iso_ns(int(ts * NS))
    assert value is not None
    return value


def day(ts: float) -> str:
    """The ISO date of a Unix time."""
    return iso(ts)[:10]


class Telemetry:
    """Sightings and calls written through the real Aggregator into a store, at explicit times."""

    def __init__(self, store: Store, env: str = "prod") -> None:
        self.store = store
        self.env = env
        self.agg = Aggregator(bucket_seconds=store.bucket_seconds)
        self._n = 0

    def seen(self, service: str, ts: float, *, count: int = 1, errors: int = 0,
             hints: dict[str, str] | None = None) -> Telemetry:
        """`count` spans of `service` starting at `ts`."""
        resource = Resource(service, self.env, dict(hints or {}))
        for i in range(count):
            self._n += 1
            span = Span(self._n.to_bytes(16, "big"), self._n.to_bytes(8, "big"), b"", resource, SpanKind.SERVER,
                        int(ts * NS), int(ts * NS) + 1000, i < errors)
            self.agg.sighting(span)
        return self

    def call(self, client: str, server: str, ts: float, *, count: int = 1, failed: int = 0,
             client_kind: str = NodeKind.SERVICE, server_kind: str = NodeKind.SERVICE,
             ctype: str = "rpc") -> Telemetry:
        """`count` calls client → server at `ts` (the first `failed` of them failed); services are sighted too."""
        for name, kind in ((client, client_kind), (server, server_kind)):
            if kind == NodeKind.SERVICE:
                self.seen(name, ts)
        for i in range(count):
            self.agg.call(Call(int(ts * NS), client, client_kind, server, server_kind, ctype, self.env, i < failed,
                          0.01, 0.01, self._n.to_bytes(16, "big")))
        return self

    def flush(self) -> None:
        """Write everything counted so far into the store."""
        self.store.write(self.agg.drain())


def catalog_index(directory: Path, owners_yaml: str) -> CatalogIndex:
    """Write `owners.yaml` into `directory` and load it; the catalog must be error-free."""
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "owners.yaml").write_text(owners_yaml, encoding="utf-8")
    catalog = load_catalog([directory])
    assert catalog.errors == [], [str(e) for e in catalog.errors]
    return CatalogIndex(catalog)


# --------------------------------------------------------------------------- the golden scenario

GOLDEN_TEAMS = """\
teams:
  - name: payments
    members: [alice]
    oncall: https://example.pagerduty.com/schedules/PAY
  - name: search
    members: [bob]
    oncall: https://example.pagerduty.com/schedules/SEARCH
  - name: ghost-team
"""

# Services with every documentation signal unless the scenario needs a gap.
GOLDEN_SERVICES = """\
services:
  - {name: gateway, owner: payments, runbook: "https://rb.example/gateway", docs: "https://docs.example/gateway"}
  - {name: frontend, owner: payments, runbook: "https://rb.example/frontend", docs: "https://docs.example/frontend"}
  - {name: checkout, owner: payments, runbook: "https://rb.example/checkout", docs: "https://docs.example/checkout"}
  - name: ledger
    runbook: https://rb.example/ledger
    docs: https://docs.example/ledger
    oncall: https://example.pagerduty.com/services/LEDGER
  - name: fx-rates
    owner: treasury
    runbook: https://rb.example/fx
    docs: https://docs.example/fx
    oncall: https://example.pagerduty.com/services/FX
  - name: legacy-billing
    owner: ghost-team
    runbook: https://rb.example/legacy
    docs: https://docs.example/legacy
    oncall: https://example.pagerduty.com/services/LEGACY
  - {name: search-ui, owner: search}
  - {name: archive, owner: payments, runbook: "https://rb.example/archive", docs: "https://docs.example/archive"}
  - {name: redis, owner: payments, runbook: "https://rb.example/redis", docs: "https://docs.example/redis"}
"""

# `fixed-svc` gets its catalog entry between last week and this week.
FIXED_SVC = """\
  - {name: fixed-svc, owner: payments, runbook: "https://rb.example/fixed", docs: "https://docs.example/fixed"}
"""

GOLDEN_OWNERS = GOLDEN_TEAMS + GOLDEN_SERVICES + FIXED_SVC  # this week's catalog
LAST_WEEKS_OWNERS = GOLDEN_TEAMS + GOLDEN_SERVICES  # last week's catalog: fixed-svc undocumented


def seed_golden(store: Store) -> None:
    """Two weeks of telemetry.

    Last week: gateway → frontend → checkout → ledger; gateway → fixed-svc; old-batch alone (never
    seen again). ledger's first sighting is exactly at the previous window's start.

    This week (call counts / failures):
      gateway → frontend 100, frontend → checkout 80, checkout → ledger 50 (5 failed),
      ledger → fx-rates 20, frontend → recommender 30, user → webhook-in 40 (entry, `user` is virtual),
      search-ui → pdf-render 10 (5 failed), search-ui → legacy-billing 10, gateway → fixed-svc 3,
      checkout → postgres 7 (database, nobody owns it), checkout → redis 7 (database, owned),
      lonely-cron alone. A sighting exactly at END (outside the half-open window) of too-late.
    """
    t = Telemetry(store)
    prev, cur = LAST_WEEK, THIS_WEEK
    t.seen("ledger", END - 2 * WEEK)
    t.call("gateway", "frontend", prev, count=10)
    t.call("frontend", "checkout", prev, count=8)
    t.call("checkout", "ledger", prev, count=5)
    t.call("gateway", "fixed-svc", prev, count=2)
    t.seen("old-batch", prev)

    t.call("gateway", "frontend", cur, count=100)
    t.call("frontend", "checkout", cur, count=80)
    t.call("checkout", "ledger", cur, count=50, failed=5)
    t.call("ledger", "fx-rates", cur, count=20)
    t.call("frontend", "recommender", cur, count=30)
    t.call("user", "webhook-in", cur, count=40, client_kind=NodeKind.USER, ctype="entry")
    t.call("search-ui", "pdf-render", cur, count=10, failed=5)
    t.call("search-ui", "legacy-billing", cur, count=10)
    t.call("gateway", "fixed-svc", cur, count=3)
    t.call("checkout", "postgres", cur, count=7, server_kind=NodeKind.DATABASE, ctype="database")
    t.call("checkout", "redis", cur, count=7, server_kind=NodeKind.DATABASE, ctype="database")
    t.seen("lonely-cron", cur)
    t.seen("too-late", END)
    t.flush()
