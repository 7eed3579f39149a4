"""The FastAPI application factory."""

from __future__ import annotations

from pathlib import Path

from fastapi import Depends, FastAPI
from fastapi.staticfiles import StaticFiles

from api.deps import require_token
from api.problems import install_problem_handlers
from api.responses import FastJSONResponse
from api.routes import catalog, docs, graph, health, objectives, oncall, ownership, reports, services, ui
from api.security import SecurityHeaders
from api.state import ApiState

STATIC = Path(__file__).resolve().parent / "static"


def create_app(state: ApiState, include_api: bool = True) -> FastAPI:
    """Build the API app around its state (store, config, ownership lens, metrics).

    With `include_api=False` (the ingest role) only health and metrics are served.
    """
    app = FastAPI(
        title="ownermap",
        summary="Who owns this service, and what in production has no owner at all?",
        version="0.1.0",
        default_response_class=FastJSONResponse,
        docs_url=None,  # served by api.routes.docs, with a Content-Security-Policy that lets them load
        redoc_url=None,
    )
    app.state.ownermap = state
    app.add_middleware(SecurityHeaders)
    install_problem_handlers(app)
    app.include_router(health.router)
    if not include_api:
        return app
    app.include_router(docs.router)
    protected = [Depends(require_token)]
    app.include_router(services.router, dependencies=protected)
    app.include_router(graph.router, dependencies=protected)
    app.include_router(ownership.router, dependencies=protected)
    app.include_router(catalog.router, dependencies=protected)
    app.include_router(reports.router, dependencies=protected)
    app.include_router(objectives.router, dependencies=protected)
    app.include_router(oncall.router, dependencies=protected)
    app.include_router(ui.router, dependencies=protected)
    app.mount("/static", StaticFiles(directory=str(STATIC)), name="static")
    return app
