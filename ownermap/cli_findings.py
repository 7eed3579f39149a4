"""`ownermap findings`: every finding of a window, as `GET /api/v1/findings` gives it for the same
window and catalog: the objective findings measured at the window's end and the team finding
`oncall_overloaded`, with the settings' thresholds (DESIGN §3a, §3b)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import click

from ownermap.cli import common_options, make_settings, window_options, write_output
from ownermap.cli_window import WindowRead, open_window
from ownermap.settings import Settings

COLUMNS = ["severity", "code", "service", "owner", "suggested_owner", "detail"]


def team_facts(read: WindowRead, settings: Settings, env: str | None) -> Any:
    """Every team's on-call load over the window (its burn events left at 0: `oncall_overloaded` does
    not depend on them), as the team rules read it."""
    from ownermap.limits import oncall_settings
    from ownership.findings.rules import TeamFacts
    from ownership.lens import CatalogLens
    from ownership.oncall import oncall_report, read_oncall

    config = oncall_settings(settings)
    load = oncall_report(read.graph, CatalogLens(read.analysis.index),
                         read_oncall(read.store, read.graph.window, env or None, config), config)
    return TeamFacts(tuple(load.teams))


def window_findings(settings: Settings, read: WindowRead, codes: tuple[str, ...], owner: str | None,
                    env: str | None) -> list[dict[str, Any]]:
    """The findings of the window's analysis (team findings included unless `codes` leaves them out)."""
    from ownership.findings.codes import TEAM_CODES

    teams = team_facts(read, settings, env) if not codes or TEAM_CODES & set(codes) else None
    return [f.to_dict() for f in read.analysis.findings(codes or None, owner, teams)]


@click.command()
@common_options
@window_options
@click.option("--format", "fmt", type=click.Choice(["table", "json", "csv"]), default="table", show_default=True)
@click.option("--code", "codes", multiple=True, help="Only these finding codes (repeatable).")
@click.option("--owner", help="Only findings of this team.")
@click.option("-o", "--output", type=click.Path(dir_okay=False, path_type=Path), help="Write here, not stdout.")
def findings(config_file: Path | None, db: str | None, catalog: tuple[str, ...], window: str | None,
             start: str | None, end: str | None, env: str | None, include_self: bool, fmt: str,
             codes: tuple[str, ...], owner: str | None, output: Path | None) -> None:
    """List findings: undocumented and orphaned services, stale entries, gaps, objectives, on-call overload."""
    from ownership.findings import ALL_CODES

    unknown = sorted(set(codes) - set(ALL_CODES))
    if unknown:
        raise click.BadParameter(f"unknown code(s) {', '.join(unknown)}; known: {', '.join(ALL_CODES)}",
                                 param_hint="--code")
    settings = make_settings(config_file, db=db, catalog=list(catalog) or None)
    with open_window(settings, window, start, end, env, include_self, objectives=True) as read:
        found = window_findings(settings, read, codes, owner, env)
        window_dict, complete = read.graph.window.as_dict(), read.complete
    if fmt == "json":
        body = {"window": window_dict, "catalog_complete": complete, "findings": found}
        write_output(json.dumps(body, indent=2), output)
    else:
        write_output(tabulate(found, fmt), output)


def tabulate(found: list[dict[str, Any]], fmt: str) -> str:
    """The findings as a plain-text table or CSV (team findings show their team as the owner)."""
    import pandas as pd

    from reports.cells import safe_cell

    rows = [{
        "severity": f["severity"], "code": f["code"], "service": f["service"] or "",
        "owner": f["owner"] or f.get("team") or "",
        "suggested_owner": f["suggested_owners"][0]["team"] if f["suggested_owners"] else "",
        "detail": f["detail"],
    } for f in found]
    frame = pd.DataFrame(rows, columns=COLUMNS)
    if fmt == "csv":
        return frame.map(safe_cell).to_csv(index=False)
    if frame.empty:
        return "no findings\n"
    return frame.to_string(index=False, max_colwidth=80) + "\n"
