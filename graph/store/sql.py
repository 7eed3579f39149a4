"""SQL text shared by both engines: upserts that add, the hourly rollup, and window sums."""

from __future__ import annotations

from graph.aggregate import MAX_NAMESPACES
from graph.model import MAX_EXEMPLARS, Window
from graph.store.schema import EDGE_COLUMNS, EDGE_KEY_COLUMNS, EDGE_SUM_COLUMNS, HOUR, SEQ, SERVICE_COLUMNS

_EXEMPLARS_CHARS = MAX_EXEMPLARS * 33 - 1  # five 32-hex ids joined by commas


def _seen_clause(table: str) -> str:
    return (
        f"first_seen = CASE WHEN excluded.first_seen < {table}.first_seen "
        f"THEN excluded.first_seen ELSE {table}.first_seen END, "
        f"last_seen = CASE WHEN excluded.last_seen > {table}.last_seen "
        f"THEN excluded.last_seen ELSE {table}.last_seen END"
    )


def _edge_conflict(table: str) -> str:
    """ON CONFLICT that adds counters, keeps the earliest first_seen, the latest last_seen."""
    sums = ", ".join(f"{c} = {table}.{c} + excluded.{c}" for c in EDGE_SUM_COLUMNS)
    return (
        f"ON CONFLICT ({', '.join(EDGE_KEY_COLUMNS)}) DO UPDATE SET {sums}, {_seen_clause(table)}, seq = excluded.seq, "
        f"exemplars = CASE WHEN {table}.exemplars = '' THEN excluded.exemplars "
        f"WHEN length({table}.exemplars) >= {_EXEMPLARS_CHARS} THEN {table}.exemplars "
        f"ELSE substr({table}.exemplars || ',' || excluded.exemplars, 1, {_EXEMPLARS_CHARS}) END"
    )


def _service_conflict(table: str) -> str:
    return (
        f"ON CONFLICT (bucket, service, environment) DO UPDATE SET "
        f"spans = {table}.spans + excluded.spans, error_spans = {table}.error_spans + excluded.error_spans, "
        f"{_seen_clause(table)}, seq = excluded.seq"
    )


def edge_upsert_sql(placeholder: str) -> str:
    """INSERT … ON CONFLICT into the 5-minute edge buckets (adding)."""
    columns = [*EDGE_COLUMNS, SEQ]
    values = ", ".join([placeholder] * len(columns))
    return f"INSERT INTO edge_buckets ({', '.join(columns)}) VALUES ({values}) {_edge_conflict('edge_buckets')}"


def service_upsert_sql(placeholder: str) -> str:
    """INSERT … ON CONFLICT into the 5-minute service buckets (adding)."""
    columns = [*SERVICE_COLUMNS, SEQ]
    values = ", ".join([placeholder] * len(columns))
    return (
        f"INSERT INTO service_buckets ({', '.join(columns)}) VALUES ({values}) "
        f"{_service_conflict('service_buckets')}"
    )


def rollup_sql(placeholder: str) -> list[str]:
    """Move 5-minute buckets older than a cutoff into hourly ones (run in one transaction).

    Parameters of each statement: (seq, cutoff) for the inserts, (cutoff,) for the deletes.
    """
    p = placeholder
    edge_keys = ", ".join(EDGE_KEY_COLUMNS[1:])
    edge_select = (
        f"SELECT (bucket / {HOUR}) * {HOUR}, {edge_keys}, MIN(client_kind), MIN(server_kind), "
        + ", ".join(f"SUM({c})" for c in EDGE_SUM_COLUMNS)
        + f", MIN(first_seen), MAX(last_seen), MAX(exemplars), {p} FROM edge_buckets WHERE bucket < {p} "
        + f"GROUP BY (bucket / {HOUR}) * {HOUR}, {edge_keys}"
    )
    service_select = (
        f"SELECT (bucket / {HOUR}) * {HOUR}, service, environment, SUM(spans), SUM(error_spans), "
        f"MIN(first_seen), MAX(last_seen), {p} FROM service_buckets WHERE bucket < {p} "
        f"GROUP BY (bucket / {HOUR}) * {HOUR}, service, environment"
    )
    return [
        f"INSERT INTO edge_hours ({', '.join([*EDGE_COLUMNS, SEQ])}) {edge_select} {_edge_conflict('edge_hours')}",
        f"DELETE FROM edge_buckets WHERE bucket < {p}",
        f"INSERT INTO service_hours ({', '.join([*SERVICE_COLUMNS, SEQ])}) {service_select} "
        f"{_service_conflict('service_hours')}",
        f"DELETE FROM service_buckets WHERE bucket < {p}",
    ]


