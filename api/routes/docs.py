"""Interactive API docs, `/docs` (Swagger UI) and `/redoc`, each with a Content-Security-Policy of its own.

Every other answer of the API listener allows only its own scripts and styles (`api.security`),
which left FastAPI's docs pages blank: they load Swagger UI and ReDoc from a CDN and start them
with an inline script. These pages allow exactly what their HTML loads: the CDN origins it names
and its inline scripts by hash (no 'unsafe-inline' for scripts). The user's browser fetches the
assets, so the server itself needs no internet access; the browser does.
"""

from __future__ import annotations

import base64
import hashlib
from html.parser import HTMLParser
from urllib.parse import urlsplit

from fastapi import APIRouter, FastAPI, Request
from fastapi.openapi.docs import get_redoc_html, get_swagger_ui_html
from fastapi.responses import HTMLResponse

router = APIRouter(include_in_schema=False)


class _PageSources(HTMLParser):
    """The origins a page loads scripts, styles and icons from, and the hashes of its inline scripts."""

    def __init__(self) -> None:
        super().__init__()
        self.script_origins: set[str] = set()
        self.style_origins: set[str] = set()
        self.image_origins: set[str] = set()
        self.inline_scripts: list[str] = []
        self._in_script = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = dict(attrs)
        if tag == "script":
            self._in_script = not values.get("src")
            self._add(self.script_origins, values.get("src"))
        elif tag == "link":
            rel = (values.get("rel") or "").lower()
            self._add(self.image_origins if "icon" in rel else self.style_origins, values.get("href"))

    def handle_endtag(self, tag: str) -> None:
        if tag == "script":
            self._in_script = False

    def handle_data(self, data: str) -> None:
        if self._in_script and data.strip():
            digest = base64.b64encode(hashlib.sha256(data.encode()).digest()).decode()
            self.inline_scripts.append(f"'sha256-{digest}'")

    @staticmethod
    def _add(origins: set[str], url: str | None) -> None:
        parts = urlsplit(url or "")
        if parts.scheme in ("http", "https") and parts.netloc:
            origins.add(f"{parts.scheme}://{parts.netloc}")


def docs_csp(html: str, *, inline_styles: bool = False) -> str:
    """A Content-Security-Policy that allows exactly what `html` loads and runs."""
    found = _PageSources()
    found.feed(html)
    styles = ["'self'", *sorted(found.style_origins), *(["'unsafe-inline'"] if inline_styles else [])]
    return "; ".join([
        "default-src 'self'",
        "script-src " + " ".join(["'self'", *sorted(found.script_origins), *found.inline_scripts]),
        "style-src " + " ".join(styles),
        "img-src " + " ".join(["'self'", "data:", *sorted(found.image_origins)]),
        "font-src 'self' data: https://fonts.gstatic.com",
        "worker-src 'self' blob:",
        "object-src 'none'", "base-uri 'none'", "frame-ancestors 'none'",
    ])


def _with_own_csp(page: HTMLResponse, *, inline_styles: bool = False) -> HTMLResponse:
    html = bytes(page.body).decode()
    return HTMLResponse(html, headers={"Content-Security-Policy": docs_csp(html, inline_styles=inline_styles)})


def _openapi_url(request: Request) -> str:
    app: FastAPI = request.app
    return app.openapi_url or "/openapi.json"


@router.get("/docs", response_class=HTMLResponse)
def swagger_ui(request: Request) -> HTMLResponse:
    """Swagger UI over this API's OpenAPI document."""
    return _with_own_csp(get_swagger_ui_html(openapi_url=_openapi_url(request), title="ownermap API"))


@router.get("/redoc", response_class=HTMLResponse)
def redoc(request: Request) -> HTMLResponse:
    """ReDoc over this API's OpenAPI document (its styled components need inline styles)."""
    return _with_own_csp(get_redoc_html(openapi_url=_openapi_url(request), title="ownermap API"), inline_styles=True)
