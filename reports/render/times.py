"""Times as people read them: "3 min ago", "14 Nov 2023, 22:15 UTC" (the exact time stays in
`<time datetime>` and in a title)."""

from __future__ import annotations

from datetime import UTC, datetime

from markupsafe import Markup, escape

NO_TIME = "\u2013"  # an en dash: no time known


def parse_time(value: str | float | int | None) -> datetime | None:
    """An ISO 8601 string (a trailing Z allowed) or Unix seconds as an aware UTC datetime; None if unreadable."""
    if value is None or value == "":
        return None
    try:
        if isinstance(value, int | float):
            return datetime.fromtimestamp(value, UTC)
        moment = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    except (ValueError, OverflowError, OSError):
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def readable(value: str | float | int | None, seconds: bool = False) -> str:
    """E.g. "14 Nov 2023, 22:15 UTC" (with seconds if asked); NO_TIME when there is no time."""
    moment = parse_time(value)
    if moment is None:
        return NO_TIME
    moment = moment.astimezone(UTC)
    return f"{moment.day} {moment:%b %Y, %H:%M{':%S' if seconds else ''}} UTC"


def ago(value: str | float | int | None, now: float) -> str:
    """How long before `now` (Unix seconds): "just now", "3 min ago", "5 h ago", "2 days ago"."""
    moment = parse_time(value)
    if moment is None:
        return NO_TIME
    delta = now - moment.timestamp()
    if delta < 0:
        return "in the future"
    if delta < 60:
        return "just now"
    for size, unit in ((86400, "day"), (3600, "h"), (60, "min")):
        if delta >= size:
            count = int(delta // size)
            return f"{count} {unit}{'s' if unit == 'day' and count > 1 else ''} ago"
    return "just now"  # unreachable; keeps type checkers content


def time_tag(value: str | float | int | None, now: float | None = None) -> Markup:
    """`<time datetime="…" title="full time">label</time>`: "3 min ago" when `now` is given, else the date."""
    moment = parse_time(value)
    if moment is None:
        return escape(NO_TIME)
    exact = moment.astimezone(UTC).isoformat().replace("+00:00", "Z")
    label = ago(value, now) if now is not None else readable(value)
    return Markup('<time datetime="{}" title="{}">{}</time>').format(exact, readable(value, seconds=True), label)


def register(env: object) -> None:
    """Add the `readable`, `ago` and `time_tag` filters to a Jinja2 environment."""
    filters = env.filters  # type: ignore[attr-defined]
    filters["readable"] = readable
    filters["ago"] = ago
    filters["time_tag"] = time_tag


__all__ = ["ago", "escape", "parse_time", "readable", "register", "time_tag"]
