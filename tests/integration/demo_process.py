"""Start `ownermap demo` as a real subprocess on free loopback ports and learn its addresses."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time

import httpx

from tests.integration.serve_process import _LINE


class DemoProcess:
    """A running `ownermap demo`; `grpc`, `http` (…/v1/traces) and `api` (base URL) are filled in."""

    def __init__(self, *extra: str, env: dict[str, str] | None = None) -> None:
        self.extra = extra
        self.env = {**os.environ, **(env or {})}
        self.grpc = self.http = self.api = ""
        self.proc: subprocess.Popen[str] | None = None
        self.log: list[str] = []

    def start(self, timeout: float = 30.0) -> DemoProcess:
        """Start on port 0 everywhere and wait until every listener is announced and /readyz answers."""
        cmd = [
            sys.executable, "-m", "ownermap", "demo",
            "--api", "127.0.0.1:0", "--otlp-grpc", "127.0.0.1:0", "--otlp-http", "127.0.0.1:0", *self.extra,
        ]
        self.proc = subprocess.Popen(cmd, stderr=subprocess.PIPE, stdout=subprocess.DEVNULL, text=True, env=self.env)
        deadline = time.monotonic() + timeout
        assert self.proc.stderr is not None
        while not self.api:
            if time.monotonic() > deadline or self.proc.poll() is not None:
                self.stop()
                raise RuntimeError("ownermap demo did not start:\n" + "".join(self.log))
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
                if httpx.get(f"{self.api}/readyz", timeout=2).status_code == 200:
                    return self
            except httpx.HTTPError:
                pass
            time.sleep(0.05)
        self.stop()
        raise RuntimeError("ownermap demo never became ready:\n" + "".join(self.log))

    def _drain(self) -> None:
        assert self.proc is not None and self.proc.stderr is not None
        for line in self.proc.stderr:
            self.log.append(line)

    def terminate(self, timeout: float = 30.0) -> int:
        """SIGTERM and wait for a graceful exit; returns the exit code."""
        assert self.proc is not None
        self.proc.send_signal(signal.SIGTERM)
        return self.proc.wait(timeout)

    def stop(self) -> None:
        """Make sure the process is gone."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(10)
