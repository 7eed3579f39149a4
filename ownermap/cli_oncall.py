"""`ownermap oncall`: each team's on-call load over a window, with what-if moves (DESIGN §3b)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import click

from ownermap.cli import common_options, load_catalog, make_settings, write_output

COLUMNS = ["team", "services", "rotation", "calls", "failed", "episodes", "off_hours", "burn_events",
           "per_member", "depended_on_by", "overloaded"]


@click.command()
@common_options
@click.option("--window", default="28d", show_default=True, help="<N>m, <N>h, <N>d or <N>w.")
@click.option("--end", help="Date or ISO 8601 end of the window (default now).")
@click.option("--env", help="Only this deployment environment.")
@click.option("--move", "moves", multiple=True, metavar="SERVICE=TEAM",
              help="Count SERVICE as TEAM's (repeatable; split at the last '='); nothing is written.")
@click.option("--format", "fmt", type=click.Choice(["table", "json"]), default="table", show_default=True)
@click.option("-o", "--output", type=click.Path(dir_okay=False, path_type=Path), help="Write here, not stdout.")
def oncall(config_file: Path | None, db: str | None, catalog: tuple[str, ...], window: str, end: str | None,
           env: str | None, moves: tuple[str, ...], fmt: str, output: Path | None) -> None:
    """On-call load per team: episodes, off-hours episodes, load per rotation member, overload."""
    from ownership.oncall import MoveError, validate_moves

    settings = make_settings(config_file, db=db, catalog=list(catalog) or None)
    graph, lens, store = _read(settings, window, end, env)
    try:
        try:
            checked = validate_moves(moves, graph, lens.index)
        except MoveError as exc:
            raise click.BadParameter(str(exc), param_hint="--move") from None
        report = _report(settings, graph, lens, store, env, checked)
    finally:
        store.close()
    if fmt == "json":
        write_output(json.dumps(report.to_dict(), indent=2), output)
    else:
        write_output(table(report.to_dict()), output)


def _read(settings: Any, window: str, end: str | None, env: str | None) -> tuple[Any, Any, Any]:
    """The window's graph, the catalog's lens and the open store."""
    from graph.service_graph import ServiceGraph
    from graph.store import open_store
    from graph.window import WindowError, resolve_window
    from ownership.lens import CatalogLens

    try:
        span = resolve_window(window, None, end)
    except WindowError as exc:
        raise click.BadParameter(str(exc), param_hint="--window/--end") from None
    source, _ = load_catalog(settings)
    store = open_store(settings.db)
    return ServiceGraph.from_store(store, span, env or None, False), CatalogLens(source.index), store


def _report(settings: Any, graph: Any, lens: Any, store: Any, env: str | None, moves: list[Any]) -> Any:
    from ownermap.limits import oncall_settings
    from ownership.objectives.board import objective_results, team_trouble_counts
    from ownership.oncall import oncall_report, read_oncall

    config = oncall_settings(settings)
    burning = team_trouble_counts(objective_results(lens.index, store.inbound, graph.window.end, env or None),
                                  {m.service: m.team for m in moves})
    return oncall_report(graph, lens, read_oncall(store, graph.window, env or None, config), config, moves, burning)


def table(body: dict[str, Any]) -> str:
    """A plain-text table of the teams, heaviest load per member first."""
    import pandas as pd

    rows = [{
        "team": t["team"], "services": len(t["services"]),
        "rotation": f"{t['rotation']['size']}{'' if t['rotation']['declared'] else ' (undeclared)'}",
        "calls": t["calls"], "failed": t["failed"], "episodes": t["episodes"], "off_hours": t["off_hours_episodes"],
        "burn_events": t["burn_events"], "per_member": "-" if t["per_member"] is None else t["per_member"],
        "depended_on_by": ", ".join(t["depended_on_by"]), "overloaded": "yes" if t["overloaded"] else "",
    } for t in sorted(body["teams"], key=lambda t: (-(t["per_member"] or 0), t["team"]))]
    if not rows:
        return "no teams declared\n"
    moved = "".join(f"what-if: {m['service']} -> {m['team']}\n" for m in body["moves"])
    return moved + pd.DataFrame(rows, columns=COLUMNS).to_string(index=False, max_colwidth=60) + "\n"
