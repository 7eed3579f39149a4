"""The `ownermap` command line (click). Every flag also reads `OWNERMAP_<NAME>` and the YAML config."""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import click
from pydantic import ValidationError

from ownermap.settings import Settings, load_settings

F = TypeVar("F", bound=Callable[..., Any])


def common_options(func: F) -> F:
    """--config, --db and --catalog, shared by every command."""
    func = click.option("--catalog", "catalog", multiple=True, metavar="PATH",
                        help="Catalog file or directory (repeatable). [env OWNERMAP_CATALOG]")(func)
    func = click.option("--db", metavar="URL",
                        help="sqlite:///PATH (default sqlite:///ownermap.db) or postgresql://… [env OWNERMAP_DB]")(func)
    func = click.option("--config", "config_file", type=click.Path(dir_okay=False, path_type=Path),
                        help="YAML config file with the same keys as the settings.")(func)
    return func


def window_options(func: F) -> F:
    """--window / --start / --end / --env / --include-self."""
    func = click.option("--include-self", is_flag=True, help="Include self-calls (A → A).")(func)
    func = click.option("--env", help="Only this deployment environment.")(func)
    func = click.option("--end", help="ISO 8601 end of the window (default now).")(func)
    func = click.option("--start", help="ISO 8601 start (instead of --window).")(func)
    func = click.option("--window", help="<N>m, <N>h, <N>d or <N>w (default 7d).")(func)
    return func


def make_settings(config_file: Path | None, **overrides: Any) -> Settings:
    """Settings from file, environment and flags, or a clean usage error."""
    try:
        return load_settings(config_file, **overrides)
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in e['loc']) or 'settings'}: {e['msg']}" for e in exc.errors()
        )
        raise click.UsageError(f"invalid settings: {problems}") from None
    except (ValueError, OSError) as exc:
        raise click.UsageError(str(exc)) from None


def write_output(text: str, output: Path | None) -> None:
    """Write to -o PATH, or stdout."""
    if output is None:
        click.echo(text, nl=not text.endswith("\n"))
    else:
        output.write_text(text, encoding="utf-8")


def load_catalog(settings: Settings) -> tuple[Any, Any]:
    """The configured catalog (files and live sources, with their settings), loaded once; its errors
    said on stderr. Returns the source and its load report."""
    from ownermap.wiring import build_catalog

    source = build_catalog(settings)
    report = source.reload(log_errors=False)
    for error in report.errors:
        click.echo(f"ownermap: catalog: {error}", err=True)
    return source, report


