"""Liveness, readiness and Prometheus metrics (open even when a token is set)."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import PlainTextResponse, Response
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from api.deps import ApiStateDep
from api.problems import problem

router = APIRouter(tags=["health"])


@router.get("/healthz")
async def healthz() -> dict[str, str]:
    """The process is alive: answered on the API's event loop itself, touching neither the store nor a
    worker thread, so busy workers cannot make a liveness probe time out."""
    return {"status": "ok"}


@router.get("/readyz", response_model=None)
def readyz(state: ApiStateDep) -> dict[str, str] | Response:
    """The store can be reached."""
    try:
        state.store.ping()
    except Exception as exc:
        return problem(503, f"store unreachable: {exc}")
    return {"status": "ready"}


@router.get("/metrics", response_class=PlainTextResponse)
def metrics(state: ApiStateDep) -> Response:
    """Prometheus exposition of ownermap's own counters."""
    registry = state.metric_sources.get("registry")
    body = generate_latest(registry) if registry is not None else b""
    return Response(body, media_type=CONTENT_TYPE_LATEST)
