"""ReportScheduler: cron times in UTC, and the job called with the scheduled (due) time.

Time is simulated: the clock is a fake, and waiting on the scheduler's stop event advances it,
so a week of schedule runs in milliseconds.
"""

from __future__ import annotations

import threading
import time
from datetime import UTC, datetime

import pytest

from reports.schedule import ReportScheduler

MONDAYS_0900 = "0 9 * * 1"


def ts(text: str) -> float:
    return datetime.fromisoformat(text).replace(tzinfo=UTC).timestamp()


def noop(_: float) -> None:
    pass


@pytest.mark.parametrize(("now", "expected"), [
    ("2026-11-22T12:00:00", "2026-11-23T09:00:00"),  # Sunday → the next day
    ("2026-11-23T08:59:59", "2026-11-23T09:00:00"),  # Monday just before
    ("2026-11-23T09:00:00", "2026-11-30T09:00:00"),  # exactly at a run: the next one
    ("2026-11-23T09:00:01", "2026-11-30T09:00:00"),  # just after
    ("2026-11-25T18:30:00", "2026-11-30T09:00:00"),  # mid-week
    ("2026-12-28T10:00:00", "2027-01-04T09:00:00"),  # across the year
])
def test_next_run_is_the_next_monday_0900_utc(now: str, expected: str) -> None:
    scheduler = ReportScheduler(MONDAYS_0900, noop)
    assert scheduler.next_run(ts(now)) == ts(expected)


def test_next_run_ignores_the_local_time_zone(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TZ", "America/Los_Angeles")
    time.tzset()
    try:
        assert ReportScheduler(MONDAYS_0900, noop).next_run(ts("2026-11-22T12:00:00")) == ts("2026-11-23T09:00:00")
    finally:
        monkeypatch.delenv("TZ")
        time.tzset()


class SimulatedTime:
    """A clock and a stop event whose wait() lets simulated time pass instead of real time."""

    def __init__(self, start: float) -> None:
        self.now = start
        self.waited = 0.0
        self.stopped = False

    def clock(self) -> float:
        return self.now

    # threading.Event's interface, as the scheduler uses it
    def wait(self, timeout: float | None = None) -> bool:
        if not self.stopped and timeout:
            self.now += timeout
            self.waited += timeout
        return self.stopped

    def set(self) -> None:
        self.stopped = True

    def is_set(self) -> bool:
        return self.stopped


def simulated(cron: str, start: float, runs: int, fail_first: bool = False) -> tuple[list[tuple[float, float]], float]:
    """Run the schedule loop in simulated time until `runs` jobs ran; (due, clock at call) pairs."""
    sim = SimulatedTime(start)
    calls: list[tuple[float, float]] = []

    def job(due: float) -> None:
        calls.append((due, sim.clock()))
        if len(calls) >= runs:
            scheduler.close()
        if fail_first and len(calls) == 1:
            raise RuntimeError("the first report failed")

    scheduler = ReportScheduler(cron, job, clock=sim.clock)
    scheduler._stop = sim  # type: ignore[assignment]  # simulated waiting
    started = time.monotonic()
    scheduler._loop()
    assert time.monotonic() - started < 2
    return calls, sim.now


def test_the_job_gets_each_due_time_in_turn() -> None:
    calls, _ = simulated(MONDAYS_0900, ts("2026-11-22T12:00:00"), runs=3)
    assert [due for due, _ in calls] == [ts("2026-11-23T09:00:00"), ts("2026-11-30T09:00:00"),
                                        ts("2026-12-07T09:00:00")]
    assert all(at == due for due, at in calls)  # never early


def test_a_failing_job_does_not_stop_the_schedule() -> None:
    calls, _ = simulated(MONDAYS_0900, ts("2026-11-22T12:00:00"), runs=2, fail_first=True)
    assert [due for due, _ in calls] == [ts("2026-11-23T09:00:00"), ts("2026-11-30T09:00:00")]


def test_in_a_thread_a_late_clock_still_passes_the_due_time() -> None:
    """The real thread and event: the clock jumps past Monday 09:00 after the first reading (a
    sleeping laptop); the job is called at once, with the scheduled time, not the clock's."""
    start, due = ts("2026-11-22T12:00:00"), ts("2026-11-23T09:00:00")
    readings = iter([start])
    called: list[float] = []
    done = threading.Event()

    def clock() -> float:
        return next(readings, due + 90)

    def job(when: float) -> None:
        called.append(when)
        scheduler.close()
        done.set()

    scheduler = ReportScheduler(MONDAYS_0900, job, clock=clock)
    scheduler.start()
    try:
        assert done.wait(5), "the job was not called"
    finally:
        scheduler.close()
    assert scheduler._thread is not None
    scheduler._thread.join(5)
    assert not scheduler._thread.is_alive()
    assert called == [due]


def test_close_stops_a_waiting_schedule_promptly() -> None:
    scheduler = ReportScheduler(MONDAYS_0900, noop)
    scheduler.start()
    started = time.monotonic()
    scheduler.close()
    assert scheduler._thread is not None
    scheduler._thread.join(5)
    assert not scheduler._thread.is_alive() and time.monotonic() - started < 2