@click.group(context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.version_option(package_name="ownermap")
def main() -> None:
    """ownermap: turn OpenTelemetry traces into a service ownership map."""


@main.command()
@common_options
@click.option("--otlp-grpc", metavar="HOST:PORT", help="OTLP/gRPC listener (default localhost:4317).")
@click.option("--otlp-http", metavar="HOST:PORT", help="OTLP/HTTP listener (default localhost:4318).")
@click.option("--api", metavar="HOST:PORT", help="API and UI listener (default localhost:8080).")
@click.option("--pairing-ttl", type=float, metavar="SECONDS", help="How long spans wait for their other half.")
@click.option("--role", type=click.Choice(["all", "ingest", "api"]), help="Which parts to run (default all).")
def serve(config_file: Path | None, db: str | None, catalog: tuple[str, ...], otlp_grpc: str | None,
          otlp_http: str | None, api: str | None, pairing_ttl: float | None, role: str | None) -> None:
    """Receive OTLP traces and serve the API and UI."""
    from ownermap.server import serve as run_server

    settings = make_settings(config_file, db=db, catalog=list(catalog) or None, otlp_grpc=otlp_grpc,
                             otlp_http=otlp_http, api=api, pairing_ttl=pairing_ttl, role=role)
    run_server(settings)


@main.command()
@common_options
@click.option("--otlp-grpc", metavar="HOST:PORT", help="OTLP/gRPC listener (default localhost:4317).")
@click.option("--otlp-http", metavar="HOST:PORT", help="OTLP/HTTP listener (default localhost:4318).")
@click.option("--api", metavar="HOST:PORT", help="API and UI listener (default localhost:8080).")
@click.option("--pairing-ttl", type=float, metavar="SECONDS", help="How long spans wait for their other half.")
@click.option("--role", type=click.Choice(["all"]), help="The demo always runs every part.")
@click.option("--rate", type=click.FloatRange(0.1, 200), default=5.0, show_default=True,
              help="Simulated shop requests per second.")
def demo(config_file: Path | None, db: str | None, catalog: tuple[str, ...], otlp_grpc: str | None,
         otlp_http: str | None, api: str | None, pairing_ttl: float | None, role: str | None, rate: float) -> None:
    """Serve with a sample catalog and generated shop traffic (a throwaway database unless --db)."""
    import importlib.util
    import tempfile

    from ownermap.server import Listening
    from ownermap.server import serve as run_server

    if importlib.util.find_spec("opentelemetry.sdk") is None:
        raise click.ClickException("the demo sends its traffic with the OpenTelemetry SDK: "
                                   "pip install 'ownermap[demo]'")
    demo_catalog = str(Path(__file__).resolve().parent / "demo" / "catalog")
    workspace = tempfile.TemporaryDirectory(prefix="ownermap-demo-", ignore_cleanup_errors=True)
    workdir = workspace.name
    settings = make_settings(config_file, db=db or f"sqlite:///{workdir}/demo.db",
                             catalog=[demo_catalog, *catalog], otlp_grpc=otlp_grpc, otlp_http=otlp_http, api=api,
                             pairing_ttl=pairing_ttl if pairing_ttl is not None else 2.0)
    traffic: list[Any] = []

    def start_traffic(listening: Listening) -> None:
        from ownermap.demo.traffic import ShopTraffic

        shop = ShopTraffic(str(listening.grpc), rate_per_second=rate)
        shop.start()
        traffic.append(shop)
        click.echo(f"\n  ownermap demo is running: open http://{listening.api}/  (Ctrl-C to stop)\n", err=True)

    def stop_traffic() -> None:
        for shop in traffic:
            shop.stop()

    with workspace:  # the throwaway database goes when the demo stops
        run_server(settings, on_ready=start_traffic, on_stop=stop_traffic)


@main.command()
@common_options
@click.argument("files", nargs=-1, required=True, metavar="FILE...")
@click.option("--pairing-ttl", type=float, metavar="SECONDS", help="How long spans wait for their other half.")
def ingest(config_file: Path | None, db: str | None, catalog: tuple[str, ...], files: tuple[str, ...],
           pairing_ttl: float | None) -> None:
    """Import trace files: OTLP JSON / JSON lines / protobuf, Jaeger or Zipkin JSON (- = stdin).

    A file that cannot be read is reported and skipped; the exit status is 1 if any was."""
    import time

    from collector.files import TraceFileError, read_trace_file
    from collector.span_times import SpanTimeRange
    from graph.store import open_store
    from ownermap.wiring import build_pipeline

    settings = make_settings(config_file, db=db, catalog=list(catalog) or None, pairing_ttl=pairing_ttl)
    store = open_store(settings.db)
    # Files are read as fast as the disk allows: spans wait for their other half until the end
    # of the import (bounded by max_pending), not for a wall-clock TTL.
    pipeline = build_pipeline(settings, store, clock=lambda: 0.0)
    span_times = SpanTimeRange(settings.span_age_limit_days, settings.max_span_future_seconds)
    spans = rejected = 0
    failed = False
    try:
        for path in files:
            try:
                size = 0 if path == "-" else os.path.getsize(path)
            except OSError as exc:
                click.echo(f"ownermap: {path}: cannot open: {exc.strerror}", err=True)
                failed = True
                continue
            show = sys.stderr.isatty() and size > 4 * 1024 * 1024
            with click.progressbar(length=size, label=path, file=sys.stderr, hidden=not show) as bar:
                try:
                    for result in read_trace_file(path, settings.owner_attributes, progress=bar.update,
                                                  max_bytes=settings.max_ingest_file_bytes):
                        span_times.apply(result, time.time())
                        pipeline.ingest(result.spans)
                        spans += len(result.spans)
                        rejected += result.rejected
                        for reason in result.errors:
                            click.echo(f"ownermap: {path}: rejected span: {reason}", err=True)
                        for warning in result.warnings:
                            click.echo(f"ownermap: {path}: {warning}", err=True)
                        pipeline.flush()
                except TraceFileError as exc:
                    click.echo(f"ownermap: {exc}", err=True)
                    failed = True
        pipeline.finish()
    finally:
        store.close()
    stats = pipeline.detector.stats
    click.echo(
        f"ingested {spans} spans from {len(files)} file(s): {stats.calls} calls, {rejected} spans rejected, "
        f"{stats.unpaired} unpaired, {stats.unmatched} unmatched",
        err=True,
    )
    if failed:
        sys.exit(1)


def _analyse(settings: Settings, window: str | None, start: str | None, end: str | None, env: str | None,
             include_self: bool = False) -> tuple[Any, Any, bool]:
    """The graph of a window joined with the configured catalog, and whether the catalog is complete."""
    from ownermap.cli_window import open_window

    with open_window(settings, window, start, end, env, include_self) as read:
        return read.graph, read.analysis, read.complete


@main.command()
@common_options
@window_options
@click.option("--format", "fmt", type=click.Choice(["json", "dot", "graphml", "mermaid", "cytoscape"]),
              default="json", show_default=True)
@click.option("-o", "--output", type=click.Path(dir_okay=False, path_type=Path), help="Write here, not stdout.")
def graph(config_file: Path | None, db: str | None, catalog: tuple[str, ...], window: str | None,
          start: str | None, end: str | None, env: str | None, include_self: bool, fmt: str,
          output: Path | None) -> None:
    """Print the service dependency graph of a window."""
    from api.views import export_graph, graph_edges, graph_nodes

    settings = make_settings(config_file, db=db, catalog=list(catalog) or None)
    service_graph, analysis, _ = _analyse(settings, window, start, end, env, include_self)
    nodes, edges = graph_nodes(service_graph, analysis), graph_edges(service_graph)
    if fmt == "json":
        text = json.dumps({"window": service_graph.window.as_dict(), "nodes": nodes, "edges": edges}, indent=2)
    else:
        text = export_graph(service_graph, nodes, edges, fmt, indent=2)
    write_output(text, output)


@main.group()
def report() -> None:
    """Reports on orphaned services."""


@report.command("weekly")
@common_options
@click.option("--end", help="Date or ISO 8601 time the week ends (default now); the window is the 7 days before.")
@click.option("--format", "fmt", type=click.Choice(["md", "html", "csv", "json"]), default="md", show_default=True)
@click.option("-o", "--output", type=click.Path(dir_okay=False, path_type=Path), help="Write here, not stdout.")
@click.option("--webhook", metavar="URL", help="Also POST the report here. [env OWNERMAP_REPORT_WEBHOOK]")
@click.option("--webhook-format", type=click.Choice(["slack", "json"]), help="Message shape for --webhook.")
@click.option("--no-record", is_flag=True, help="Do not remember this run's findings in the history.")
def report_weekly(config_file: Path | None, db: str | None, catalog: tuple[str, ...], end: str | None, fmt: str,
                  output: Path | None, webhook: str | None, webhook_format: str | None, no_record: bool) -> None:
    """The weekly orphan-service report: risk-ranked, week over week, per team."""
    from graph.store import open_store
    from graph.window import WindowError, parse_time
    from ownermap.limits import objective_limits, oncall_settings
    from reports.deliver import DeliveryError
    from reports.run import Delivery, run_weekly_report

    settings = make_settings(config_file, db=db, catalog=list(catalog) or None, report_webhook=webhook,
                             report_webhook_format=webhook_format)
    try:
        end_ts = parse_time(end) if end else None
    except WindowError as exc:
        raise click.BadParameter(str(exc), param_hint="--end") from None
    source, _ = load_catalog(settings)
    store = open_store(settings.db)
    delivery = Delivery(fmt=fmt, output=output, webhook=settings.report_webhook,
                        webhook_format=settings.report_webhook_format,
                        webhook_attempts=settings.report_webhook_attempts)
    try:
        run_weekly_report(store, source.index, end_ts, settings.owner_attributes, delivery,
                          record=not no_record, show=lambda text: write_output(text, None),
                          catalog_complete=source.complete, oncall=oncall_settings(settings),
                          limits=objective_limits(settings))
    except DeliveryError as exc:
        click.echo(f"ownermap: {exc}", err=True)
        sys.exit(1)
    finally:
        store.close()


@main.group()
def catalog() -> None:
    """Work with catalog files."""


@catalog.command("validate")
@common_options
@click.argument("paths", nargs=-1)
def catalog_validate(config_file: Path | None, db: str | None, catalog: tuple[str, ...],
                     paths: tuple[str, ...]) -> None:
    """Check catalog files (PATHs, else the configured catalog) and sync live sources; exits non-zero on errors
    naming file and field, or when a live source cannot be read whole."""
    from ownermap.wiring import build_catalog

    settings = make_settings(config_file, db=db, catalog=list(catalog) or None)
    targets = [*paths, *settings.catalog] if paths else list(settings.catalog)
    if not targets:
        raise click.UsageError("give catalog PATHs (or --catalog / OWNERMAP_CATALOG)")
    loaded = build_catalog(settings.model_copy(update={"catalog": targets})).reload(log_errors=False)
    for warning in loaded.warnings:
        click.echo(f"warning: {warning}", err=True)
    failed = [f"{s.source}: {e}" for s in loaded.sources for e in s.errors]
    for error in [*map(str, loaded.errors), *failed]:
        click.echo(f"error: {error}", err=True)
    counts = ", ".join(f"{n} {kind}" for kind, n in sorted(loaded.counts.items())) or "no entities"
    click.echo(f"{loaded.files} file(s): {counts}; {len(loaded.errors) + len(failed)} error(s), "
               f"{len(loaded.warnings)} warning(s)")
    if loaded.errors or failed:
        sys.exit(1)


@catalog.command("scaffold")
@common_options
@window_options
@click.argument("service")
@click.option("-o", "--output", type=click.Path(dir_okay=False, path_type=Path), help="Write here, not stdout.")
def catalog_scaffold(config_file: Path | None, db: str | None, catalog: tuple[str, ...], window: str | None,
                     start: str | None, end: str | None, env: str | None, include_self: bool, service: str,
                     output: Path | None) -> None:
    """Print a ready catalog-info.yaml for a service seen in telemetry."""
    settings = make_settings(config_file, db=db, catalog=list(catalog) or None)
    service_graph, analysis, _ = _analyse(settings, window, start, end, env, include_self)
    if not service_graph.has_node(service):
        raise click.BadParameter(f"{service!r} was not seen in the window", param_hint="SERVICE")
    write_output(analysis.scaffold(service), output)


from ownermap.cli_findings import findings  # noqa: E402 - it builds on the options defined above

main.add_command(findings)
from ownermap.cli_objectives import objectives  # noqa: E402 - it builds on the options defined above

main.add_command(objectives)
from ownermap.cli_oncall import oncall  # noqa: E402 - the command module uses the helpers above

main.add_command(oncall)

if __name__ == "__main__":  # pragma: no cover
    main()
