"""The FastAPI application factory."""

from __future__ import annotations

from fastapi import Depends, FastAPI

from api.deps import require_token
from api.problems import install_problem_handlers
from api.routes import graph, health, ownership, reports, services
from api.state import ApiState


def create_app(state: ApiState, include_api: bool = True) -> FastAPI:
    """Build the API app around its state (store, config, ownership lens, metrics).

    With `include_api=False` (the ingest role) only health and metrics are served.
    """
    app = FastAPI(
        title="ownermap",
        summary="Who owns this service, and what in production has no owner at all?",
        version="0.1.0",
    )
    app.state.ownermap = state
    install_problem_handlers(app)
    app.include_router(health.router)
    if not include_api:
        return app
    protected = [Depends(require_token)]
    app.include_router(services.router, dependencies=protected)
    app.include_router(graph.router, dependencies=protected)
    app.include_router(ownership.router, dependencies=protected)
    app.include_router(reports.router, dependencies=protected)
    return app
