"""Working hours (`working_hours`, default `Mon-Fri 09:00-18:00`) and whether a moment is off-hours."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

DEFAULT_WORKING_HOURS = "Mon-Fri 09:00-18:00"
DAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
_SHAPE = re.compile(r"^\s*(?P<days>[A-Za-z,\- ]+?)\s+(?P<start>\d{1,2}:\d{2})\s*-\s*(?P<end>\d{1,2}:\d{2})\s*$")


class WorkingHoursError(ValueError):
    """A `working_hours` value that cannot be read."""


@dataclass(frozen=True, slots=True)
class WorkingHours:
    """Days of the week (0 = Monday) and a daily span in minutes, start inclusive, end exclusive."""

    days: frozenset[int]
    start: int
    end: int

    def contains(self, moment: datetime) -> bool:
        """True when a zone-aware moment falls inside the working hours (in its own zone)."""
        minute = moment.hour * 60 + moment.minute
        return moment.weekday() in self.days and self.start <= minute < self.end

    def off_hours(self, epoch: float, zone: ZoneInfo) -> bool:
        """True when the instant (Unix seconds), read in `zone`, is outside the working hours."""
        return not self.contains(datetime.fromtimestamp(epoch, UTC).astimezone(zone))


def parse_working_hours(text: str) -> WorkingHours:
    """Read `DAYS HH:MM-HH:MM`; DAYS is a day, a range (`Mon-Fri`, `Sun-Thu`) or a comma list of those.

    Raises WorkingHoursError with the reason for anything else (the end may be `24:00`).
    """
    found = _SHAPE.match(text) if isinstance(text, str) else None
    if found is None:
        raise WorkingHoursError(f"working_hours {text!r} must look like 'Mon-Fri 09:00-18:00'")
    start, end = _minutes(found["start"], text), _minutes(found["end"], text)
    if start >= end:
        raise WorkingHoursError(f"working_hours {text!r}: the start must be before the end")
    days: set[int] = set()
    for part in found["days"].replace(" ", "").split(","):
        first, _, last = part.partition("-")
        a, b = _day(first, text), _day(last or first, text)
        days.update((a + i) % 7 for i in range((b - a) % 7 + 1))
    return WorkingHours(frozenset(days), start, end)


def _day(name: str, text: str) -> int:
    key = name.strip().lower()
    for index, day in enumerate(DAYS):
        if len(key) >= 3 and day.startswith(key):
            return index
    raise WorkingHoursError(f"working_hours {text!r}: {name!r} is not a day (Mon, Tue, ... Sun)")


def _minutes(clock: str, text: str) -> int:
    hours, minutes = (int(v) for v in clock.split(":"))
    if minutes > 59 or hours > 24 or (hours == 24 and minutes):
        raise WorkingHoursError(f"working_hours {text!r}: {clock!r} is not a time of day")
    return hours * 60 + minutes
