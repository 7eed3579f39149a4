"""Weekly report benchmark: build_weekly_report and every renderer on a large service graph.

    python bench/report.py [--services 2000] [--edges 20000] [--db PATH] [--repeat 3] [--json]

Generates, directly into a SQLiteStore through graph.aggregate.Aggregator batches with explicit
timestamps (no collector, no waiting):

- `--services` services and `--edges` distinct edges (≈85 % service → service, layered with a
  few back edges so there are cycles; ≈10 % to databases; ≈5 % to external APIs);
- this week (the 7 days before END): every edge active in 1-12 random hourly buckets, plus
  5-minute buckets every hour of the last day for a fifth of the edges; every service sighted
  once a day;
- last week: 90 % of the edges in 1-4 hourly buckets (so the first run computes last week's
  orphans from the aggregates, the report's slowest path), with churn: every 33rd service is new
  this week, and 3 % more services (undocumented) were seen only last week, so the report has
  `new` and `resolved` orphans;
- then `store.compact(END)`: buckets older than a day move to the hourly tables, as `serve`
  keeps them (`--no-compact` leaves everything in the 5-minute table);
- an owners.yaml in a temporary directory: ≈70 % of the services owned by a team with members,
  the rest undocumented (12 %), unowned, owned by an unknown team or by a team without members
  (6 % each); some documentation gaps, a few stale entries, half of the databases owned.

Then times build_weekly_report (first run: last week from aggregates; then with last week's
recorded run) and rendering each format (md, html, csv, json), best of `--repeat`.
"""

from __future__ import annotations

import argparse
import json
import random
import resource
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from graph.aggregate import AggregateBatch, Aggregator
from graph.model import Call, NodeKind, Resource, Span, SpanKind
from graph.store.sqlite import SQLiteStore
from ownership.catalog import load_catalog
from ownership.identity import CatalogIndex
from reports import FORMATS, render_report
from reports.weekly import build_weekly_report

NS = 1_000_000_000
HOUR = 3600
DAY = 86400
WEEK = 7 * DAY
END = 1_795_392_000  # 2026-11-23T00:00:00Z, a Monday
TEAMS = 40


def service_name(i: int) -> str:
    return f"svc-{i:04d}"


