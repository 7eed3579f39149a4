"""Start `ownermap serve` as a real subprocess on free loopback ports and learn its addresses."""

from __future__ import annotations

import os
import re
import signal
import ssl
import subprocess
import sys
import threading
import time
from pathlib import Path

import httpx

_LINE = re.compile(r"(OTLP/gRPC listening on|OTLP/HTTP listening on|API and UI on) (\S+)")


class ServeProcess:
    """A running `ownermap serve`; `grpc`, `http` (…/v1/traces) and `api` (base URL) are filled in."""

    def __init__(self, db_url: str | None, *extra: str, env: dict[str, str] | None = None,
                 verify: ssl.SSLContext | bool = True, command: str = "serve") -> None:
        self.db_url = db_url
        self.command = command
        self.verify = verify  # a CA file when the server runs with TLS
        self.extra = extra
        self.env = {**os.environ, **(env or {})}
        self.grpc = self.http = self.api = ""
        self.proc: subprocess.Popen[str] | None = None
        self.log: list[str] = []

    def start(self, timeout: float = 30.0) -> ServeProcess:
        """Start and wait until every listener is announced and /readyz answers."""
        cmd = [
            sys.executable, "-m", "ownermap", self.command, *(["--db", self.db_url] if self.db_url else []),
            "--otlp-grpc", "127.0.0.1:0", "--otlp-http", "127.0.0.1:0", "--api", "127.0.0.1:0", *self.extra,
        ]
        self.proc = subprocess.Popen(cmd, stderr=subprocess.PIPE, stdout=subprocess.DEVNULL, text=True, env=self.env)
        deadline = time.monotonic() + timeout
        assert self.proc.stderr is not None
        while not self.api:
            if time.monotonic() > deadline or self.proc.poll() is not None:
                self.stop()
                raise RuntimeError(f"ownermap {self.command} did not start:\n" + "".join(self.log))
            line = self.proc.stderr.readline()
            self.log.append(line)
            match = _LINE.search(line)
            if match:
                what, where = match.groups()
                if what.startswith("OTLP/gRPC"):
                    self.grpc = where
                elif what.startswith("OTLP/HTTP"):
                    self.http = where
                else:
                    self.api = where.rstrip("/")
        threading.Thread(target=self._drain, daemon=True).start()
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"{self.api}/readyz", timeout=2, verify=self.verify).status_code == 200:
                    return self
            except httpx.HTTPError:
                pass
            time.sleep(0.05)
        self.stop()
        raise RuntimeError(f"ownermap {self.command} never became ready:\n" + "".join(self.log))

    def _drain(self) -> None:
        assert self.proc is not None and self.proc.stderr is not None
        for line in self.proc.stderr:
            self.log.append(line)

    def kill(self) -> None:
        """SIGKILL: no chance to flush anything."""
        assert self.proc is not None
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(10)

    def terminate(self, timeout: float = 30.0) -> int:
        """SIGTERM and wait for a graceful exit."""
        assert self.proc is not None
        self.proc.send_signal(signal.SIGTERM)
        return self.proc.wait(timeout)

    def stop(self) -> None:
        """Make sure the process is gone."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(10)


def wait_for(predicate, timeout: float = 20.0, interval: float = 0.1):  # type: ignore[no-untyped-def]
    """Poll until predicate() returns something truthy; return it (or the last value on timeout)."""
    deadline = time.monotonic() + timeout
    value = predicate()
    while not value and time.monotonic() < deadline:
        time.sleep(interval)
        value = predicate()
    return value


def sqlite_url(path: Path) -> str:
    """A sqlite URL for an absolute path."""
    return f"sqlite:///{path}"
