"""What-if moves `SERVICE=TEAM`: parsed, checked against what is seen and declared (DESIGN §3b)."""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterable, Mapping
from dataclasses import dataclass


class MoveError(ValueError):
    """A move naming an unknown service or team, a malformed one, or a service moved twice."""


@dataclass(frozen=True, slots=True)
class Move:
    """Count `service` as owned by `team`."""

    service: str
    team: str

    def to_dict(self) -> dict[str, str]:
        """JSON-ready form."""
        return {"service": self.service, "team": self.team}


def parse_move(text: str) -> Move:
    """`SERVICE=TEAM`, split at the last `=` (a service name may contain `=`)."""
    service, sep, team = text.rpartition("=")
    if not sep or not service.strip() or not team.strip():
        raise MoveError(f"move {text!r} must be SERVICE=TEAM")
    return Move(service.strip(), team.strip())


def check_moves(
    texts: Iterable[str],
    services: Collection[str],
    team_name: Callable[[str], str | None],
) -> list[Move]:
    """Parse moves and check them: the service seen or catalogued (`services`), the team declared
    (`team_name` gives its declared name, or None), no service moved twice. Raises MoveError naming it."""
    moves: list[Move] = []
    moved: set[str] = set()
    for text in texts:
        move = parse_move(text)
        if move.service not in services:
            raise MoveError(f"move {text!r}: no service named {move.service!r} is seen or catalogued")
        team = team_name(move.team)
        if team is None:
            raise MoveError(f"move {text!r}: no team named {move.team!r} is declared")
        if move.service in moved:
            raise MoveError(f"move {text!r}: service {move.service!r} is moved twice")
        moved.add(move.service)
        moves.append(Move(move.service, team))
    return moves


def apply_moves(owners: Mapping[str, str | None], moves: Iterable[Move]) -> dict[str, str | None]:
    """Owners (service → team) as if the moved services belonged to their new teams."""
    out = dict(owners)
    for move in moves:
        out[move.service] = move.team
    return out
