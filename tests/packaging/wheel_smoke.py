"""Smoke test of an installed ownermap, run by the install's own Python from outside the source tree.

`python wheel_smoke.py WORKDIR` checks what a user of the wheel or the container image gets:
`ownermap serve` starts, takes spans over OTLP/HTTP (JSON) and OTLP/gRPC, draws them on the page
(an inline SVG map), serves its static files, renders the HTML weekly report over HTTP and from
the CLI, and `ownermap demo` starts and answers. It uses only the standard library and the
package's own dependencies, so it can run in a fresh environment that holds nothing else.
Exits non-zero with a message naming the first check that failed.
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

_ANNOUNCED = re.compile(r"(OTLP/gRPC listening on|OTLP/HTTP listening on|API and UI on) (\S+)")
_LOOPBACK = ("--otlp-grpc", "127.0.0.1:0", "--otlp-http", "127.0.0.1:0", "--api", "127.0.0.1:0")


class SmokeCheckError(AssertionError):
    """A check against the installed package failed."""


def check(condition: bool, message: str) -> None:
    """Fail the smoke test with `message` unless `condition` holds."""
    if not condition:
        raise SmokeCheckError(message)


def ownermap_command() -> str:
    """The console script installed beside this interpreter (what users run)."""
    return str(Path(sys.executable).with_name("ownermap"))


def check_installed_copy() -> None:
    """The package must come from site-packages, not from a source checkout on sys.path."""
    import api
    import ownermap

    for module in (ownermap, api):
        check("site-packages" in Path(module.__file__ or "").parts,
              f"{module.__name__} was imported from {module.__file__}, not from an installed copy")


def http_get(url: str, timeout: float = 15.0) -> tuple[int, str]:
    """GET `url`; the status and the body as text (error statuses included)."""
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response:
            return response.status, response.read().decode("utf-8", "replace")
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read().decode("utf-8", "replace")


def http_post_json(url: str, document: object) -> int:
    """POST a JSON document; the status."""
    request = urllib.request.Request(url, data=json.dumps(document).encode(), method="POST",
                                     headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=15) as response:
        return response.status


@contextmanager
def running(args: list[str], env: dict[str, str]) -> Iterator[dict[str, str]]:
    """Start `ownermap ARGS` on free loopback ports; yield its announced addresses; stop it."""
    proc = subprocess.Popen([ownermap_command(), *args, *_LOOPBACK], stderr=subprocess.PIPE,
                            stdout=subprocess.DEVNULL, text=True, env=env)
    log: list[str] = []
    where: dict[str, str] = {}
    try:
        deadline = time.monotonic() + 60
        assert proc.stderr is not None
        while "api" not in where:
            line = proc.stderr.readline()
            log.append(line)
            check(time.monotonic() < deadline and (line or proc.poll() is None),
                  f"`ownermap {args[0]}` did not start:\n" + "".join(log))
            match = _ANNOUNCED.search(line)
            if match:
                what, address = match.groups()
                key = "grpc" if what.startswith("OTLP/gRPC") else "http" if what.startswith("OTLP/HTTP") else "api"
                where[key] = address.rstrip("/")
        threading.Thread(target=lambda: log.extend(proc.stderr), daemon=True).start()  # type: ignore[arg-type]
        wait_for(lambda: http_get(f"{where['api']}/readyz")[0] == 200, f"`ownermap {args[0]}` never became ready")
        yield where
    except SmokeCheckError:
        sys.stderr.write("".join(log))
        raise
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(30)
        except subprocess.TimeoutExpired:
            proc.kill()
    check(proc.returncode == 0, f"`ownermap {args[0]}` exited {proc.returncode} on SIGTERM:\n" + "".join(log))


def wait_for(condition: object, message: str, seconds: float = 30.0) -> None:
    """Poll `condition()` until it is true; fail with `message` after `seconds`."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            if condition():  # type: ignore[operator]
                return
        except (OSError, ValueError):
            pass
        time.sleep(0.2)
    raise SmokeCheckError(message)


