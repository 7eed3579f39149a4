"""Calls from callers that never report (DESIGN §2 rule 11) in the store (migration 7).

`unmatched_in_buckets` (5-minute buckets) and `unmatched_in_hours` (their hourly rollups, made by
compaction like the edge and service tables): per (bucket, service, environment) the calls, failed
calls and the server-duration histogram `sh0`…`sh17`, and the service's instrumentation signals
(`unpaired`, `unmatched`, `resolved`: graph.unmatched.SIGNALS).
"""

from __future__ import annotations

from typing import Any

from graph.aggregate import AggregateBatch
from graph.model import Window
from graph.store.schema import HOUR, SERVER_HIST
from graph.store.sql import bucket_range
from graph.unmatched import SIGNALS

TABLES = ("unmatched_in_buckets", "unmatched_in_hours")
KEYS = ["bucket", "service", "environment"]
SUMS = ["calls", "failed", *SERVER_HIST, *SIGNALS]


def _conflict(table: str) -> str:
    return ("ON CONFLICT (bucket, service, environment) DO UPDATE SET "
            + ", ".join(f"{c} = {table}.{c} + excluded.{c}" for c in SUMS))


def unmatched_upsert_sql(placeholder: str) -> str:
    """Add one row into the 5-minute table."""
    values = ", ".join([placeholder] * (len(KEYS) + len(SUMS)))
    return f"INSERT INTO {TABLES[0]} ({', '.join([*KEYS, *SUMS])}) VALUES ({values}) {_conflict(TABLES[0])}"


def unmatched_rows(batch: AggregateBatch) -> list[tuple[Any, ...]]:
    """The rows of one batch, in key order."""
    return sorted((*key, agg.calls, agg.failed, *agg.server_hist, *(getattr(agg, s) for s in SIGNALS))
                  for key, agg in batch.unmatched.items())


def unmatched_rollup_sql(placeholder: str) -> list[str]:
    """Move 5-minute rows older than a cutoff into hourly ones (parameters: (cutoff,) each)."""
    p = placeholder
    columns = ", ".join([*KEYS, *SUMS])
    select = (f"SELECT (bucket / {HOUR}) * {HOUR}, service, environment, "
              + ", ".join(f"SUM({c})" for c in SUMS)
              + f" FROM {TABLES[0]} WHERE bucket < {p} GROUP BY (bucket / {HOUR}) * {HOUR}, service, environment")
    return [f"INSERT INTO {TABLES[1]} ({columns}) {select} {_conflict(TABLES[1])}",
            f"DELETE FROM {TABLES[0]} WHERE bucket < {p}"]


def unmatched_query(placeholder: str, env: str | None) -> str:
    """Per service: calls, failed calls and the SIGNALS of a window from both resolutions
    (parameters: `unmatched_params`)."""
    p = placeholder
    where = f"bucket >= {p} AND bucket < {p}" + (f" AND environment = {p}" if env is not None else "")
    columns = ", ".join(("calls", "failed", *SIGNALS))
    rows = " UNION ALL ".join(f"SELECT service, {columns} FROM {t} WHERE {where}" for t in TABLES)
    sums = ", ".join(f"SUM({c})" for c in ("calls", "failed", *SIGNALS))
    return f"SELECT service, {sums} FROM ({rows}) AS u GROUP BY service"


def unmatched_rows_query(placeholder: str, bucket_seconds: int, env: str | None) -> str:
    """Per service and bucket (not summed): bucket, its length, calls and failed calls of rule 11, from
    both resolutions (parameters: `unmatched_params`)."""
    p = placeholder
    where = f"bucket >= {p} AND bucket < {p} AND calls > 0" + (f" AND environment = {p}" if env is not None else "")
    return " UNION ALL ".join(f"SELECT service, bucket, {seconds}, calls, failed FROM {t} WHERE {where}"
                              for t, seconds in zip(TABLES, (int(bucket_seconds), HOUR), strict=True))


def unmatched_params(window: Window, bucket_seconds: int, env: str | None) -> list[object]:
    """The parameters of `unmatched_query`."""
    params: list[object] = []
    for seconds in (bucket_seconds, HOUR):
        params.extend(bucket_range(window, seconds))
        if env is not None:
            params.append(env)
    return params
