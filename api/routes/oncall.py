"""On-call load per team (DESIGN §3b): `GET /api/v1/oncall`, with what-if moves."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query
from starlette.exceptions import HTTPException

from api.deps import ApiStateDep, GraphQueryDep, ServiceGraphDep
from api.responses import FastJSONResponse
from ownership.oncall import MoveError, validate_moves

router = APIRouter(prefix="/api/v1", tags=["oncall"])
MAX_MOVES = 100

MoveParam = Annotated[
    list[str] | None,
    Query(max_length=600, description="SERVICE=TEAM (repeatable): count SERVICE as TEAM's; nothing is written"),
]


@router.get("/oncall", response_class=FastJSONResponse)
def oncall(
    state: ApiStateDep, graph: ServiceGraphDep, params: GraphQueryDep, move: MoveParam = None
) -> FastJSONResponse:
    """Each team's on-call load over the window: calls, failed, episodes, off-hours episodes,
    rotation, per-member load, who depends on it, overload; 400 naming a bad move."""
    if move and len(move) > MAX_MOVES:
        raise HTTPException(400, f"at most {MAX_MOVES} moves, got {len(move)}")
    try:
        moves = validate_moves(move or (), graph, state.catalog.index)
    except MoveError as exc:
        raise HTTPException(400, str(exc)) from None
    report = state.oncall(graph, params.env, tuple(moves))
    return FastJSONResponse(report.to_dict())
