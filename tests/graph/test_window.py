"""graph.window: durations, ISO 8601 times, start/end rules; any text parses or raises WindowError."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from graph.model import Window
from graph.window import MAX_WINDOW_SECONDS, WindowError, parse_duration, parse_time, resolve_window
from tests.conftest import at_least_examples

NOW = 1_700_000_100.0


@pytest.mark.parametrize(
    ("text", "seconds"),
    [("1m", 60), ("15m", 900), ("1h", 3600), ("24h", 86400), ("7d", 7 * 86400), ("30d", 30 * 86400),
     ("1w", 7 * 86400), ("2w", 14 * 86400), (" 7d ", 7 * 86400), ("999999m", 999999 * 60), ("520w", 520 * 7 * 86400)],
)
def test_parse_duration_units(text: str, seconds: int) -> None:
    assert parse_duration(text) == float(seconds)


@pytest.mark.parametrize(
    "text",
    ["0d", "0m", "00h", "07d", "7x", "7", "d", "-1h", "+1h", "1.5h", "1 h", "1H", "1D", "7dd", "1s", "1y", "",
     " ", "\uff11d", "\u0663d", "7d\n7d", "1e3m", "0x10m", "1_0m", "1234567m", "9999999w", "999999w", "523w", "3661d",
     "7d;DROP", "7" * 10_000 + "d", "h7"],
)
def test_parse_duration_rejects(text: str) -> None:
    with pytest.raises(WindowError, match="window"):
        parse_duration(text)


def test_ten_years_is_the_limit() -> None:
    assert parse_duration(f"{MAX_WINDOW_SECONDS // 86400}d") == MAX_WINDOW_SECONDS
    with pytest.raises(WindowError, match="ten years"):
        parse_duration(f"{MAX_WINDOW_SECONDS // 86400 + 1}d")


def test_parse_duration_non_string_is_a_window_error() -> None:
    with pytest.raises(WindowError):
        parse_duration(7)  # type: ignore[arg-type]


def _ts(*args: int) -> float:
    return datetime(*args, tzinfo=UTC).timestamp()


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2026-11-23", _ts(2026, 11, 23)),
        ("2026-11-23T09:00:00Z", _ts(2026, 11, 23, 9)),
        ("2026-11-23T09:00:00", _ts(2026, 11, 23, 9)),  # naive means UTC
        ("2026-11-23 09:00", _ts(2026, 11, 23, 9)),
        ("2026-11-23T09:00:00+02:00", _ts(2026, 11, 23, 7)),
        ("2026-11-23T09:00:00-05:30", _ts(2026, 11, 23, 14, 30)),
        ("2026-11-23T09:00:00.250Z", _ts(2026, 11, 23, 9) + 0.25),
        ("2026-11-23T00:00:00+14:00", _ts(2026, 11, 22, 10)),
        ("  2026-11-23  ", _ts(2026, 11, 23)),
        ("20261123T090000Z", _ts(2026, 11, 23, 9)),
    ],
)
def test_parse_time(text: str, expected: float) -> None:
    assert parse_time(text) == pytest.approx(expected)


@pytest.mark.parametrize(
    "text",
    ["yesterday", "2026-13-01", "2026-02-30", "2026-11-23T25:00:00", "2026-11-23T09:00:00+25:00",
     "23/11/2026", "2026-11-23T", "", "now", "1700000000", "2026-11-23T09:00:00 UTC"],
)
def test_parse_time_rejects(text: str) -> None:
    with pytest.raises(WindowError, match="ISO 8601"):
        parse_time(text)


def test_resolve_window_default_is_seven_days_ending_now() -> None:
    assert resolve_window(now=NOW) == Window(NOW - 7 * 86400, NOW)


def test_resolve_window_duration_ending_now_or_at_end() -> None:
    assert resolve_window("1h", now=NOW) == Window(NOW - 3600, NOW)
    end = _ts(2026, 1, 2)
    assert resolve_window("1d", end="2026-01-02", now=NOW) == Window(end - 86400, end)
    assert resolve_window(end="2026-01-02", now=NOW) == Window(end - 7 * 86400, end)


def test_resolve_window_start_end() -> None:
    w = resolve_window(start="2026-01-01", end="2026-01-02T12:00:00+00:00", now=NOW)
    assert w == Window(_ts(2026, 1, 1), _ts(2026, 1, 2, 12))
    assert resolve_window(start="2023-11-14T00:00:00Z", now=NOW) == Window(_ts(2023, 11, 14), NOW)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"window": "1h", "start": "2026-01-01"}, "either window or start"),
        ({"start": "2026-01-02", "end": "2026-01-01"}, "before end"),
        ({"start": "2026-01-01", "end": "2026-01-01"}, "before end"),
        ({"start": "2026-01-01T10:00:00+02:00", "end": "2026-01-01T08:00:00Z"}, "before end"),
        ({"start": "2099-01-01"}, "before end"),
        ({"window": "7x"}, "window"),
        ({"window": "0d"}, "window"),
        ({"end": "garbage"}, "ISO 8601"),
        ({"start": "garbage", "end": "2026-01-01"}, "ISO 8601"),
    ],
)
def test_resolve_window_errors(kwargs: dict[str, str], message: str) -> None:
    with pytest.raises(WindowError, match=message):
        resolve_window(now=NOW, **kwargs)


def test_window_as_dict() -> None:
    assert Window(_ts(2026, 1, 1), _ts(2026, 1, 8)).as_dict() == {
        "start": "2026-01-01T00:00:00Z", "end": "2026-01-08T00:00:00Z",
    }


def _resolves_or_window_error(**kwargs: str | None) -> None:
    try:
        window = resolve_window(now=NOW, **kwargs)
    except WindowError:
        return
    assert window.start < window.end
    window.as_dict()  # what every API answer does with it


@settings(max_examples=at_least_examples(300), deadline=None)
@given(st.text(max_size=40))
def test_any_window_text_parses_or_raises_window_error(text: str) -> None:
    _resolves_or_window_error(window=text or None)


@settings(max_examples=at_least_examples(300), deadline=None)
@given(st.text(max_size=40), st.text(max_size=40))
def test_any_start_end_text_parses_or_raises_window_error(start: str, end: str) -> None:
    _resolves_or_window_error(start=start or None, end=end or None)


@settings(max_examples=at_least_examples(200), deadline=None)
@given(st.from_regex(r"\A[0-9]{1,8}[mhdw]\Z"))
def test_durations_in_the_grammar(text: str) -> None:
    _resolves_or_window_error(window=text)


@settings(max_examples=at_least_examples(200), deadline=None)
@given(st.datetimes(timezones=st.timezones() | st.none()))
def test_any_iso_datetime_parses_or_raises_window_error(moment: datetime) -> None:
    _resolves_or_window_error(end=moment.isoformat())
    _resolves_or_window_error(start=moment.isoformat())


@pytest.mark.parametrize("kwargs", [{"end": "0001-01-01"}, {"start": "0001-01-01T00:00:00+14:00"},
                                    {"end": "9999-12-31T23:59:59-14:00", "window": "1m"}])
def test_extreme_dates_are_window_errors(kwargs: dict[str, str]) -> None:
    """Regression: these used to resolve and then crash in Window.as_dict (API 500)."""
    with pytest.raises(WindowError):
        resolve_window(now=NOW, **kwargs).as_dict()
