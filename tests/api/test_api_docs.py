"""/docs and /redoc carry a Content-Security-Policy that lets them load; every other page keeps the strict one."""

from __future__ import annotations

import base64
import hashlib
import re

from fastapi.testclient import TestClient

from api.routes.docs import docs_csp
from api.security import PAGE_CSP


def _directive(csp: str, name: str) -> list[str]:
    for part in csp.split(";"):
        words = part.split()
        if words and words[0] == name:
            return words[1:]
    return []


def test_swagger_page_allows_its_cdn_and_its_inline_start_up_script_by_hash(client: TestClient) -> None:
    response = client.get("/docs")
    assert response.status_code == 200
    csp = response.headers["content-security-policy"]
    scripts = _directive(csp, "script-src")
    html = response.text
    for src in re.findall(r'<script src="(https://[^/"]+)/', html):
        assert src in scripts
    inline = re.findall(r"<script>(.*?)</script>", html, re.S)
    assert inline, "Swagger UI is started by an inline script"
    for body in inline:
        assert f"'sha256-{base64.b64encode(hashlib.sha256(body.encode()).digest()).decode()}'" in scripts
    assert "'unsafe-inline'" not in scripts and "'unsafe-eval'" not in scripts
    assert "https://cdn.jsdelivr.net" in _directive(csp, "style-src")
    assert response.headers["x-frame-options"] == "DENY"  # the other security headers stay


def test_redoc_page_allows_its_cdn_and_inline_styles_only(client: TestClient) -> None:
    response = client.get("/redoc")
    assert response.status_code == 200
    csp = response.headers["content-security-policy"]
    assert "https://cdn.jsdelivr.net" in _directive(csp, "script-src")
    assert "'unsafe-inline'" not in _directive(csp, "script-src")
    assert "'unsafe-inline'" in _directive(csp, "style-src")
    assert "blob:" in _directive(csp, "worker-src")


def test_other_pages_keep_the_strict_policy(client: TestClient) -> None:
    assert client.get("/").headers["content-security-policy"] == PAGE_CSP
    assert client.get("/openapi.json").headers["content-security-policy"] == PAGE_CSP


def test_the_policy_ignores_relative_and_non_http_sources() -> None:
    csp = docs_csp('<script src="/static/x.js"></script><script src="javascript:alert(1)"></script>'
                   '<link rel="stylesheet" href="data:text/css,x">')
    assert _directive(csp, "script-src") == ["'self'"]
    assert _directive(csp, "style-src") == ["'self'"]
