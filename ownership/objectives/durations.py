"""Objective windows: `<N>m|h|d|w` rolling durations (calendar windows are not supported yet)."""

from __future__ import annotations

import re

_DURATION = re.compile(r"^\s*(\d{1,6})\s*([smhdwMQY])\s*$")
_UNIT_SECONDS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 7 * 86400}
MAX_WINDOW_SECONDS = 400 * 86400


def parse_window(text: object, *, allow_seconds: bool = False) -> int:
    """Seconds in a duration like `28d`; ValueError with a clear message otherwise.

    `M`, `Q` and `Y` are calendar units: refused (ownermap measures rolling windows only).
    """
    if isinstance(text, bool) or not isinstance(text, str | int):
        raise ValueError(f"must be a duration like 28d, got {type(text).__name__}")
    match = _DURATION.match(str(text))
    if match is None:
        raise ValueError(f"{text!r} is not a duration like 5m, 1h, 28d or 4w")
    count, unit = int(match.group(1)), match.group(2)
    if unit in "MQY":
        raise ValueError(f"{text!r} is a calendar window (M, Q, Y): calendar windows are not supported yet; "
                         "use a rolling window such as 28d or 30d")
    if unit == "s" and not allow_seconds:
        raise ValueError(f"{text!r}: use minutes, hours, days or weeks (m, h, d, w)")
    seconds = count * _UNIT_SECONDS[unit]
    if seconds <= 0:
        raise ValueError(f"{text!r} must be longer than zero")
    if seconds > MAX_WINDOW_SECONDS:
        raise ValueError(f"{text!r} is longer than {MAX_WINDOW_SECONDS // 86400} days")
    return seconds


def parse_threshold_ms(text: str) -> float:
    """Milliseconds in `300ms`, `0.3s` or a plain number of milliseconds; ValueError otherwise."""
    value = text.strip().lower()
    scale = 1.0
    if value.endswith("ms"):
        value = value[:-2]
    elif value.endswith("s"):
        value, scale = value[:-1], 1000.0
    try:
        number = float(value) * scale
    except ValueError:
        raise ValueError(f"{text!r} is not a duration like 300ms or 0.3s") from None
    if not number > 0 or number == float("inf"):
        raise ValueError(f"{text!r} must be a positive duration")
    return number
