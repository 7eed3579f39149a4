"""Delivering the weekly report: post_webhook against a real local HTTP server (success, retry
then success, final failure, refusal without retry), and `ownermap report weekly` end to end
(webhook payloads, exit codes, -o, --end).
"""

from __future__ import annotations

import json
import os
import socket
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from email.utils import formatdate
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
import tenacity.nap
from click.testing import CliRunner, Result

from graph.store.sqlite import SQLiteStore
from ownermap.cli import main
from reports.deliver import DeliveryError, post_webhook, slack_payload
from reports.run import Delivery, run_weekly_report
from tests.reports.report_builders import END, GOLDEN_OWNERS, catalog_index, seed_golden

SECRET_PATH = "/services/T000/B000/SECRETTOKEN"


@dataclass
class Received:
    path: str
    content_type: str
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)


@dataclass
class Webhook:
    """A local receiver: answers `script[i]` to the i-th request, then `then` to every later one."""

    script: list[int]
    then: int
    requests: list[Received] = field(default_factory=list)
    retry_after: str | None = None  # sent with every 429 and 503
    drip: int = 0  # body bytes of a 200, sent one every 0.2 s
    url: str = ""
    server: ThreadingHTTPServer | None = None

    def status_for_next(self) -> int:
        n = len(self.requests)
        return self.script[n - 1] if n <= len(self.script) else self.then


def _handler(hook: Webhook) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
            hook.requests.append(Received(self.path, self.headers.get("Content-Type", ""), body))
            status = hook.status_for_next()
            answer = b"ok" if status < 400 else b"no"
            if status == 200 and hook.drip:
                answer = b"." * hook.drip
            self.send_response(status)
            self.send_header("Content-Type", "text/plain")
            self.send_header("Content-Length", str(len(answer)))
            if status in (429, 503) and hook.retry_after is not None:
                self.send_header("Retry-After", hook.retry_after)
            self.end_headers()
            if status == 200 and hook.drip:
                self._drip(answer)
            else:
                self.wfile.write(answer)

        def _drip(self, answer: bytes) -> None:
            try:
                for byte in answer:
                    self.wfile.write(bytes([byte]))
                    self.wfile.flush()
                    time.sleep(0.2)
            except OSError:
                pass  # the client hung up

        def log_message(self, format: str, *args: Any) -> None:
            pass

    return Handler


@pytest.fixture
def webhook() -> Iterator[Callable[..., Webhook]]:
    hooks: list[Webhook] = []

    def start(script: list[int] | None = None, then: int = 200, **options: Any) -> Webhook:
        hook = Webhook(list(script or []), then, **options)
        server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(hook))
        hook.server = server
        hook.url = f"http://127.0.0.1:{server.server_address[1]}{SECRET_PATH}"
        threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()
        hooks.append(hook)
        return hook

    yield start
    for hook in hooks:
        assert hook.server is not None
        hook.server.shutdown()
        hook.server.server_close()


PAYLOAD = {"text": "# Orphaned services\n- ledger", "mrkdwn": True}


# --------------------------------------------------------------------------- post_webhook


def test_success_posts_json_once(webhook: Callable[..., Webhook]) -> None:
    hook = webhook()
    assert post_webhook(hook.url, PAYLOAD, initial_wait=0.01) == 1
    assert len(hook.requests) == 1
    got = hook.requests[0]
    assert got.path == SECRET_PATH and got.content_type.startswith("application/json")
    assert got.json() == PAYLOAD


@pytest.mark.parametrize("script", [[500], [500, 502, 503], [429, 408]])
def test_retries_then_succeeds(webhook: Callable[..., Webhook], script: list[int]) -> None:
    hook = webhook(script, then=200)
    assert post_webhook(hook.url, PAYLOAD, attempts=5, initial_wait=0.01, max_wait=0.05) == len(script) + 1
    assert len(hook.requests) == len(script) + 1
    assert all(r.json() == PAYLOAD for r in hook.requests)


def test_backoff_is_exponential_from_initial_wait(webhook: Callable[..., Webhook]) -> None:
    hook = webhook([500, 500], then=200)
    started = time.monotonic()
    assert post_webhook(hook.url, PAYLOAD, attempts=3, initial_wait=0.1, max_wait=1.0) == 3
    assert time.monotonic() - started >= 0.1 + 0.2 - 0.02


def test_final_failure_raises_after_every_attempt(webhook: Callable[..., Webhook]) -> None:
    hook = webhook(then=500)
    with pytest.raises(DeliveryError) as caught:
        post_webhook(hook.url, PAYLOAD, attempts=3, initial_wait=0.01, max_wait=0.02)
    assert len(hook.requests) == 3
    message = str(caught.value)
    assert "after 3 attempt(s)" in message and "500" in message and "http://127.0.0.1/…" in message


