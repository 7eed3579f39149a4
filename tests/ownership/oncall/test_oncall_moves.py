"""What-if moves: parsing at the last '=', and every way a move can be refused."""

from __future__ import annotations

import pytest

from ownership.oncall.moves import Move, MoveError, apply_moves, check_moves, parse_move

TEAMS = {"payments": "payments", "search": "search"}


def check(*texts: str) -> list[Move]:
    return check_moves(texts, {"checkout", "a=b", "orphan"}, lambda name: TEAMS.get(name.lower()))


def test_split_at_the_last_equals_sign() -> None:
    assert parse_move("a=b=search") == Move("a=b", "search")
    assert check("a=b=search", "checkout=Payments") == [Move("a=b", "search"), Move("checkout", "payments")]


@pytest.mark.parametrize(
    ("texts", "words"),
    [
        (("checkout",), "must be SERVICE=TEAM"),
        (("=search",), "must be SERVICE=TEAM"),
        (("checkout=",), "must be SERVICE=TEAM"),
        (("nope=search",), "no service named 'nope'"),
        (("checkout=nobody",), "no team named 'nobody'"),
        (("checkout=search", "checkout=payments"), "'checkout' is moved twice"),
    ],
)
def test_refused_moves_name_what_is_wrong(texts: tuple[str, ...], words: str) -> None:
    with pytest.raises(MoveError, match=words):
        check(*texts)


def test_apply_moves_claims_an_orphan_and_changes_nothing_else() -> None:
    owners = {"checkout": "payments", "orphan": None}
    moved = apply_moves(owners, [Move("orphan", "search")])
    assert moved == {"checkout": "payments", "orphan": "search"} and owners["orphan"] is None
