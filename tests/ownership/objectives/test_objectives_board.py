"""`objective_results` over a real store: Occurrences read spans between the burn windows' starts,
Timeslices read buckets, and either way the answers equal those computed from every bucket."""

from __future__ import annotations

import random
from pathlib import Path

from graph.aggregate import Aggregator
from graph.model import Call, NodeKind, Window
from graph.store.series import InboundBucket
from graph.store.sqlite import SQLiteStore
from ownership.objectives.board import objective_results, team_trouble_counts
from ownership.source import CatalogSource

NOW = 1_790_000_000.0 // 3600 * 3600 + 1234

OWNERS = """\
teams: [{name: pay, members: [bob]}, {name: web, members: [alice]}]
services:
  - name: checkout
    owner: pay
    objectives:
      - {name: up, sli: availability, target: 0.95}
      - {name: fast, sli: latency, target: 0.9, threshold_ms: 100, window: 7d}
  - name: payments
    owner: pay
    objectives:
      - {name: strict, sli: availability, target: 0.999}
"""

SLICES = """\
apiVersion: openslo/v1
kind: SLO
metadata: {name: sliced}
spec:
  service: checkout
  indicator:
    metadata: {name: ok}
    spec:
      ratioMetric:
        good: {metricSource: {type: ownermap, spec: {signal: availability}}}
        total: {metricSource: {type: ownermap, spec: {signal: availability}}}
  timeWindow: [{duration: 2d, isRolling: true}]
  budgetingMethod: Timeslices
  objectives: [{target: 0.9, timeSliceTarget: 0.95}]
"""


def _store(tmp_path: Path) -> SQLiteStore:
    store = SQLiteStore(tmp_path / "o.db")
    rng = random.Random(3)
    agg = Aggregator(store.bucket_seconds)
    for _ in range(3000):
        ts = NOW - rng.choice([rng.uniform(0, 7 * 3600), rng.uniform(0, 9 * 86400)])
        server = rng.choice(["checkout", "payments"])
        agg.call(Call(int(ts * 1e9), "web", NodeKind.SERVICE, server, NodeKind.SERVICE, "rpc", "",
                      rng.random() < (0.3 if ts > NOW - 3600 else 0.02), 0.01, rng.choice([0.02, 0.05, 0.3]),
                      bytes(16)))
    store.write(agg.drain())
    store.compact(NOW, retention_days=90)
    return store


def test_results_from_spans_equal_results_from_every_bucket(tmp_path: Path) -> None:
    (tmp_path / "catalog").mkdir()
    (tmp_path / "catalog" / "owners.yaml").write_text(OWNERS)
    (tmp_path / "catalog" / "slices.yaml").write_text(SLICES)
    source = CatalogSource([str(tmp_path / "catalog")])
    assert source.reload().errors == []
    index = source.index
    store = _store(tmp_path)
    asked: list[object] = []

    def every_bucket(window: Window, env: str | None = None, service: str | None = None,
                     cuts: object = None) -> list[InboundBucket]:
        asked.append(cuts)
        return store.inbound(window, env, service)

    fast = [r.to_dict() for r in objective_results(index, store.inbound, NOW)]
    slow = [r.to_dict() for r in objective_results(index, every_bucket, NOW)]
    assert fast == slow
    assert len(fast) == 4 and {r["status"] for r in fast} >= {"breached", "met"}
    assert all(r["burn_rates"]["5m"] is not None for r in fast)  # the recent spans are read apart
    assert sum(cuts is not None for cuts in asked) == 2 and None in asked  # 28 d and 7 d spans; 2 d buckets
    # checkout's fast and sliced and payments' strict are breached: burn events of pay, or of the
    # team a what-if move gives payments to
    assert team_trouble_counts(objective_results(index, store.inbound, NOW)) == {"pay": 3}
    moved = team_trouble_counts(objective_results(index, store.inbound, NOW), {"Payments": "web"})
    assert moved == {"pay": 2, "web": 1}
