"""`ownermap objectives`: declared objectives against what the traces show (DESIGN §3a)."""

from __future__ import annotations

import json
from pathlib import Path

import click

from ownermap.cli import common_options, load_catalog, make_settings, write_output

COLUMNS = ["status", "service", "name", "owner", "sli", "target", "observed", "budget_remaining", "burn_1h",
           "total", "estimated", "source"]


@click.command("objectives")
@common_options
@click.option("--end", help="Date or ISO 8601 time the windows end (default now).")
@click.option("--env", help="Only this deployment environment (default: all).")
@click.option("--format", "fmt", type=click.Choice(["table", "json", "csv"]), default="table", show_default=True)
@click.option("-o", "--output", type=click.Path(dir_okay=False, path_type=Path), help="Write here, not stdout.")
def objectives(config_file: Path | None, db: str | None, catalog: tuple[str, ...], end: str | None,
               env: str | None, fmt: str, output: Path | None) -> None:
    """Each declared objective over its own window: observed, budget left, burn rates, status."""
    import time

    import pandas as pd

    from graph.store import open_store
    from graph.window import WindowError, parse_time
    from ownermap.limits import objective_limits
    from ownership.objectives.board import objective_results
    from reports.cells import safe_cell

    settings = make_settings(config_file, db=db, catalog=list(catalog) or None)
    try:
        end_ts = parse_time(end) if end else time.time()
    except WindowError as exc:
        raise click.BadParameter(str(exc), param_hint="--end") from None
    source, _ = load_catalog(settings)
    store = open_store(settings.db)
    try:
        results = objective_results(source.index, store.inbound, end_ts, env or None,
                                    objective_limits(settings))
    finally:
        store.close()
    found = [r.to_dict() for r in results]
    if fmt == "json":
        write_output(json.dumps({"objectives": found}, indent=2) + "\n", output)
        return
    rows = [{**{k: o[k] for k in COLUMNS if k in o}, "burn_1h": o["burn_rates"]["1h"]} for o in found]
    frame = pd.DataFrame(rows, columns=COLUMNS)
    if fmt == "csv":
        write_output(frame.map(safe_cell).to_csv(index=False), output)
    elif frame.empty:
        write_output("no objectives declared\n", output)
    else:
        write_output(frame.to_string(index=False, max_colwidth=60) + "\n", output)