def make_edges(rng: random.Random, services: int, edges: int) -> list[tuple[str, str, str, str]]:
    """Distinct (client, server, server_kind, connection_type) edges."""
    databases = [f"db-{i:03d}" for i in range(max(1, services // 20))]
    externals = [f"api.vendor{i:02d}.example" for i in range(max(1, services // 50))]
    seen: set[tuple[str, str]] = set()
    out: list[tuple[str, str, str, str]] = []
    while len(out) < edges:
        a = rng.randrange(services)
        roll = rng.random()
        if roll < 0.85:
            if rng.random() < 0.01:  # a back edge: cycles
                b = rng.randrange(max(1, a - 50), a + 1)
            else:
                b = min(services - 1, a + 1 + int(rng.expovariate(1 / 60)))
            if a == b:
                continue
            target, kind, ctype = service_name(b), NodeKind.SERVICE, "rpc"
        elif roll < 0.95:
            target, kind, ctype = rng.choice(databases), NodeKind.DATABASE, "database"
        else:
            target, kind, ctype = rng.choice(externals), NodeKind.EXTERNAL, "virtual"
        key = (service_name(a), target)
        if key in seen:
            continue
        seen.add(key)
        out.append((key[0], target, kind, ctype))
    return out


def make_catalog(rng: random.Random, services: int, directory: Path) -> dict[str, int]:
    """owners.yaml with ≈70 % owned services; returns how many of each kind of entry."""
    lines = ["teams:"]
    for t in range(TEAMS):
        lines += [f"  - name: team-{t:02d}", f"    members: [user-{t:02d}a, user-{t:02d}b]"]
        if t % 4:
            lines.append(f"    oncall: https://example.pagerduty.com/schedules/T{t:02d}")
    for t in range(5):
        lines.append(f"  - name: ghost-{t}")  # no members: inactive
    lines.append("services:")
    counts = {"owned": 0, "undocumented": 0, "unowned": 0, "owner_not_found": 0, "owner_inactive": 0, "stale": 0}
    for i in range(services):
        name = service_name(i)
        roll = rng.random()
        docs = [] if rng.random() < 0.15 else [f"    runbook: https://rb.example/{name}",
                                                 f"    docs: https://docs.example/{name}"]
        if roll < 0.70:
            counts["owned"] += 1
            lines += [f"  - name: {name}", f"    owner: team-{i % TEAMS:02d}", *docs]
        elif roll < 0.82:
            counts["undocumented"] += 1  # no entry at all
        elif roll < 0.88:
            counts["unowned"] += 1
            lines += [f"  - name: {name}", *docs]
        elif roll < 0.94:
            counts["owner_not_found"] += 1
            lines += [f"  - name: {name}", f"    owner: team-gone-{i % 7}", *docs]
        else:
            counts["owner_inactive"] += 1
            lines += [f"  - name: {name}", f"    owner: ghost-{i % 5}", *docs]
    for i in range(max(1, services // 40)):
        counts["stale"] += 1
        lines += [f"  - name: retired-{i:04d}", f"    owner: team-{i % TEAMS:02d}"]
    for i in range(0, max(1, services // 20), 2):
        lines += [f"  - name: db-{i:03d}", f"    owner: team-{i % TEAMS:02d}"]
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "owners.yaml").write_text("\n".join(lines) + "\n", encoding="utf-8")
    return counts


class Writer:
    """Feeds Aggregators and writes their batches, scaling each bucket's single call to a realistic count."""

    def __init__(self, store: SQLiteStore, rng: random.Random) -> None:
        self.store = store
        self.rng = rng
        self.hourly = Aggregator(bucket_seconds=HOUR)
        self.five_minutes = Aggregator(bucket_seconds=300)
        self.rows = 0
        self.pending = 0
        self._n = 0

    def call(self, agg: Aggregator, ts: float, edge: tuple[str, str, str, str]) -> None:
        client, server, kind, ctype = edge
        agg.call(Call(int(ts * NS), client, NodeKind.SERVICE, server, kind, ctype, "prod", False, 0.02, 0.01,
                 self._n.to_bytes(16, "big")))
        self._n += 1
        self.pending += 1
        if self.pending >= 50_000:
            self.flush()

    def sighting(self, agg: Aggregator, ts: float, service: str) -> None:
        self._n += 1
        agg.sighting(Span(self._n.to_bytes(16, "big"), self._n.to_bytes(8, "big"), b"", Resource(service, "prod"),
                          SpanKind.SERVER, int(ts * NS), int(ts * NS) + 1000))
        self.pending += 1

    def _scaled(self, batch: AggregateBatch) -> AggregateBatch:
        for aggregate in batch.edges.values():
            calls = self.rng.randint(1, 400)
            aggregate.calls = calls
            aggregate.failed = calls // 20 if self.rng.random() < 0.1 else 0
            aggregate.server_hist[5] = calls
            aggregate.client_hist[6] = calls
        for service in batch.services.values():
            service.spans = self.rng.randint(1, 1000)
        return batch

    def flush(self) -> None:
        for agg in (self.hourly, self.five_minutes):
            batch = self._scaled(agg.drain())
            self.rows += len(batch.edges) + len(batch.services)
            self.store.write(batch)
        self.pending = 0


def generate(store: SQLiteStore, rng: random.Random, services: int, edges: list[tuple[str, str, str, str]]) -> int:
    """Both weeks of aggregates; returns the number of bucket rows written."""
    w = Writer(store, rng)
    this_week, last_week = END - WEEK, END - 2 * WEEK
    hours = WEEK // HOUR
    new = {service_name(i) for i in range(1, services, 33)}  # not seen last week
    for i in range(services):  # every service once a day (the new ones: this week only)
        name = service_name(i)
        for d in range(7 if name in new else 14):
            w.sighting(w.hourly, END - (d + 1) * DAY + rng.randrange(DAY), name)
    for i in range(services, services + services * 3 // 100):  # seen last week only
        w.sighting(w.hourly, last_week + rng.randrange(WEEK), service_name(i))
        edge = (service_name(rng.randrange(services)), service_name(i), NodeKind.SERVICE, "rpc")
        w.call(w.hourly, last_week + rng.randrange(WEEK), edge)
    for edge in edges:
        for h in rng.sample(range(hours), rng.randint(1, 12)):
            w.call(w.hourly, this_week + h * HOUR + rng.randrange(HOUR), edge)
        if rng.random() < 0.9 and edge[0] not in new and edge[1] not in new:
            for h in rng.sample(range(hours), rng.randint(1, 4)):
                w.call(w.hourly, last_week + h * HOUR + rng.randrange(HOUR), edge)
    for edge in rng.sample(edges, len(edges) // 5):  # the last day in 5-minute buckets
        for h in range(24):
            w.call(w.five_minutes, END - DAY + h * HOUR + rng.randrange(HOUR), edge)
    w.flush()
    return w.rows


def best(fn: Any, repeat: int) -> tuple[float, Any]:
    """Best wall time of `repeat` runs, and the last result."""
    times, result = [], None
    for _ in range(repeat):
        started = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - started)
    return min(times), result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--services", type=int, default=2000)
    parser.add_argument("--edges", type=int, default=20000)
    parser.add_argument("--db", type=Path, help="SQLite file to create (default: a temporary one)")
    parser.add_argument("--repeat", type=int, default=3, help="runs per timing; the best is reported")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--no-compact", action="store_true", help="do not roll old buckets up to hourly ones")
    parser.add_argument("--json", action="store_true", help="print the result as JSON")
    args = parser.parse_args()
    rng = random.Random(args.seed)

    with tempfile.TemporaryDirectory(prefix="ownermap-bench-report-") as tmp:
        work = Path(tmp)
        db = args.db or work / "ownermap.db"
        if db.exists():
            sys.exit(f"{db} exists; give a new path")
        started = time.perf_counter()
        edges = make_edges(rng, args.services, args.edges)
        counts = make_catalog(rng, args.services, work / "catalog")
        catalog = load_catalog([work / "catalog"])
        if catalog.errors:
            sys.exit(f"generated catalog has errors: {catalog.errors[:3]}")
        index = CatalogIndex(catalog)
        store = SQLiteStore(db)
        try:
            rows = generate(store, rng, args.services, edges)
            generated = time.perf_counter() - started
            compacted = 0.0
            if not args.no_compact:
                started = time.perf_counter()
                store.compact(END, retention_days=90)
                compacted = time.perf_counter() - started

            first, weekly = best(lambda: build_weekly_report(store, index, END, record=False), args.repeat)
            renders = {}
            sizes = {}
            for fmt in FORMATS:
                renders[fmt], text = best(lambda fmt=fmt: render_report(weekly, fmt), args.repeat)
                sizes[fmt] = len(text.encode("utf-8"))
            build_weekly_report(store, index, END - WEEK, record=True)  # last week's run, recorded
            with_history, _ = best(lambda: build_weekly_report(store, index, END, record=False), args.repeat)
        finally:
            store.close()
        db_mb = db.stat().st_size / 1e6

    summary = weekly.data["summary"]
    result: dict[str, Any] = {
        "services": args.services,
        "edges": args.edges,
        "graph_nodes": len(weekly.week.graph.nodes),
        "graph_edges": len(weekly.week.graph.edges),
        "bucket_rows": rows,
        "db_mb": round(db_mb, 1),
        "catalog": counts,
        "summary": summary,
        "generate_s": round(generated, 2),
        "compact_s": round(compacted, 2),
        "build_first_run_s": round(first, 3),
        "build_with_history_s": round(with_history, 3),
        **{f"render_{fmt}_s": round(t, 3) for fmt, t in renders.items()},
        **{f"size_{fmt}_bytes": n for fmt, n in sizes.items()},
        "build_plus_all_formats_s": round(first + sum(renders.values()), 3),
        "worst_single_format_s": round(first + max(renders.values()), 3),
        "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
    }
    if args.json:
        print(json.dumps(result))
        return
    for key, value in result.items():
        print(f"{key:28} {value}")
    limit = 10.0
    verdict = "OK" if result["build_plus_all_formats_s"] <= limit else "OVER"
    print(f"{'target':28} build + every format ≤ {limit:.0f} s: {verdict}")


if __name__ == "__main__":
    main()