@pytest.mark.parametrize("status", [400, 401, 403, 404, 413])
def test_refusal_is_not_retried(webhook: Callable[..., Webhook], status: int) -> None:
    hook = webhook(then=status)
    with pytest.raises(DeliveryError) as caught:
        post_webhook(hook.url, PAYLOAD, attempts=5, initial_wait=0.01)
    assert len(hook.requests) == 1
    assert "refused" in str(caught.value) and str(status) in str(caught.value)


@pytest.mark.parametrize("status", [500, 400])
def test_delivery_errors_do_not_reveal_the_webhook_path(webhook: Callable[..., Webhook], status: int) -> None:
    """A Slack webhook's path is its secret: not in the message (CLI stderr, the schedule's log)."""
    hook = webhook(then=status)
    with pytest.raises(DeliveryError) as caught:
        post_webhook(hook.url, PAYLOAD, attempts=2, initial_wait=0.01)
    assert "SECRETTOKEN" not in str(caught.value) and "/services/" not in str(caught.value)


def test_unreachable_receiver_is_retried_then_fails() -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]  # closed again: connections are refused
    with pytest.raises(DeliveryError, match="after 3 attempt"):
        post_webhook(f"http://127.0.0.1:{port}{SECRET_PATH}", PAYLOAD, attempts=3, initial_wait=0.01, timeout=2)


@pytest.mark.parametrize("status", [429, 503])
def test_retry_after_seconds_is_honoured(webhook: Callable[..., Webhook], status: int) -> None:
    """Issue #14 item 9: the receiver's Retry-After, not the (much shorter) backoff."""
    hook = webhook([status], then=200, retry_after="2")
    started = time.monotonic()
    assert post_webhook(hook.url, PAYLOAD, attempts=3, initial_wait=0.01, max_wait=0.05) == 2
    assert 1.9 <= time.monotonic() - started < 4


def test_retry_after_http_date_is_honoured(webhook: Callable[..., Webhook]) -> None:
    hook = webhook([429], then=200, retry_after=formatdate(time.time() + 3, usegmt=True))
    started = time.monotonic()
    assert post_webhook(hook.url, PAYLOAD, attempts=3, initial_wait=0.01, max_wait=0.05) == 2
    assert 1.8 <= time.monotonic() - started < 4.5  # whole seconds: between 2 and 3 s


def test_retry_after_is_capped_and_within_the_attempts(webhook: Callable[..., Webhook]) -> None:
    hook = webhook(then=429, retry_after="86400")
    started = time.monotonic()
    with pytest.raises(DeliveryError, match="after 3 attempt"):
        post_webhook(hook.url, PAYLOAD, attempts=3, initial_wait=0.01, max_retry_after=0.3)
    assert len(hook.requests) == 3
    assert 0.55 <= time.monotonic() - started < 3


@pytest.mark.parametrize("value", ["soon", "-5", "1.5e9", "Wed, 99 Foo 2024 99:99:99 GMT", ""])
def test_unusable_retry_after_falls_back_to_the_backoff(webhook: Callable[..., Webhook], value: str) -> None:
    hook = webhook([429], then=200, retry_after=value)
    started = time.monotonic()
    assert post_webhook(hook.url, PAYLOAD, attempts=3, initial_wait=0.01, max_wait=0.05) == 2
    assert time.monotonic() - started < 1.5


def test_timeout_is_a_deadline_per_attempt_not_per_read(webhook: Callable[..., Webhook]) -> None:
    """A receiver that sends a byte every 0.2 s (10 s in all) is cut at the 1 s deadline."""
    hook = webhook(then=200, drip=50)
    started = time.monotonic()
    with pytest.raises(DeliveryError, match=r"after 2 attempt.*timed out") as caught:
        post_webhook(hook.url, PAYLOAD, attempts=2, initial_wait=0.01, timeout=1.0)
    elapsed = time.monotonic() - started
    assert len(hook.requests) == 2
    assert 2.0 <= elapsed < 4.0, elapsed
    assert "SECRETTOKEN" not in str(caught.value)


def test_slack_payload_truncates_long_reports() -> None:
    assert slack_payload("short") == {"text": "short", "mrkdwn": True}
    long = slack_payload("x" * 50_000)["text"]
    assert len(long) < 40_000 and long.endswith("…(truncated)")


# --------------------------------------------------------------------------- run_weekly_report


