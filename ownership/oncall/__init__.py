"""On-call load per team from the traces, with what-if moves (DESIGN §3b)."""

from ownership.oncall.build import OncallReads, OncallSettings, lookback, oncall_report, read_oncall, validate_moves
from ownership.oncall.episodes import Episode, Thresholds
from ownership.oncall.hours import DEFAULT_WORKING_HOURS, WorkingHours, WorkingHoursError, parse_working_hours
from ownership.oncall.load import OncallReport, TeamLoad
from ownership.oncall.moves import Move, MoveError

__all__ = [
    "DEFAULT_WORKING_HOURS",
    "Episode",
    "Move",
    "MoveError",
    "OncallReads",
    "OncallReport",
    "OncallSettings",
    "TeamLoad",
    "Thresholds",
    "WorkingHours",
    "WorkingHoursError",
    "lookback",
    "oncall_report",
    "parse_working_hours",
    "read_oncall",
    "validate_moves",
]
