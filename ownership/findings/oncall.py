"""The team finding `oncall_overloaded` (DESIGN §3b), over the teams' on-call load."""

from __future__ import annotations

from collections.abc import Iterator

from ownership.findings.codes import FindingCode
from ownership.findings.finding import Finding
from ownership.findings.rules import TeamFacts, team_rule


@team_rule(FindingCode.ONCALL_OVERLOADED)
def oncall_overloaded(facts: TeamFacts) -> Iterator[Finding]:
    """A team with at least 3 episodes in the window and more than twice the median episodes per
    rotation member of the teams owning a seen service (`TeamLoad.overloaded`)."""
    for load in facts.loads:
        if load.overloaded:
            per_member = load.per_member or 0.0
            detail = (f"{len(load.episodes)} episodes ({load.off_hours_episodes} off-hours) over a rotation of "
                      f"{load.rotation_size}: {per_member:.2f} per member")
            yield Finding(FindingCode.ONCALL_OVERLOADED, None, detail, owner=load.team, team=load.team,
                          data={"episodes": len(load.episodes), "off_hours_episodes": load.off_hours_episodes,
                                "per_member": round(per_member, 4), "rotation_size": load.rotation_size})