def test_run_writes_the_file_before_a_failed_delivery(tmp_path: Path, webhook: Callable[..., Webhook]) -> None:
    hook = webhook(then=503)
    store = SQLiteStore(tmp_path / "ownermap.db")
    try:
        seed_golden(store)
        index = catalog_index(tmp_path / "catalog", GOLDEN_OWNERS)
        out = tmp_path / "out" / "weekly.md"
        delivery = Delivery(fmt="md", output=out, webhook=hook.url, webhook_attempts=2, webhook_initial_wait=0.01)
        with pytest.raises(DeliveryError):
            run_weekly_report(store, index, END, ("service.owner",), delivery, record=False)
    finally:
        store.close()
    assert out.read_text(encoding="utf-8").startswith("# Orphaned services: week ending 2026-11-23")
    assert len(hook.requests) == 2


# --------------------------------------------------------------------------- the CLI


@pytest.fixture
def cli_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """A golden database and catalog; the common arguments of `report weekly`."""
    for name in list(os.environ):
        if name.upper().startswith("OWNERMAP_") and name.upper() not in ("OWNERMAP_REQUIRE_ALL", "OWNERMAP_FIXTURES"):
            monkeypatch.delenv(name)
    monkeypatch.chdir(tmp_path)
    db = tmp_path / "ownermap.db"
    store = SQLiteStore(db)
    try:
        seed_golden(store)
    finally:
        store.close()
    catalog_index(tmp_path / "catalog", GOLDEN_OWNERS)
    return ["report", "weekly", "--db", f"sqlite:///{db}", "--catalog", str(tmp_path / "catalog")]


def run_cli(args: list[str]) -> Result:
    return CliRunner().invoke(main, args, catch_exceptions=False)


@pytest.fixture
def recorded_waits(monkeypatch: pytest.MonkeyPatch) -> list[float]:
    """Tenacity's waits, recorded instead of slept (the CLI's backoff starts at 1 s)."""
    waits: list[float] = []
    monkeypatch.setattr(tenacity.nap, "time", SimpleNamespace(sleep=waits.append))
    return waits


def test_cli_posts_a_slack_message(cli_env: list[str], webhook: Callable[..., Webhook]) -> None:
    hook = webhook()
    result = run_cli([*cli_env, "--end", "2026-11-23", "--webhook", hook.url])
    assert result.exit_code == 0, result.output
    assert len(hook.requests) == 1
    payload = hook.requests[0].json()
    assert set(payload) == {"text", "mrkdwn"}
    assert payload["text"].startswith("# Orphaned services: week ending 2026-11-23")
    assert "fx\\-rates" in payload["text"] or "fx-rates" in payload["text"]
    assert result.stdout.rstrip("\n") == payload["text"].rstrip("\n")  # the report also goes to stdout


def test_cli_posts_the_report_json(cli_env: list[str], webhook: Callable[..., Webhook]) -> None:
    hook = webhook()
    result = run_cli([*cli_env, "--end", "2026-11-23", "--format", "json", "--webhook", hook.url,
                      "--webhook-format", "json", "--no-record"])
    assert result.exit_code == 0, result.output
    payload = hook.requests[0].json()
    assert payload == json.loads(result.stdout)
    assert payload["window"] == {"start": "2026-11-16T00:00:00Z", "end": "2026-11-23T00:00:00Z"}
    assert payload["summary"]["orphans"] == 7 and payload["orphans"][0]["service"] == "fx-rates"


def test_cli_webhook_from_the_environment(cli_env: list[str], webhook: Callable[..., Webhook],
                                          monkeypatch: pytest.MonkeyPatch) -> None:
    hook = webhook()
    monkeypatch.setenv("OWNERMAP_REPORT_WEBHOOK", hook.url)
    monkeypatch.setenv("OWNERMAP_REPORT_WEBHOOK_FORMAT", "json")
    result = run_cli([*cli_env, "--end", "2026-11-23", "--no-record"])
    assert result.exit_code == 0, result.output
    assert hook.requests[0].json()["summary"]["services_seen"] == 12


def test_cli_retries_with_its_default_backoff(cli_env: list[str], webhook: Callable[..., Webhook],
                                              recorded_waits: list[float]) -> None:
    hook = webhook([500, 503], then=200)
    result = run_cli([*cli_env, "--end", "2026-11-23", "--webhook", hook.url, "--no-record"])
    assert result.exit_code == 0, result.output
    assert len(hook.requests) == 3
    assert recorded_waits == [1.0, 2.0]


