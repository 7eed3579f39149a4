"""Per-team load with hand-computed answers: episodes, off-hours by zone, rotations, overload, moves.

The window is Tuesday 2026-11-03 00:00-06:00 UTC (5-minute buckets). Failing buckets (100 calls,
20 failed) of payments (UTC; 4 members, a rotation of 1): pay-api 00:00, 00:05, 01:00, 02:00,
pay-db 00:10, pay-batch 03:00 → episodes 00:00-00:15, 01:00, 02:00, 03:00 (all off-hours).
search (Asia/Tokyo, 2 members): search-api 23:40 Monday (alone: ends before the window), 23:55
Monday and 00:00 (an episode under way when the window starts: 08:55 in Tokyo, off-hours), 02:00
(11:00 in Tokyo: working hours). infra (America/New_York, 3 members): infra-api 04:00 (23:00 Monday).
"""

from __future__ import annotations

from graph.model import Window
from graph.store.series import InboundBucket
from ownership.oncall.load import LoadInputs, TeamInfo, team_loads
from ownership.oncall.moves import Move, apply_moves

T = 1793664000  # Tuesday 2026-11-03 00:00 UTC
WINDOW = Window(T, T + 6 * 3600)
TEAMS = [
    TeamInfo("payments", members=4, rotation_declared=True, rotation_size=1),
    TeamInfo("search", members=2, rotation_declared=True, rotation_size=2, timezone="Asia/Tokyo"),
    TeamInfo("infra", members=3, rotation_declared=False, rotation_size=3, timezone="America/New_York"),
    TeamInfo("idle", members=0, rotation_declared=False, rotation_size=0),
]
OWNERS: dict[str, str | None] = {
    "pay-api": "payments", "pay-db": "payments", "pay-batch": "payments",
    "search-api": "search", "infra-api": "infra", "stray": None,
}
FAILING = [
    ("pay-api", 0), ("pay-api", 300), ("pay-db", 600), ("pay-api", 3600), ("pay-api", 7200),
    ("pay-batch", 10800), ("search-api", -1200), ("search-api", -300), ("search-api", 0),
    ("search-api", 7200), ("infra-api", 14400), ("stray", 0),
]
CALLS = [("search-api", "pay-api"), ("infra-api", "pay-api"), ("pay-api", "pay-db"), ("stray", "pay-api"),
         ("pay-api", "infra-api")]


def buckets() -> list[InboundBucket]:
    out = [InboundBucket(s, T + offset, 300, 100, 20, ()) for s, offset in FAILING]
    out.append(InboundBucket("pay-api", T + 1800, 300, 100, 0, ()))  # calls, nothing failing
    out.append(InboundBucket("infra-api", T + 18000, 300, 201, 10, ()))  # just under the ratio
    return out


def loads(owners: dict[str, str | None] = OWNERS, **kwargs: object) -> dict[str, dict[str, object]]:
    inputs = LoadInputs(WINDOW, TEAMS, owners, list(owners), buckets(), CALLS, **kwargs)  # type: ignore[arg-type]
    return {t.team: t.to_dict() for t in team_loads(inputs)}


def test_figures_per_team() -> None:
    got = loads(burn_events={"search": 2})
    assert list(got) == ["idle", "infra", "payments", "search"]
    assert got["payments"] == {
        "team": "payments", "services": ["pay-api", "pay-batch", "pay-db"], "members": 4,
        "rotation": {"declared": True, "size": 1}, "calls": 700, "failed": 120, "episodes": 4,
        "off_hours_episodes": 4, "burn_events": 0, "per_member": 4.0, "depended_on_by": ["infra", "search"],
        "overloaded": True,
    }
    search = got["search"]
    assert (search["episodes"], search["off_hours_episodes"], search["per_member"]) == (2, 1, 1.0)
    assert (search["calls"], search["failed"], search["burn_events"]) == (200, 40, 2)
    assert search["depended_on_by"] == [] and search["overloaded"] is False
    infra = got["infra"]
    assert (infra["episodes"], infra["off_hours_episodes"], infra["per_member"]) == (1, 1, 0.3333)
    assert (infra["calls"], infra["failed"], infra["depended_on_by"]) == (301, 30, ["payments"])
    assert got["idle"]["per_member"] is None and got["idle"]["services"] == [] and got["idle"]["episodes"] == 0


def test_a_rotation_smaller_than_the_team_carries_more_per_member() -> None:
    teams = [TeamInfo("payments", 4, True, 4), *TEAMS[1:]]
    inputs = LoadInputs(WINDOW, teams, OWNERS, list(OWNERS), buckets(), CALLS)
    whole = {t.team: t for t in team_loads(inputs)}["payments"]
    assert whole.per_member == 1.0 and whole.overloaded is False  # 4 episodes over 4 people
    assert loads()["payments"]["per_member"] == 4.0  # the same 4 over a rotation of 1


def test_overload_needs_three_episodes() -> None:
    owners = {**OWNERS, "pay-api": None}  # payments keeps pay-db 00:10 and pay-batch 03:00
    teams = [*TEAMS[:1], TeamInfo("search", 2, True, 4, "Asia/Tokyo"), *TEAMS[2:]]
    got = {t.team: t for t in team_loads(LoadInputs(WINDOW, teams, owners, list(owners), buckets(), CALLS))}
    # per_member: payments 2.0, search 0.5, infra 0.333: median 0.5, and 2.0 > 2 x 0.5, but 2 episodes
    assert (len(got["payments"].episodes), got["payments"].per_member) == (2, 2.0)
    assert not any(team.overloaded for team in got.values())


def test_a_move_shifts_an_episode_to_another_team() -> None:
    moved = apply_moves(OWNERS, [Move("pay-batch", "infra")])
    got = loads(moved)
    assert (got["payments"]["episodes"], got["payments"]["off_hours_episodes"]) == (3, 3)
    assert got["payments"]["services"] == ["pay-api", "pay-db"]
    # pay-batch's 03:00 UTC episode is now infra's: 22:00 Monday in New York, off-hours.
    assert (got["infra"]["episodes"], got["infra"]["off_hours_episodes"]) == (2, 2)
    assert got["infra"]["services"] == ["infra-api", "pay-batch"]
    assert got["payments"]["overloaded"] is True  # 3 episodes, 3.0 > 2 x median(3, 1, 0.667) = 2
    relieved = loads(apply_moves(OWNERS, [Move("pay-api", "search")]))
    assert relieved["payments"]["episodes"] == 2 and not relieved["payments"]["overloaded"]
    assert relieved["search"]["episodes"] == 3  # 23:55-00:10 (merged with pay-api), 01:00, 02:00 (both)
