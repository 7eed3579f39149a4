"""Team time zones (owners.yaml `teams[].timezone`, Group annotation `ownermap.io/timezone`)."""

from __future__ import annotations

from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from ownership.catalog.fields import show

MAX_ZONE = 64


def zone_problem(name: str) -> str | None:
    """Why a string is not an IANA time zone name known to `zoneinfo`, or None."""
    if len(name) > MAX_ZONE:
        return f"must be at most {MAX_ZONE} characters, got {len(name)}"
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError, OSError):
        return f"{show(name)} is not an IANA time zone name (for example Europe/Berlin)"
    return None
