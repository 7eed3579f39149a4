"""/docs in Chromium: Swagger UI's CDN script and its inline start-up script both run under the page's policy.

The machine has no internet, so the CDN's files are answered by the test (a stand-in
`SwaggerUIBundle` that marks the page); what is tested is that the browser lets them run.
Under the listener's strict policy (scripts from 'self' only) the page stayed blank.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.e2e.conftest import PageWatch
from tests.integration.serve_process import ServeProcess, sqlite_url

pytestmark = [pytest.mark.browser, pytest.mark.slow]

STAND_IN_BUNDLE = """
window.SwaggerUIBundle = function (options) {
  document.querySelector(options.dom_id).setAttribute("data-started-with", options.url);
  return {};
};
window.SwaggerUIBundle.presets = {apis: {}};
window.SwaggerUIBundle.SwaggerUIStandalonePreset = {};
"""


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServeProcess]:
    proc = ServeProcess(sqlite_url(Path(tmp_path_factory.mktemp("docs")) / "docs.db")).start()
    yield proc
    proc.stop()


def test_swagger_ui_starts_under_the_docs_policy(server: ServeProcess, page: tuple[Any, PageWatch]) -> None:
    tab, watch = page
    served: list[str] = []

    def cdn(route: Any) -> None:
        served.append(route.request.url)
        is_script = route.request.url.endswith(".js")
        route.fulfill(status=200, body=STAND_IN_BUNDLE if is_script else "#swagger-ui{}",
                      content_type="application/javascript" if is_script else "text/css")

    tab.route("https://cdn.jsdelivr.net/**", cdn)
    tab.route("https://fastapi.tiangolo.com/**", lambda route: route.fulfill(status=204))
    tab.goto(f"{server.api}/docs")
    tab.wait_for_selector("#swagger-ui[data-started-with='/openapi.json']", state="attached", timeout=10_000)
    assert any(url.endswith("swagger-ui-bundle.js") for url in served)
    assert watch.csp_violations == []
    assert watch.page_errors == []
