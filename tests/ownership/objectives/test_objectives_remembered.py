"""Remembered objective results equal fresh evaluations: through writes (fresh and late), moving ends,
catalog changes and other limits; and they are reused where nothing an evaluation reads changed."""

from __future__ import annotations

import random
from pathlib import Path

import pytest

from graph.aggregate import Aggregator
from graph.model import Call, NodeKind
from graph.store.mirror import QueryMirror
from graph.store.sqlite import SQLiteStore
from ownership.identity import CatalogIndex
from ownership.objectives.board import objective_results
from ownership.objectives.evaluate import Limits
from ownership.objectives.remembered import RememberedResults
from ownership.source import CatalogSource
from tests.ownership.objectives.test_objectives_board import SLICES as BOARD_SLICES

NOW = 1_790_000_000 // 3600 * 3600
SERVICES = ["checkout", "payments", "search"]  # "ledger" is called in one burst only

OWNERS = """\
teams: [{name: pay, members: [bob]}]
services:
  - name: checkout
    owner: pay
    objectives:
      - {name: up, sli: availability, target: TARGET}
      - {name: fast, sli: latency, target: 0.9, threshold_ms: 100, window: 7d}
  - name: payments
    owner: pay
    objectives: [{name: strict, sli: availability, target: 0.999}]
  - name: search
    owner: pay
    objectives: [{name: up, sli: availability, target: 0.99, window: 1d}]
  - {name: ledger, owner: pay, objectives: [{name: up, sli: availability, target: 0.9}]}
"""

SLICES = BOARD_SLICES.replace("service: checkout", "service: payments")  # a 2-day Timeslices objective


def _index(tmp_path: Path, target: str = "0.95") -> CatalogIndex:
    folder = tmp_path / f"catalog-{target}"
    folder.mkdir()
    (folder / "owners.yaml").write_text(OWNERS.replace("TARGET", target))
    (folder / "slices.yaml").write_text(SLICES)
    source = CatalogSource([str(folder)])
    assert source.reload().errors == []
    return source.index


def _write(store: SQLiteStore, rng: random.Random, times: list[float], failing: float, *,
           services: list[str] = SERVICES, timed: bool = True) -> None:
    """Calls at `times`, a share `failing` of them failed; `timed`: with a server duration."""
    agg = Aggregator(store.bucket_seconds)
    for ts in times:
        agg.call(Call(int(ts * 1e9), "web", NodeKind.SERVICE, rng.choice(services), NodeKind.SERVICE, "rpc", "",
                      rng.random() < failing, 0.01, rng.choice([0.02, 0.05, 0.3]) if timed else None, bytes(16)))
    store.write(agg.drain())


def _store(tmp_path: Path, rng: random.Random) -> SQLiteStore:
    store = SQLiteStore(tmp_path / "o.db")
    _write(store, rng, [NOW - rng.uniform(0, 9 * 86400) for _ in range(3000)], 0.02)
    store.compact(NOW - 86400, retention_days=90)
    return store


def _answers(index: CatalogIndex, store: SQLiteStore, end: float, limits: Limits,
             memo: RememberedResults | None) -> list[dict[str, object]]:
    return [r.to_dict() for r in objective_results(index, store.inbound, end, None, limits, memo)]


@pytest.mark.parametrize("mirrored", [False, True])
def test_remembered_results_equal_fresh_ones_through_writes_and_moving_ends(tmp_path: Path, mirrored: bool) -> None:
    """From SQL (records compared), or from the query mirror's span rows (rows compared)."""
    rng = random.Random(5)
    store, index, memo, limits = _store(tmp_path, rng), _index(tmp_path), RememberedResults(), Limits(20, 5)
    mirror = QueryMirror(store, days=3, refresh_seconds=0, clock=lambda: NOW) if mirrored else None
    seen = set()
    for step in range(24):
        end = NOW + step * 300 + (0 if step % 3 else 17.5)  # windows a bucket apart, some ending mid-bucket
        if step % 4 == 1:  # fresh calls, a burst of failures in the last minutes
            _write(store, rng, [end - rng.uniform(0, 120) for _ in range(40)], 0.6)
        if step == 1:  # the only calls into ledger: the same sums cross the burn windows as ends move
            _write(store, rng, [end - 60] * 30, 0.8, services=["ledger"])
        if step % 5 == 2:  # late calls into buckets hours and days back
            _write(store, rng, [end - rng.uniform(3600, 3 * 86400) for _ in range(30)], 0.5)
        fresh = _answers(index, store, end, limits, None)
        if mirror is None:
            assert _answers(index, store, end, limits, memo) == fresh
        else:
            got = objective_results(index, mirror.inbound, end, None, limits, memo, mirror.inbound_spans)
            assert [r.to_dict() for r in got] == fresh
        seen.update(r["status"] for r in fresh)
    assert memo.hits > 0  # some results were reused, and equal
    assert {"met", "burning"} <= seen


def test_a_late_write_into_an_old_bucket_is_seen_at_the_same_end(tmp_path: Path) -> None:
    rng = random.Random(6)
    store, index, memo, limits = _store(tmp_path, rng), _index(tmp_path), RememberedResults(), Limits(20, 5)
    before = _answers(index, store, NOW, limits, memo)
    # failed calls without a server duration: only the calls and failed counts change
    _write(store, rng, [NOW - 2 * 86400 - rng.uniform(0, 300) for _ in range(200)], 1.0, timed=False)
    after = _answers(index, store, NOW, limits, memo)
    assert after == _answers(index, store, NOW, limits, None)
    assert after != before


@pytest.mark.parametrize("mirrored", [False, True])
def test_another_catalog_or_other_limits_are_not_answered_from_memory(tmp_path: Path, mirrored: bool) -> None:
    rng = random.Random(7)
    store, memo = _store(tmp_path, rng), RememberedResults()
    mirror = QueryMirror(store, days=3, refresh_seconds=0, clock=lambda: NOW) if mirrored else None
    strict, lax = _index(tmp_path, "0.9999"), _index(tmp_path, "0.5")
    for index in (strict, lax, strict):
        for limits in (Limits(20, 5), Limits(100_000, 5), Limits(20, 5)):
            got = objective_results(index, store.inbound, NOW, None, limits, memo) if mirror is None else \
                objective_results(index, mirror.inbound, NOW, None, limits, memo, mirror.inbound_spans)
            assert [r.to_dict() for r in got] == _answers(index, store, NOW, limits, None)
    statuses = {r["status"] for r in _answers(lax, store, NOW, Limits(100_000, 5), None)}
    assert statuses == {"insufficient_data"}


def test_the_memory_is_bounded(tmp_path: Path) -> None:
    rng = random.Random(8)
    store, index, memo = _store(tmp_path, rng), _index(tmp_path), RememberedResults(entries=3)
    for step in range(6):
        assert _answers(index, store, NOW + step * 3600, Limits(20, 5), memo) == \
            _answers(index, store, NOW + step * 3600, Limits(20, 5), None)
        assert len(memo) <= 3
