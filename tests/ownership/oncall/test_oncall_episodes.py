"""Failing buckets (thresholds at their limits), runs of them, and hourly regrouping."""

from __future__ import annotations

import pytest

from graph.store.series import InboundBucket
from ownership.oncall.episodes import Episode, Slot, Thresholds, merge_runs, slots, team_episodes

T = 1793664000  # aligned to the hour


def bucket(service: str, start: int, calls: int, failed: int, seconds: int = 300) -> InboundBucket:
    return InboundBucket(service, start, seconds, calls, failed, ())


@pytest.mark.parametrize(
    ("calls", "failed", "failing"),
    [
        (200, 10, True),  # both limits met exactly (10 failed, ratio 0.05)
        (201, 10, False),  # ratio 0.0497...
        (180, 9, False),  # ratio 0.05 but one failed call short
        (10, 10, True),
        (0, 0, False),
        (1000, 50, True),
        (1000, 49, False),
    ],
)
def test_thresholds_are_inclusive(calls: int, failed: int, failing: bool) -> None:
    assert Thresholds().failing(calls, failed) is failing


def test_other_thresholds() -> None:
    assert Thresholds(min_failed=1, error_ratio=0.5).failing(2, 1)
    assert not Thresholds(min_failed=1, error_ratio=0.5).failing(3, 1)


def test_runs_merge_across_consecutive_buckets_and_services() -> None:
    found = [
        Slot("a", T, T + 300, 100, 20),
        Slot("b", T + 300, T + 600, 100, 20),  # another service, next bucket: the same episode
        Slot("a", T + 600, T + 900, 100, 20),
        Slot("b", T + 600, T + 900, 100, 20),  # two services in one bucket
        Slot("a", T + 1200, T + 1500, 100, 20),  # a gap of one bucket: a new episode
    ]
    assert merge_runs(found) == [Episode(T, T + 900, ("a", "b")), Episode(T + 1200, T + 1500, ("a",))]


def test_team_episodes_follow_owners() -> None:
    found = [Slot("a", T, T + 300, 1, 1), Slot("b", T + 300, T + 600, 1, 1), Slot("x", T, T + 300, 1, 1)]
    assert team_episodes(found, {"a": "red", "b": "blue", "x": None}) == {
        "red": [Episode(T, T + 300, ("a",))],
        "blue": [Episode(T + 300, T + 600, ("b",))],
    }


def test_long_windows_sum_fine_buckets_into_hours() -> None:
    fine = [bucket("a", T + i * 300, 10, 1) for i in range(12)]  # 1 failed a bucket: never failing alone
    day = slots(fine, 86400)
    assert [(s.start, s.end, s.calls, s.failed) for s in day] == [(T + i * 300, T + i * 300 + 300, 10, 1)
                                                                  for i in range(12)]
    (hour,) = slots([*fine, bucket("b", T - 3600, 50, 0, seconds=3600)][:12], 86400 * 28)
    assert (hour.service, hour.start, hour.end, hour.calls, hour.failed) == ("a", T, T + 3600, 120, 12)
    assert Thresholds().failing(hour.calls, hour.failed)  # 12 failed of 120: the hour is failing
    both = slots([*fine, bucket("b", T - 3600, 50, 0, seconds=3600)], 86400 * 28)
    assert sorted((s.service, s.start, s.end) for s in both) == [("a", T, T + 3600), ("b", T - 3600, T)]
