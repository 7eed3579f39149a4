"""CPU priority of the ingest threads: when the CPU is short, health checks and the API go first.

Ingest (decoding, the span index, group commits, the OTLP listeners) can use all the CPU it is
given, and under a flood of exports it would take the time that `/healthz` and the API need: a
liveness probe that times out restarts the pod and loses its pending half-edges. Each ingest
thread therefore lowers its own scheduling priority (a higher nice value, which needs no
privilege) as it starts. Threads it creates inherit that priority. Ingest then slows down only
while something more urgent runs, and its receivers' back-pressure (503 / UNAVAILABLE) tells
clients to retry.
"""

from __future__ import annotations

import logging
import os
import sys
import threading
from collections.abc import Callable

log = logging.getLogger(__name__)


def lower_priority(nice: int) -> Callable[[], None]:
    """A thread-start hook that sets the calling thread's nice value to at least `nice` (0: no change).

    Linux only: there `setpriority(PRIO_PROCESS, thread id)` applies to that one thread; elsewhere
    it would change the whole process, so the hook does nothing.
    """

    def lower() -> None:
        if nice <= 0 or not sys.platform.startswith("linux"):
            return
        thread = threading.get_native_id()
        try:
            if os.getpriority(os.PRIO_PROCESS, thread) < nice:
                os.setpriority(os.PRIO_PROCESS, thread, nice)
        except OSError as exc:  # a sandbox may forbid it; ingest then runs at the usual priority
            log.warning("could not lower the priority of an ingest thread: %s", exc)

    return lower
