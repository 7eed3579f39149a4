"""Declared objectives against what the traces show (DESIGN §3a, §4 `GET /api/v1/objectives`)."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Query

from api.deps import ApiStateDep
from api.responses import FastJSONResponse
from graph.model import Window
from graph.window import parse_time
from ownership.objectives.board import filter_results

router = APIRouter(prefix="/api/v1", tags=["objectives"])
Status = Literal["met", "breached", "burning", "insufficient_data", "unmatched"]


@router.get("/objectives", response_class=FastJSONResponse)
def list_objectives(
    state: ApiStateDep,
    service: Annotated[str | None, Query(max_length=256, description="only this service's objectives")] = None,
    owner: Annotated[str | None, Query(max_length=256, description="only this team's objectives")] = None,
    status: Annotated[Status | None, Query(description="only objectives with this status")] = None,
    end: Annotated[str | None, Query(max_length=64, description="date or ISO 8601 time; default now")] = None,
    env: Annotated[str | None, Query(max_length=256, description="deployment environment; default all")] = None,
) -> FastJSONResponse:
    """Every declared objective over its own window ending at `end`: observed, budget, burn, status."""
    end_ts = parse_time(end) if end else state.clock()
    results = filter_results(state.objectives(end_ts, env or None), service=service, owner=owner, status=status)
    body = {"end": Window(end_ts, end_ts).as_dict()["end"], "objectives": [r.to_dict() for r in results]}
    return FastJSONResponse(body)
