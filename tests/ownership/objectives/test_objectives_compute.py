"""The computation of objectives over InboundBucket series, against hand-computed answers."""

from __future__ import annotations

import pytest

from graph.model import LATENCY_BUCKETS
from graph.store.series import InboundBucket
from ownership.objectives.evaluate import Limits, evaluate
from ownership.objectives.indicator import within_threshold
from ownership.objectives.model import Objective

T = 1_790_000_000 // 3600 * 3600  # hour-aligned
DAY = 86_400
SIZE = len(LATENCY_BUCKETS) + 1
I100MS = LATENCY_BUCKETS.index(0.1)  # bucket (0.05, 0.1]


def hist(**counts: int) -> tuple[int, ...]:
    """A histogram from {'i<index>': count}."""
    out = [0] * SIZE
    for key, count in counts.items():
        out[int(key[1:])] = count
    return tuple(out)


def bucket(start: int, calls: int, failed: int = 0, server_hist: tuple[int, ...] | None = None,
           seconds: int = 300) -> InboundBucket:
    return InboundBucket("api", start, seconds, calls, failed, server_hist or hist(i0=calls))


def objective(**kw: object) -> Objective:
    base: dict[str, object] = {"name": "o", "service": "api", "source": "x.yaml", "source_format": "openslo",
                               "sli": "availability", "target": 0.99}
    return Objective(**{**base, **kw})  # type: ignore[arg-type]


def test_latency_on_a_bucket_bound_is_exact() -> None:
    h = hist(**{f"i{I100MS}": 10, f"i{I100MS + 1}": 10, f"i{SIZE - 1}": 5})
    events = within_threshold(h, 100)
    assert (events.good, events.total, events.approximate) == (10, 25, False)


def test_latency_inside_a_bucket_is_linear_and_approximate() -> None:
    h = hist(**{f"i{I100MS}": 10, f"i{I100MS + 1}": 10, f"i{SIZE - 1}": 5})
    events = within_threshold(h, 150)  # halfway through (0.1, 0.2]
    assert (pytest.approx(events.good), events.total, events.approximate) == (15, 25, True)


def test_latency_inf_bucket_always_counts_over() -> None:
    h = hist(**{f"i{I100MS}": 10, f"i{SIZE - 1}": 5})
    assert (within_threshold(h, 60_000).good, within_threshold(h, 60_000).approximate) == (10, False)


def test_latency_objective_reports_approximate() -> None:
    h = hist(**{f"i{I100MS}": 80, f"i{I100MS + 1}": 40})
    result = evaluate(objective(sli="latency", threshold_ms=150, target=0.8), [bucket(T - 300, 120, 0, h)], T,
                      matched=True)
    # good = 80 + 40/2 = 100 of 120; budget = 0.2 * 120 = 24; remaining = 1 - 20/24
    assert result.budget.observed == pytest.approx(100 / 120)
    assert result.budget.budget_remaining == pytest.approx(1 - 20 / 24)
    assert result.to_dict()["approximate"] is True
    assert result.status == "met"


def test_availability_occurrences() -> None:
    result = evaluate(objective(), [bucket(T - 600, 600, 3), bucket(T - 300, 400, 2)], T, matched=True)
    # observed 1 - 5/1000; budget (1 - 0.99) * 1000 = 10; remaining 1 - 5/10
    assert (result.budget.good, result.budget.total) == (995, 1000)
    assert result.budget.observed == pytest.approx(0.995)
    assert result.budget.budget_remaining == pytest.approx(0.5)
    assert result.status == "met"


def test_overspent_budget_is_negative_and_breached() -> None:
    result = evaluate(objective(target=0.999), [bucket(T - 300, 1000, 5)], T, matched=True)
    assert result.budget.budget_remaining == pytest.approx(1 - 5 / 1)  # not clamped
    assert result.status == "breached"


SLICED = [bucket(T - 1200, 100, 0), bucket(T - 900, 100, 10), bucket(T - 600, 0, 0), bucket(T - 300, 100, 50)]


def test_timeslices_count_good_slices_and_skip_empty_ones() -> None:
    o = objective(budgeting="Timeslices", timeslice_target=0.95, target=0.5)
    result = evaluate(o, SLICED, T, matched=True, limits=Limits(objective_min_calls=3))
    # slices 1.0, 0.9, (empty), 0.5: good 1 of 3; budget 0.5 * 3 = 1.5; remaining 1 - 2/1.5
    assert (result.budget.good, result.budget.total) == (1, 3)
    assert result.budget.observed == pytest.approx(1 / 3)
    assert result.budget.budget_remaining == pytest.approx(1 - 2 / 1.5)
    assert result.status == "breached"


