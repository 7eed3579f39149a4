"""Delivering a report: to a file, or to a webhook (Slack-compatible or plain JSON) with retries."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import httpx
from tenacity import RetryError, Retrying, retry_if_exception, stop_after_attempt, wait_exponential

log = logging.getLogger(__name__)
SLACK_TEXT_LIMIT = 39_000


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


def post_webhook(
    url: str,
    payload: dict[str, Any],
    attempts: int = 5,
    initial_wait: float = 1.0,
    max_wait: float = 30.0,
    timeout: float = 15.0,
) -> int:
    """POST JSON, retrying with exponential backoff on network errors, 5xx, 408 and 429.

    Returns the number of attempts used; raises DeliveryError when every attempt failed or the
    receiver refused the payload (other 4xx).
    """
    used = 0

    def attempt() -> None:
        nonlocal used
        used += 1
        response = httpx.post(url, json=payload, timeout=timeout)
        response.raise_for_status()

    retrying = Retrying(
        stop=stop_after_attempt(attempts),
        wait=wait_exponential(multiplier=initial_wait, max=max_wait),
        retry=retry_if_exception(_retryable),
        before_sleep=lambda state: log.warning("webhook delivery failed (attempt %d), retrying", state.attempt_number),
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
    return type(error).__name__ if error is not None else "unknown error"


def _redact(url: str) -> str:
    """A webhook URL without its secret path (Slack URLs carry the token in the path)."""
    parsed = httpx.URL(url)
    return f"{parsed.scheme}://{parsed.host}/…"
