"""The weekly report over HTTP."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Query
from fastapi.responses import Response

from api.deps import ApiStateDep
from graph.window import parse_time
from ownership.objectives.evaluate import Limits
from reports import MEDIA_TYPES, render_report
from reports.weekly import build_weekly_report

router = APIRouter(prefix="/api/v1", tags=["reports"])
# The HTML report is self-contained: inline styles, inline SVG, no script at all.
REPORT_CSP = "default-src 'none'; style-src 'unsafe-inline'; img-src data:; frame-ancestors 'none'"


@router.get("/reports/weekly", response_class=Response)
def weekly_report(
    state: ApiStateDep,
    end: Annotated[str | None, Query(max_length=64, description="date or ISO 8601 time; default now")] = None,
    format: Annotated[Literal["md", "html", "csv", "json"], Query()] = "json",
) -> Response:
    """The orphan report of the 7 days before `end` (not recorded in the history: that is the schedule's job)."""
    end_ts = parse_time(end) if end else state.clock()
    weekly = build_weekly_report(state.store, state.catalog.index, end_ts, state.config.owner_attributes,
                                 record=False, oncall=state.config.oncall, catalog_complete=state.catalog.complete,
                                 limits=Limits(state.config.objective_min_calls, state.config.burn_min_calls))
    headers = {"Content-Security-Policy": REPORT_CSP} if format == "html" else None
    return Response(render_report(weekly, format), media_type=MEDIA_TYPES[format], headers=headers)
