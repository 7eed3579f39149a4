"""The weekly report as Markdown that fits a chat message or an issue."""

from __future__ import annotations

from typing import Any

from reports.render.text import md

TOP_ORPHANS = 15


def _owners(suggestions: list[dict[str, Any]]) -> str:
    if not suggestions:
        return "no suggestion"
    return ", ".join(f"{md(s['team'])} ({s['confidence']:.2f})" for s in suggestions[:2])


def objectives_markdown(teams: list[dict[str, Any]]) -> list[str]:
    """The Objectives section: per team met / burning / breached / missing, the worst first."""
    if not teams:
        return []
    out = ["## Objectives", "", "| team | breached | burning | met | missing | worst |", "|---|---|---|---|---|---|"]
    for t in teams:
        worst = t["objectives"][0] if t["objectives"] else None
        shown = f"{md(worst['service'])} {md(worst['name'])} ({worst['status']})" if worst else "-"
        missing = md(", ".join(t["missing"][:5])) + (" …" if len(t["missing"]) > 5 else "") if t["missing"] else "-"
        out.append(f"| {md(t['team'])} | {t['breached']} | {t['burning']} | {t['met']} | {missing} | {shown} |")
    return [*out, ""]


def render_markdown(report: dict[str, Any]) -> str:
    """Summary, risk-ranked orphans, resolved, stale, unowned dependencies, gaps and teams."""
    s = report["summary"]
    w = report["window"]
    out = [
        f"# Orphaned services: week ending {md(w['end'][:10])}",
        "",
        f"**{s['orphans']}** orphaned services (last week {s['orphans_previous']}): "
        f"**{s['new']}** new, **{s['resolved']}** resolved. "
        f"{s['services_owned']} of {s['services_seen']} services seen have a valid owner.",
        "",
    ]
    if report["orphans"]:
        out += ["## Orphans by risk", "",
                "| # | service | why | status | since | dependents | calls | errors | suggested owner |",
                "|---|---|---|---|---|---|---|---|---|"]
        for i, o in enumerate(report["orphans"][:TOP_ORPHANS], start=1):
            r = o["risk"]
            out.append(
                f"| {i} | {md(o['service'])} | {md(', '.join(o['codes']))} | {o['status']} | "
                f"{md(o['orphaned_since'][:10])} | {r['dependents']} | {r['calls']} | {r['error_rate']:.1%} | "
                f"{_owners(o['suggested_owners'])} |"
            )
        if len(report["orphans"]) > TOP_ORPHANS:
            out.append(f"\n…and {len(report['orphans']) - TOP_ORPHANS} more.")
        out.append("")
    if report["resolved"]:
        out += ["## Resolved since last week", ""]
        out += [f"- {md(r['service'])} ({md(', '.join(r['codes_before']))})" for r in report["resolved"]]
        out.append("")
    if report["stale"]:
        out += ["## Stale catalog entries (no telemetry this week)", ""]
        out += [f"- {md(x['service'])} (owner {md(x['owner'] or 'none')})" for x in report["stale"]]
        out.append("")
    if report["unowned_dependencies"]:
        out += ["## Dependencies nobody owns", ""]
        out += [f"- {md(d['node'])} ({d['kind']}), called by {md(', '.join(d['callers']) or 'nobody')}"
                for d in report["unowned_dependencies"]]
        out.append("")
    if report["documentation_gaps"]:
        out += ["## Documentation gaps", ""]
        out += [f"- {md(g['service'])} ({md(g['owner'] or 'no owner')}): {md(', '.join(g['codes']))}"
                for g in report["documentation_gaps"]]
        out.append("")
    out += objectives_markdown(report.get("objectives", []))
    if report["teams"]:
        out += ["## Per team", ""]
        for t in report["teams"]:
            counts = ", ".join(f"{md(code)} {n}" for code, n in t["findings"].items()) or "no findings"
            out.append(f"- **{md(t['team'])}**: {len(t['services'])} services seen; {counts}")
        out.append("")
    out += oncall_lines(report.get("oncall_load", []))
    return "\n".join(out)


def oncall_lines(teams: list[dict[str, Any]]) -> list[str]:
    """The "On-call load" section: teams by episodes per rotation member, heaviest first."""
    if not teams:
        return []
    out = ["## On-call load", ""]
    for t in teams:
        per_member = "no rotation" if t["per_member"] is None else f"{t['per_member']:.2f} per member"
        declared = "" if t["rotation"]["declared"] else " (no on-call declared)"
        callers = md(", ".join(t["depended_on_by"])) or "no other team"
        out.append(f"- **{md(t['team'])}**: {per_member}; {t['episodes']} episodes ({t['off_hours_episodes']} "
                   f"off-hours), rotation of {t['rotation']['size']}{declared}; depended on by {callers}"
                   f"{'; **overloaded**' if t['overloaded'] else ''}")
    out.append("")
    return out
