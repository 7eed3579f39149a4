"""The FastAPI application factory."""

from __future__ import annotations

from pathlib import Path

from fastapi import Depends, FastAPI
from fastapi.staticfiles import StaticFiles
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from api.deps import require_token
from api.problems import install_problem_handlers
from api.responses import FastJSONResponse
from api.routes import graph, health, ownership, reports, services, ui
from api.state import ApiState

STATIC = Path(__file__).resolve().parent / "static"
PAGE_CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
)


SECURITY_HEADERS = {
    b"content-security-policy": PAGE_CSP.encode(),
    b"x-content-type-options": b"nosniff",
    b"referrer-policy": b"no-referrer",
    b"x-frame-options": b"DENY",
}


class SecurityHeaders:
    """Security headers on every response; a route may set its own Content-Security-Policy.

    A plain ASGI middleware: it only adds headers to the response start, so bodies (a graph of
    20 000 edges is about 9 MB) pass through untouched, unlike Starlette's BaseHTTPMiddleware.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                present = {name.lower() for name, _ in headers}
                headers += [(name, value) for name, value in SECURITY_HEADERS.items() if name not in present]
                message = {**message, "headers": headers}
            await send(message)

        await self.app(scope, receive, send_with_headers)


def create_app(state: ApiState, include_api: bool = True) -> FastAPI:
    """Build the API app around its state (store, config, ownership lens, metrics).

    With `include_api=False` (the ingest role) only health and metrics are served.
    """
    app = FastAPI(
        title="ownermap",
        summary="Who owns this service, and what in production has no owner at all?",
        version="0.1.0",
        default_response_class=FastJSONResponse,
    )
    app.state.ownermap = state
    app.add_middleware(SecurityHeaders)
    install_problem_handlers(app)
    app.include_router(health.router)
    if not include_api:
        return app
    protected = [Depends(require_token)]
    app.include_router(services.router, dependencies=protected)
    app.include_router(graph.router, dependencies=protected)
    app.include_router(ownership.router, dependencies=protected)
    app.include_router(reports.router, dependencies=protected)
    app.include_router(ui.router, dependencies=protected)
    app.mount("/static", StaticFiles(directory=str(STATIC)), name="static")
    return app