def test_timeslices_of_a_declared_window_group_buckets() -> None:
    o = objective(budgeting="Timeslices", timeslice_target=0.95, target=0.5, timeslice_seconds=600)
    result = evaluate(o, SLICED, T, matched=True, limits=Limits(objective_min_calls=1))
    # 10-minute slices: [T-1200, T-600) 190/200 = 0.95 good; [T-600, T) 50/100 bad
    assert (result.budget.good, result.budget.total) == (1, 2)
    assert result.budget.budget_remaining == pytest.approx(1 - 1 / 1.0)


def test_ratio_timeslices_average_the_slice_ratios() -> None:
    o = objective(budgeting="RatioTimeslices", target=0.5)
    result = evaluate(o, SLICED, T, matched=True, limits=Limits(objective_min_calls=3))
    # mean of 1.0, 0.9, 0.5 = 0.8; bad slices-worth 0.6; budget 1.5; remaining 1 - 0.6/1.5
    assert result.budget.observed == pytest.approx(0.8)
    assert result.budget.total == 3
    assert result.budget.budget_remaining == pytest.approx(0.6)
    assert result.status == "met"


def test_burn_rate_windows_cover_the_buckets_overlapping_the_last_w() -> None:
    end = T + 100  # inside the current bucket [T, T+300)
    buckets = [bucket(T - 300 * k, 100, {0: 20, 1: 10}.get(k, 0)) for k in range(72)]
    rates = evaluate(objective(), buckets, end, matched=True).burn.rates
    assert rates["5m"] == pytest.approx((30 / 200) / 0.01)  # the current bucket and the one before
    assert rates["30m"] == pytest.approx((30 / 700) / 0.01)  # buckets starting T-1800 … T
    assert rates["1h"] == pytest.approx((30 / 1300) / 0.01)  # T-3600 … T
    assert rates["6h"] == pytest.approx((30 / 7200) / 0.01)  # all 72 buckets
    assert evaluate(objective(), [], end, matched=True).burn.rates == {"5m": None, "30m": None, "1h": None, "6h": None}


def _burning_history(calls: int, failed: int) -> list[InboundBucket]:
    old = [bucket(T - 3 * DAY, 1_000_000, 0, seconds=3600)]  # plenty of budget left
    return old + [bucket(T - 300 * k, calls, failed) for k in range(1, 73)]


def test_fast_and_slow_burn_make_a_burning_status() -> None:
    result = evaluate(objective(), _burning_history(100, 20), T, matched=True)
    # every recent bucket fails 20%: burn 20 in every window; remaining 1 - 1440/(0.01 * 1_007_200)
    assert result.burn.fast and result.burn.slow
    assert result.budget.budget_remaining == pytest.approx(1 - 1440 / 10072)
    assert result.status == "burning"


def test_burn_needs_burn_min_calls_in_its_shorter_window() -> None:
    few = _burning_history(4, 2)  # 8 calls in the last 5 m, 28 in the last 30 m
    result = evaluate(objective(), few, T, matched=True)
    assert (result.burn.fast, result.burn.slow) == (False, True)
    result = evaluate(objective(), few, T, matched=True, limits=Limits(burn_min_calls=30))
    assert (result.burn.fast, result.burn.slow, result.status) == (False, False, "met")


def test_fewer_than_objective_min_calls_is_insufficient_data() -> None:
    assert evaluate(objective(), [bucket(T - 300, 99, 99)], T, matched=True).status == "insufficient_data"
    assert evaluate(objective(), [bucket(T - 300, 100, 99)], T, matched=True).status == "breached"
    assert evaluate(objective(), [], T, matched=True).status == "insufficient_data"


def test_unmatched_comes_first() -> None:
    assert evaluate(objective(), [bucket(T - 300, 1000, 999)], T, matched=False).status == "unmatched"


def test_a_28_day_window_crossing_the_rollup_boundary() -> None:
    buckets = [
        bucket(T - 28 * DAY - 3600, 1000, 1000, seconds=3600),  # ends where the window starts: outside
        bucket(T - 28 * DAY, 1000, 10, seconds=3600),  # the window's first hour
        bucket(T - 2 * DAY, 500, 0, seconds=3600),  # hourly rollup beyond the last day
        bucket(T - 300, 100, 5),  # a 5-minute bucket of the last day
    ]
    result = evaluate(objective(window_seconds=28 * DAY), buckets, T, matched=True)
    # 1600 calls, 15 failed: observed 1 - 15/1600; budget 16; remaining 1 - 15/16
    assert (result.budget.good, result.budget.total) == (1585, 1600)
    assert result.budget.observed == pytest.approx(1 - 15 / 1600)
    assert result.budget.budget_remaining == pytest.approx(1 / 16)
    assert result.to_dict()["window"] == {"start": "2026-08-24T14:00:00Z", "end": "2026-09-21T14:00:00Z"}
