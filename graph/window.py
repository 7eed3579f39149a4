"""Parsing query windows: `window=<N>m|h|d|w`, or `start`/`end` in ISO 8601."""

from __future__ import annotations

import re
import time
from datetime import UTC, date, datetime

from graph.model import Window

_WINDOW = re.compile(r"^([1-9][0-9]{0,5})([mhdw])$")
_UNIT_SECONDS = {"m": 60, "h": 3600, "d": 86400, "w": 7 * 86400}
MAX_WINDOW_SECONDS = 3660 * 86400  # ten years: anything longer is a mistake
DEFAULT_WINDOW = "7d"


class WindowError(ValueError):
    """A window, start or end that cannot be understood."""


def parse_duration(text: str) -> float:
    """`15m`, `1h`, `7d`, `2w` → seconds."""
    match = _WINDOW.match(text.strip()) if isinstance(text, str) else None
    if not match:
        raise WindowError(f"window {text!r} is not <N>m, <N>h, <N>d or <N>w (for example 15m, 24h, 7d)")
    seconds = int(match.group(1)) * _UNIT_SECONDS[match.group(2)]
    if seconds > MAX_WINDOW_SECONDS:
        raise WindowError(f"window {text!r} is longer than ten years")
    return float(seconds)


def parse_time(text: str) -> float:
    """An ISO 8601 date or time (UTC unless it says otherwise) → Unix seconds."""
    value = text.strip()
    try:
        if len(value) == 10:
            day = date.fromisoformat(value)
            return datetime(day.year, day.month, day.day, tzinfo=UTC).timestamp()
        moment = datetime.fromisoformat(value)
    except ValueError:
        example = "2026-11-23 or 2026-11-23T09:00:00Z"
        raise WindowError(f"{text!r} is not an ISO 8601 date or time (for example {example})") from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.timestamp()


def resolve_window(
    window: str | None = None, start: str | None = None, end: str | None = None, now: float | None = None
) -> Window:
    """The window a query asks for; default the 7 days ending now."""
    now = time.time() if now is None else now
    end_ts = parse_time(end) if end else now
    if start:
        if window:
            raise WindowError("give either window or start, not both")
        start_ts = parse_time(start)
    else:
        start_ts = end_ts - parse_duration(window or DEFAULT_WINDOW)
    if start_ts >= end_ts:
        raise WindowError("start must be before end")
    for ts in (start_ts, end_ts):
        try:
            datetime.fromtimestamp(ts, UTC)
        except (ValueError, OverflowError, OSError):
            raise WindowError("the window must lie between the years 1 and 9999") from None
    return Window(start_ts, end_ts)