def test_cli_final_failure_exits_non_zero(cli_env: list[str], webhook: Callable[..., Webhook],
                                          recorded_waits: list[float]) -> None:
    """Always 500: five attempts (waits 1, 2, 4, 8 s — recorded, not slept), then exit 1."""
    hook = webhook(then=500)
    result = run_cli([*cli_env, "--end", "2026-11-23", "--webhook", hook.url, "--no-record"])
    assert result.exit_code == 1
    assert len(hook.requests) == 5
    assert recorded_waits == [1.0, 2.0, 4.0, 8.0]
    assert "webhook delivery to http://127.0.0.1/… failed after 5 attempt(s)" in result.stderr
    assert "SECRETTOKEN" not in result.output


def test_cli_refused_delivery_exits_non_zero_at_once(cli_env: list[str], webhook: Callable[..., Webhook]) -> None:
    """A real run, nothing patched: a 400 is final, so the command fails without waiting."""
    hook = webhook(then=400)
    started = time.monotonic()
    result = run_cli([*cli_env, "--end", "2026-11-23", "--webhook", hook.url, "--no-record"])
    assert result.exit_code == 1
    assert time.monotonic() - started < 10
    assert len(hook.requests) == 1
    assert "ownermap: webhook delivery to http://127.0.0.1/… was refused" in result.stderr
    assert "400" in result.stderr


def test_cli_failed_delivery_still_prints_the_report(cli_env: list[str], webhook: Callable[..., Webhook]) -> None:
    """--webhook is "also POST": the report still goes to stdout when the post fails."""
    hook = webhook(then=400)
    result = run_cli([*cli_env, "--end", "2026-11-23", "--webhook", hook.url, "--no-record"])
    assert result.exit_code == 1
    assert result.stdout.startswith("# Orphaned services: week ending 2026-11-23")
    assert "SECRETTOKEN" not in result.output


def test_cli_html_to_a_file(cli_env: list[str], tmp_path: Path) -> None:
    out = tmp_path / "reports" / "2026-11-23" / "weekly.html"
    result = run_cli([*cli_env, "--end", "2026-11-23", "--format", "html", "-o", str(out), "--no-record"])
    assert result.exit_code == 0, result.output
    assert result.stdout == ""
    html = out.read_text(encoding="utf-8")
    assert html.startswith("<!doctype html>") and "week ending 2026-11-23" in html
    assert "fx-rates" in html and "<script" not in html.lower()


@pytest.mark.parametrize(("end", "window", "previous"), [
    ("2026-11-23", ("2026-11-16T00:00:00Z", "2026-11-23T00:00:00Z"), ("2026-11-09T00:00:00Z", "2026-11-16T00:00:00Z")),
    ("2026-11-23T09:30:00Z", ("2026-11-16T09:30:00Z", "2026-11-23T09:30:00Z"),
     ("2026-11-09T09:30:00Z", "2026-11-16T09:30:00Z")),
    ("2026-11-23T10:30:00+01:00", ("2026-11-16T09:30:00Z", "2026-11-23T09:30:00Z"),
     ("2026-11-09T09:30:00Z", "2026-11-16T09:30:00Z")),
])
def test_cli_end_is_the_end_of_the_seven_day_window(cli_env: list[str], end: str, window: tuple[str, str],
                                                    previous: tuple[str, str]) -> None:
    result = run_cli([*cli_env, "--end", end, "--format", "json", "--no-record"])
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert (report["window"]["start"], report["window"]["end"]) == window
    assert (report["previous_window"]["start"], report["previous_window"]["end"]) == previous


def test_cli_bad_end_is_a_usage_error(cli_env: list[str]) -> None:
    result = run_cli([*cli_env, "--end", "next monday"])
    assert result.exit_code == 2
    assert "--end" in result.stderr and "ISO 8601" in result.stderr


def test_cli_records_history_unless_told_not_to(cli_env: list[str], tmp_path: Path) -> None:
    assert run_cli([*cli_env, "--end", "2026-11-16", "--no-record"]).exit_code == 0
    assert run_cli([*cli_env, "--end", "2026-11-23"]).exit_code == 0
    store = SQLiteStore(tmp_path / "ownermap.db")
    try:
        assert [end for end, _ in store.report_history(int(END) + 86400)] == [int(END)]
    finally:
        store.close()


def test_delivery_works_from_inside_a_running_event_loop(webhook: Callable[..., Webhook]) -> None:
    """A caller that runs an event loop itself (an async job, a test driving a browser) can post too."""
    import asyncio
    from concurrent.futures import ThreadPoolExecutor

    hook = webhook()

    async def caller() -> int:
        return post_webhook(hook.url, PAYLOAD, attempts=1)

    # The caller's loop runs in a thread of its own: this test's thread may hold a loop already.
    with ThreadPoolExecutor(1) as pool:
        assert pool.submit(asyncio.run, caller()).result(timeout=30) == 1
    assert len(hook.requests) == 1
