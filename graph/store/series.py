"""Calls into each service per store bucket: the series objectives (§3a) and on-call load (§3b) read.

Unlike the window sums (`edge_query`), these keep the buckets apart (5 minutes within the last day,
1 hour beyond), summed over clients, connection types and environments (unless one is asked for).
Self-calls are left out; calls from callers that never report (DESIGN §2 rule 11) are added in.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from graph.model import Window
from graph.store.schema import HOUR, SERVER_HIST
from graph.store.sql import bucket_range


@dataclass(frozen=True, slots=True)
class InboundBucket:
    """Calls into one service during one store bucket."""

    service: str
    bucket: int  # the bucket's start, Unix seconds
    seconds: int  # the bucket's length: the store's fine bucket (300) or an hour
    calls: int
    failed: int
    server_hist: tuple[int, ...]  # server durations per graph.model.LATENCY_BUCKETS (+Inf last)

    @property
    def end(self) -> int:
        """The bucket's end, Unix seconds."""
        return self.bucket + self.seconds


def _inbound_rows(placeholder: str, bucket_seconds: int, env: str | None, service: str | None,
                  columns: Sequence[str], edges: bool = True) -> str:
    """The rows of calls into services in a window, from both resolutions, the calls from callers that
    never report included (rule 11, the unmatched_in tables), self-calls left out; only rule 11's rows
    when not `edges`."""
    p = placeholder
    filters = f"bucket >= {p} AND bucket < {p}"
    if env is not None:
        filters += f" AND environment = {p}"
    listed = ", ".join(columns)
    parts = []
    for table, unmatched, seconds in (("edge_buckets", "unmatched_in_buckets", int(bucket_seconds)),
                                      ("edge_hours", "unmatched_in_hours", HOUR)):
        target = f" AND server = {p}" if service is not None else ""
        if edges:
            parts.append(f"SELECT server AS service, bucket, {seconds} AS seconds, {listed} FROM {table} "
                         f"WHERE {filters} AND client <> server{target}")
        target = f" AND service = {p}" if service is not None else ""
        parts.append(f"SELECT service, bucket, {seconds} AS seconds, {listed} FROM {unmatched} "
                     f"WHERE {filters} AND calls > 0{target}")
    return " UNION ALL ".join(parts)


def inbound_query(placeholder: str, bucket_seconds: int, env: str | None, service: str | None,
                  cuts: Sequence[int] | None = None, edges: bool = True) -> str:
    """Per (service, bucket) sums of calls into services (parameters: `inbound_params`, or
    `range_params` with the same `edges`); only rule 11's calls when not `edges`.

    With `cuts` (bucket starts, ascending; see `window_cuts`), the buckets between two cuts are summed
    into one row per service instead, with the earliest bucket in it and the segment's number."""
    columns = ("calls", "failed", *SERVER_HIST)
    sums = ", ".join(f"SUM({c})" for c in columns)
    rows = _inbound_rows(placeholder, bucket_seconds, env, service, columns, edges)
    if cuts is not None:
        # Cuts are integers (window_cuts), never text from a request: written into the SQL as such.
        whens = " ".join(f"WHEN bucket >= {int(c)} THEN {i + 1}" for i, c in reversed(list(enumerate(cuts))))
        segment = f"CASE {whens} ELSE 0 END" if cuts else "0"
        return (f"SELECT service, MIN(bucket), {segment} AS segment, {sums} FROM ({rows}) AS i "
                "GROUP BY service, segment")
    return f"SELECT service, bucket, seconds, {sums} FROM ({rows}) AS i GROUP BY service, bucket, seconds"


def failing_query(placeholder: str, bucket_seconds: int, env: str | None, hourly: bool) -> str:
    """Per service and bucket (or hour, `hourly`: 5-minute buckets summed into their hour), calls and
    failed calls where the failed ones reach a count and a share of the calls (parameters:
    `inbound_params` then the least failed count and share)."""
    p = placeholder
    rows = _inbound_rows(placeholder, bucket_seconds, env, None, ("calls", "failed"))
    slot, seconds = (f"(bucket / {HOUR}) * {HOUR}", str(HOUR)) if hourly else ("bucket", "seconds")
    return (f"SELECT service, {slot} AS slot, {seconds} AS length, SUM(calls), SUM(failed) FROM ({rows}) AS i "
            f"GROUP BY service, slot, length HAVING SUM(calls) > 0 AND SUM(failed) >= {p} "
            f"AND SUM(failed) >= CAST({p} AS DOUBLE PRECISION) * SUM(calls)")


def inbound_params(window: Window, bucket_seconds: int, env: str | None, service: str | None) -> list[object]:
    """The parameters of `inbound_query` for a window."""
    return range_params(bucket_range(window, bucket_seconds), bucket_range(window, HOUR), env, service)


def range_params(fine: tuple[int, int], hours: tuple[int, int], env: str | None, service: str | None,
                 edges: bool = True) -> list[object]:
    """The parameters of `inbound_query` (or `failing_query`, thresholds appended) for explicit bucket
    ranges of each resolution (an empty range reads nothing): lets a reader sum them apart."""
    params: list[object] = []
    for bounds in (fine, hours):
        one = [*bounds, *([env] if env is not None else []), *([service] if service is not None else [])]
        params.extend(one * (2 if edges else 1))  # the edge table, then the unmatched_in table
    return params


def inbound_buckets(rows: list[tuple[object, ...]]) -> list[InboundBucket]:
    """Records from the rows of `inbound_query` (or `failing_query`: no histogram), oldest bucket first
    (then by service, then the shorter first)."""
    out = [
        InboundBucket(str(r[0]), int(r[1]), int(r[2]), int(r[3]), int(r[4]), tuple(int(v) for v in r[5:]))
        for r in rows
    ]
    out.sort(key=lambda b: (b.bucket, b.service, b.seconds))
    return out


def window_cuts(window: Window, cuts: Sequence[float], bucket_seconds: int) -> list[int]:
    """The cuts strictly inside the window, each moved down to the start of its bucket, ascending
    without repeats (a cut thus never splits a bucket)."""
    first = int(window.start // bucket_seconds) * bucket_seconds
    aligned = {int(c // bucket_seconds) * bucket_seconds for c in cuts}
    return sorted(c for c in aligned if first < c < window.end)


def segment_buckets(rows: list[tuple[object, ...]], cuts: Sequence[int], end: int) -> list[InboundBucket]:
    """Records from the rows of `inbound_query` with cuts: each spans from its earliest bucket to the
    next cut (the last one to `end`), oldest first."""
    bounds = [*cuts, end]
    out = []
    for r in rows:
        start = int(r[1])
        out.append(InboundBucket(str(r[0]), start, bounds[int(r[2])] - start, int(r[3]), int(r[4]),
                                 tuple(map(int, r[5:]))))
    out.sort(key=lambda b: (b.bucket, b.service, b.seconds))
    return out
