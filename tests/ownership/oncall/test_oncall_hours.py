"""Working hours: parsing, start inclusive and end exclusive, and the team's time zone."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from ownership.oncall.hours import WorkingHoursError, parse_working_hours

UTC = ZoneInfo("UTC")
TUESDAY = 1793664000  # 2026-11-03 00:00 UTC, a Tuesday


def at(text: str, zone: str = "UTC") -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=ZoneInfo(zone))


def test_default_is_weekdays_nine_to_six() -> None:
    hours = parse_working_hours("Mon-Fri 09:00-18:00")
    assert hours.days == frozenset(range(5)) and (hours.start, hours.end) == (540, 1080)


@pytest.mark.parametrize(
    ("moment", "inside"),
    [
        ("2026-11-03T09:00", True),  # start inclusive
        ("2026-11-03T08:59", False),
        ("2026-11-03T17:59", True),
        ("2026-11-03T18:00", False),  # end exclusive
        ("2026-11-07T12:00", False),  # Saturday
        ("2026-11-06T12:00", True),  # Friday
    ],
)
def test_limits(moment: str, inside: bool) -> None:
    assert parse_working_hours("Mon-Fri 09:00-18:00").contains(at(moment)) is inside


def test_ranges_wrap_and_lists_and_midnight() -> None:
    assert parse_working_hours("Sun-Thu 08:00-16:00").days == frozenset({6, 0, 1, 2, 3})
    assert parse_working_hours("mon,Wed, friday 10:00-12:00").days == frozenset({0, 2, 4})
    whole = parse_working_hours("Sat 00:00-24:00")
    assert whole.contains(at("2026-11-07T23:59")) and not whole.contains(at("2026-11-08T00:00"))


def test_an_episode_at_two_utc_is_inside_working_hours_in_tokyo() -> None:
    hours = parse_working_hours("Mon-Fri 09:00-18:00")
    two_utc = TUESDAY + 2 * 3600  # 11:00 in Tokyo
    assert hours.off_hours(two_utc, UTC) is True
    assert hours.off_hours(two_utc, ZoneInfo("Asia/Tokyo")) is False
    assert hours.off_hours(two_utc, ZoneInfo("America/New_York")) is True  # Monday 21:00


@pytest.mark.parametrize(
    ("text", "words"),
    [
        ("", "must look like"),
        ("9 to 5", "must look like"),
        ("Mon-Fri 18:00-09:00", "start must be before the end"),
        ("Mon-Fri 09:00-09:00", "start must be before the end"),
        ("Mon-Fry 09:00-18:00", "'Fry' is not a day"),
        ("Mo-Fr 09:00-18:00", "is not a day"),
        ("Mon-Fri 09:60-18:00", "'09:60' is not a time of day"),
        ("Mon-Fri 09:00-24:30", "is not a time of day"),
    ],
)
def test_bad_values_are_clear_errors(text: str, words: str) -> None:
    with pytest.raises(WorkingHoursError, match=words):
        parse_working_hours(text)
