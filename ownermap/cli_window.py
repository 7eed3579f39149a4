"""One window of the store joined with the configured catalog, for the commands that read findings."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import click

from ownermap.cli import load_catalog
from ownermap.settings import Settings


@dataclass
class WindowRead:
    """A window's graph and its analysis, with the store still open (closed when the `with` ends)."""

    store: Any
    graph: Any
    analysis: Any
    complete: bool  # whether every live catalog source has synced


@contextmanager
def open_window(settings: Settings, window: str | None, start: str | None, end: str | None, env: str | None,
                include_self: bool = False, objectives: bool = False) -> Iterator[WindowRead]:
    """The graph of a window joined with the configured catalog; with `objectives`, the declared
    objectives are measured at the window's end with the settings' limits (on first need, like `serve`)."""
    from graph.service_graph import ServiceGraph
    from graph.store import open_store
    from graph.window import WindowError, resolve_window
    from ownermap.limits import objective_limits
    from ownership.analysis import OwnershipAnalysis
    from ownership.objectives.board import objective_results

    try:
        span = resolve_window(window, start, end)
    except WindowError as exc:
        raise click.BadParameter(str(exc), param_hint="--window/--start/--end") from None
    store = open_store(settings.db)
    try:
        service_graph = ServiceGraph.from_store(store, span, env or None, include_self)
        source, report = load_catalog(settings)
        index = source.index
        measure = (lambda: objective_results(index, store.inbound, span.end, None, objective_limits(settings))) \
            if objectives else None
        analysis = OwnershipAnalysis(service_graph, index, settings.owner_attributes,
                                     namespaces_seen=store.namespaces(span), objectives=measure)
        if not report.complete:
            click.echo("ownermap: catalog incomplete: a live source has not synced (see catalog_complete)", err=True)
        yield WindowRead(store, service_graph, analysis, report.complete)
    finally:
        store.close()