def otlp_json_call(client: str, server: str, trace: int) -> dict[str, object]:
    """An OTLP/JSON request with one complete client → server call."""
    now = time.time_ns()
    trace_id = f"{trace:032x}"

    def resource(name: str, span: dict[str, object]) -> dict[str, object]:
        attributes = [{"key": "service.name", "value": {"stringValue": name}}]
        return {"resource": {"attributes": attributes}, "scopeSpans": [{"spans": [span]}]}

    client_span = {"traceId": trace_id, "spanId": f"{2 * trace:016x}", "name": "GET /", "kind": 3,
                   "startTimeUnixNano": str(now), "endTimeUnixNano": str(now + 5_000_000)}
    server_span = {"traceId": trace_id, "spanId": f"{2 * trace + 1:016x}", "parentSpanId": f"{2 * trace:016x}",
                   "name": "GET /", "kind": 2, "startTimeUnixNano": str(now + 1_000_000),
                   "endTimeUnixNano": str(now + 4_000_000)}
    return {"resourceSpans": [resource(client, client_span), resource(server, server_span)]}


def send_otlp_grpc(address: str, service: str) -> None:
    """One SERVER span of `service` over OTLP/gRPC, through the generated stub."""
    import grpc
    from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
    from opentelemetry.proto.collector.trace.v1.trace_service_pb2_grpc import TraceServiceStub

    now = time.time_ns()
    request = ExportTraceServiceRequest()
    spans = request.resource_spans.add()
    attribute = spans.resource.attributes.add()
    attribute.key, attribute.value.string_value = "service.name", service
    span = spans.scope_spans.add().spans.add()
    span.trace_id, span.span_id, span.name, span.kind = b"\x07" * 16, b"\x08" * 8, "consume", 2
    span.start_time_unix_nano, span.end_time_unix_nano = now, now + 1_000_000
    with grpc.insecure_channel(address) as channel:
        TraceServiceStub(channel).Export(request, timeout=15)


def service_names(api: str) -> set[str]:
    """The services /api/v1/services lists for the last hour."""
    status, body = http_get(f"{api}/api/v1/services?window=1h")
    check(status == 200, f"/api/v1/services answered {status}: {body[:500]}")
    return {s["name"] for s in json.loads(body)["services"]}


def smoke_serve(workdir: Path, env: dict[str, str]) -> None:
    """serve: ingest over both OTLP doors, then the page, static files and the HTML report."""
    db = f"sqlite:///{workdir / 'smoke.db'}"
    with running(["serve", "--db", db], env) as where:
        check(http_post_json(f"{where['http']}", otlp_json_call("smoke-web", "smoke-api", 1)) == 200,
              "OTLP/HTTP JSON export was not accepted")
        send_otlp_grpc(where["grpc"], "smoke-worker")
        wait_for(lambda: {"smoke-web", "smoke-api", "smoke-worker"} <= service_names(where["api"]),
                 "the exported services never appeared in /api/v1/services")
        status, page = http_get(f"{where['api']}/?window=1h")
        check(status == 200, f"the page answered {status}: {page[:2000]}")
        check("<svg" in page and "smoke-web" in page and "smoke-api" in page,
              "the page does not draw the service map with the exported services")
        status, css = http_get(f"{where['api']}/static/ownermap.css")
        check(status == 200 and len(css) > 0, f"/static/ownermap.css answered {status}")
        status, report = http_get(f"{where['api']}/api/v1/reports/weekly?format=html")
        check(status == 200 and "<html" in report.lower(), f"the HTML weekly report answered {status}: {report[:2000]}")
    out = subprocess.run([ownermap_command(), "report", "weekly", "--db", db, "--format", "html"],
                         capture_output=True, text=True, env=env, timeout=120)
    check(out.returncode == 0 and "<html" in out.stdout.lower(),
          f"`ownermap report weekly --format html` exited {out.returncode}: {out.stderr[-2000:]}")


def smoke_demo(env: dict[str, str]) -> None:
    """demo: starts, its generated traffic arrives, and the page draws it."""
    with running(["demo"], env) as where:
        wait_for(lambda: len(service_names(where["api"])) >= 3, "the demo's traffic never reached its services")
        status, page = http_get(f"{where['api']}/")
        check(status == 200 and "<svg" in page, f"the demo's page answered {status}: {page[:2000]}")


def main() -> int:
    """Run every check; 0 when all pass."""
    workdir = Path(sys.argv[1]) if len(sys.argv) > 1 else Path.cwd()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OWNERMAP_", "PYTHON"))}
    try:
        check_installed_copy()
        smoke_serve(workdir, env)
        smoke_demo(env)
    except SmokeCheckError as exc:
        print(f"wheel smoke test FAILED: {exc}", file=sys.stderr)
        return 1
    print("wheel smoke test passed: serve, OTLP/HTTP + OTLP/gRPC, page, static files, HTML report, demo")
    return 0


if __name__ == "__main__":
    sys.exit(main())