def namespace_insert_sql(placeholder: str) -> str:
    """Note one (bucket, service, namespace) unless the pair already has MAX_NAMESPACES of them
    (parameters: bucket, service, namespace, bucket, service)."""
    p = placeholder
    return (
        f"INSERT INTO service_namespaces (bucket, service, namespace) SELECT {p}, {p}, {p} "
        f"WHERE (SELECT COUNT(*) FROM service_namespaces WHERE bucket = {p} AND service = {p}) < {MAX_NAMESPACES} "
        "ON CONFLICT (bucket, service, namespace) DO NOTHING"
    )


def namespace_rollup_sql(placeholder: str) -> list[str]:
    """Move the namespaces of 5-minute buckets older than a cutoff into hourly ones, at most
    MAX_NAMESPACES per service and hour counting those already there (parameters: (cutoff,) each)."""
    p = placeholder
    hour = f"(bucket / {HOUR}) * {HOUR}"
    ranked = (
        "SELECT hour, service, namespace, ROW_NUMBER() OVER (PARTITION BY hour, service ORDER BY namespace) AS n "
        f"FROM (SELECT DISTINCT {hour} AS hour, service, namespace FROM service_namespaces WHERE bucket < {p}) AS f"
    )
    return [
        "INSERT INTO service_namespace_hours (bucket, service, namespace) "
        f"SELECT r.hour, r.service, r.namespace FROM ({ranked}) AS r "
        f"WHERE r.n + (SELECT COUNT(*) FROM service_namespace_hours h "
        f"WHERE h.bucket = r.hour AND h.service = r.service) <= {MAX_NAMESPACES} "
        "ON CONFLICT (bucket, service, namespace) DO NOTHING",
        f"DELETE FROM service_namespaces WHERE bucket < {p}",
    ]


def namespaces_query(placeholder: str) -> str:
    """The distinct (service, namespace) pairs of a window (parameters: window_params without env)."""
    rows = both_resolutions("service_namespaces", "service_namespace_hours", ["service", "namespace"],
                            placeholder, None)
    return f"SELECT DISTINCT service, namespace FROM ({rows}) AS w"


def hints_upsert_sql(placeholder: str) -> str:
    """The most recent resource hints of a service win."""
    p = placeholder
    return (
        f"INSERT INTO service_hints (service, hints, updated) VALUES ({p}, {p}, {p}) "
        "ON CONFLICT (service) DO UPDATE SET hints = excluded.hints, updated = excluded.updated "
        "WHERE excluded.updated >= service_hints.updated"
    )


def both_resolutions(fine: str, hourly: str, columns: list[str], placeholder: str, env: str | None) -> str:
    """Rows of a window from the 5-minute table and the hourly table (each fact lives in one)."""
    p = placeholder
    env_clause = f" AND environment = {p}" if env is not None else ""
    cols = ", ".join(columns)
    return (
        f"SELECT {cols} FROM {fine} WHERE bucket >= {p} AND bucket < {p}{env_clause} "
        f"UNION ALL SELECT {cols} FROM {hourly} WHERE bucket >= {p} AND bucket < {p}{env_clause}"
    )


def edge_query(placeholder: str, env: str | None) -> str:
    """Edges summed over the buckets of a window (parameters: window_params twice)."""
    rows = both_resolutions("edge_buckets", "edge_hours", EDGE_COLUMNS, placeholder, env)
    return (
        "SELECT client, server, connection_type, MIN(client_kind), MIN(server_kind), "
        + ", ".join(f"SUM({c})" for c in EDGE_SUM_COLUMNS)
        + f", MIN(first_seen), MAX(last_seen), MAX(exemplars) FROM ({rows}) AS w "
        + "GROUP BY client, server, connection_type"
    )


def service_query(placeholder: str, env: str | None) -> str:
    """Services summed over the buckets of a window (parameters: window_params twice)."""
    rows = both_resolutions("service_buckets", "service_hours", SERVICE_COLUMNS, placeholder, env)
    return (
        "SELECT service, SUM(spans), SUM(error_spans), MIN(first_seen), MAX(last_seen) "
        f"FROM ({rows}) AS w GROUP BY service"
    )


def bucket_range(window: Window, bucket_seconds: int) -> tuple[int, int]:
    """Bucket starts covering [window.start, window.end)."""
    start = int(window.start // bucket_seconds) * bucket_seconds
    return start, int(window.end)


def window_params(window: Window, bucket_seconds: int, env: str | None) -> list[object]:
    """Parameters of edge_query/service_query: the fine range, then the hourly range."""
    fine = list(bucket_range(window, bucket_seconds))
    hourly = list(bucket_range(window, HOUR))
    if env is not None:
        return [*fine, env, *hourly, env]
    return [*fine, *hourly]
