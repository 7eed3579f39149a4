"""Running the weekly report on a cron schedule inside `ownermap serve`."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime

from croniter import croniter

log = logging.getLogger(__name__)


class ReportScheduler:
    """Calls `job(scheduled_time)` at every time the cron expression names (UTC)."""

    def __init__(self, cron: str, job: Callable[[float], None], clock: Callable[[], float] = time.time) -> None:
        self.cron = cron
        self.job = job
        self.clock = clock
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def next_run(self, after: float) -> float:
        """The first scheduled time after `after`."""
        return croniter(self.cron, datetime.fromtimestamp(after, UTC)).get_next(float)

    def start(self) -> None:
        """Run in a daemon thread until close()."""
        self._thread = threading.Thread(target=self._loop, name="ownermap-report-schedule", daemon=True)
        self._thread.start()

    def _loop(self) -> None:
        due = self.next_run(self.clock())
        log.info("weekly report scheduled (%s); next run %s", self.cron, datetime.fromtimestamp(due, UTC))
        while not self._stop.wait(max(0.0, min(due - self.clock(), 60.0))):
            if self.clock() < due:
                continue
            try:
                self.job(due)
            except Exception:
                log.exception("scheduled weekly report failed")
            due = self.next_run(max(due, self.clock()))

    def close(self) -> None:
        """Stop the schedule."""
        self._stop.set()
