"""Delivering a report: to a file, or to a webhook (Slack-compatible or plain JSON) with retries."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Coroutine
from concurrent.futures import ThreadPoolExecutor
from email.utils import parsedate_to_datetime
from pathlib import Path
from typing import Any, TypeVar

import httpx
from tenacity import (
    RetryCallState,
    RetryError,
    Retrying,
    retry_if_exception,
    stop_after_attempt,
    wait_exponential,
)

log = logging.getLogger(__name__)
T = TypeVar("T")
SLACK_TEXT_LIMIT = 39_000
MAX_RETRY_AFTER = 300.0  # seconds; a receiver asking for longer is retried after this


class DeliveryError(Exception):
    """The report could not be delivered after every retry."""


def write_file(text: str, path: Path) -> None:
    """Write the report, creating parent directories."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")


def slack_payload(markdown: str) -> dict[str, Any]:
    """A Slack incoming-webhook message carrying the Markdown report."""
    text = markdown if len(markdown) <= SLACK_TEXT_LIMIT else markdown[:SLACK_TEXT_LIMIT] + "\n…(truncated)"
    return {"text": text, "mrkdwn": True}


def _retryable(exc: BaseException) -> bool:
    if isinstance(exc, httpx.HTTPStatusError):
        status = exc.response.status_code
        return status >= 500 or status in (408, 429)
    return isinstance(exc, httpx.TransportError)


def retry_after(response: httpx.Response, cap: float, now: float | None = None) -> float | None:
    """Seconds a 429 or 503 answer asks us to wait (`Retry-After`: seconds or an HTTP-date),
    at most `cap`; None when the answer gives no usable hint."""
    if response.status_code not in (429, 503):
        return None
    value = response.headers.get("retry-after", "").strip()
    if value.isdigit():
        return min(float(value), cap)
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:
        return None  # HTTP-dates are GMT; anything else is not one
    delay = when.timestamp() - (time.time() if now is None else now)
    return min(max(delay, 0.0), cap)


def _wait(backoff: Callable[[RetryCallState], float], cap: float) -> Callable[[RetryCallState], float]:
    """The receiver's Retry-After when it gave one, else the exponential backoff."""

    def wait(state: RetryCallState) -> float:
        error = state.outcome.exception() if state.outcome is not None else None
        if isinstance(error, httpx.HTTPStatusError):
            hinted = retry_after(error.response, cap)
            if hinted is not None:
                return hinted
        return backoff(state)

    return wait


async def _post_once(url: str, payload: dict[str, Any], timeout: float) -> httpx.Response:
    """One POST whose whole exchange (connect, send, every read) must end within `timeout` seconds."""
    try:
        async with asyncio.timeout(timeout), httpx.AsyncClient(timeout=timeout) as client:
            response = await client.post(url, json=payload)
    except TimeoutError:
        raise httpx.TimeoutException(f"no complete answer within {timeout:g} s") from None
    response.raise_for_status()
    return response


def _in_own_event_loop(coroutine: Coroutine[Any, Any, T]) -> T:
    """Run a coroutine to completion on a fresh event loop in a thread of its own, so that a caller
    that is itself inside a running event loop (where asyncio.run refuses) can wait for it too."""
    with ThreadPoolExecutor(1, thread_name_prefix="ownermap-webhook") as pool:
        return pool.submit(asyncio.run, coroutine).result()


def post_webhook(
    url: str,
    payload: dict[str, Any],
    attempts: int = 5,
    initial_wait: float = 1.0,
    max_wait: float = 30.0,
    timeout: float = 15.0,
    max_retry_after: float = MAX_RETRY_AFTER,
) -> int:
    """POST JSON, retrying with exponential backoff on network errors, 5xx, 408 and 429.

    A 429 or 503 with `Retry-After` waits what it asks (at most `max_retry_after` seconds) instead
    of the backoff; retries never exceed `attempts` in all. `timeout` is the deadline of each whole
    attempt, not of each read, so a receiver that answers a byte at a time cannot hold a try longer.
    Returns the number of attempts used; raises DeliveryError when every attempt failed or the
    receiver refused the payload (other 4xx).
    """
    used = 0

    def attempt() -> None:
        nonlocal used
        used += 1
        _in_own_event_loop(_post_once(url, payload, timeout))

    retrying = Retrying(
        stop=stop_after_attempt(attempts),
        wait=_wait(wait_exponential(multiplier=initial_wait, max=max_wait), max_retry_after),
        retry=retry_if_exception(_retryable),
        before_sleep=lambda state: log.warning("webhook delivery failed (attempt %d), retrying in %.1f s",
                                               state.attempt_number, state.upcoming_sleep),
        reraise=False,
    )
    try:
        retrying(attempt)
    except RetryError as exc:
        cause = exc.last_attempt.exception()
        raise DeliveryError(
            f"webhook delivery to {_redact(url)} failed after {used} attempt(s): {_describe(cause)}"
        ) from None
    except httpx.HTTPError as exc:
        raise DeliveryError(f"webhook delivery to {_redact(url)} was refused: {_describe(exc)}") from None
    return used


def _describe(error: BaseException | None) -> str:
    """What went wrong, without the URL (a Slack webhook's path is its secret)."""
    if isinstance(error, httpx.HTTPStatusError):
        return f"HTTP {error.response.status_code} {error.response.reason_phrase}"
    if type(error) is httpx.TimeoutException:
        return f"timed out: {error}"
    return type(error).__name__ if error is not None else "unknown error"


def _redact(url: str) -> str:
    """A webhook URL without its secret path (Slack URLs carry the token in the path)."""
    parsed = httpx.URL(url)
    return f"{parsed.scheme}://{parsed.host}/…"
