"""Run one job in a worker thread, merging requests that arrive while it runs into one more run."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from typing import Generic, TypeVar

T = TypeVar("T")
log = logging.getLogger(__name__)


class Coalescer(Generic[T]):
    """Runs `job` off the caller's thread, one run at a time.

    A request is satisfied by a run that *starts* after it; any number of requests made while a run
    is going are served by a single following run, so reloads never stack up.
    """

    def __init__(self, job: Callable[[], T], name: str) -> None:
        self._job = job
        self._name = name
        self._cond = threading.Condition()
        self._started = 0  # runs begun
        self._finished = 0  # runs ended
        self._wanted = 0  # the run number the latest request waits for
        self._running = False
        self._last: tuple[T | None, BaseException | None] = (None, None)

    def request(self) -> int:
        """Ask for a run without waiting (safe from a signal handler on the event loop); a ticket."""
        with self._cond:
            ticket = self._started + 1
            self._wanted = max(self._wanted, ticket)
            if not self._running:
                self._running = True
                threading.Thread(target=self._work, name=self._name, daemon=True).start()
            return ticket

    def wait(self, ticket: int) -> T:
        """Block until the run `ticket` (or a later one) has ended; its result, or its exception."""
        with self._cond:
            self._cond.wait_for(lambda: self._finished >= ticket)
            result, error = self._last
        if error is not None:
            raise error
        return result  # type: ignore[return-value]

    def run(self) -> T:
        """Request a run and wait for it."""
        return self.wait(self.request())

    @property
    def runs(self) -> int:
        """How many runs have ended."""
        return self._finished

    def _work(self) -> None:
        while True:
            with self._cond:
                if self._started >= self._wanted:
                    self._running = False
                    return
                self._started += 1
            try:
                outcome: tuple[T | None, BaseException | None] = (self._job(), None)
            except Exception as exc:
                log.exception("%s failed", self._name)
                outcome = (None, exc)
            with self._cond:
                self._last = outcome
                self._finished += 1
                self._cond.notify_all()
