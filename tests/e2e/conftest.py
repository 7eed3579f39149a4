"""Browser fixtures: Debian's Chromium driven by Playwright for Python (no Playwright browser download)."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest


@dataclass
class PageWatch:
    """What a page did that it should not: dialogs, uncaught errors, console errors (CSP violations among them)."""

    dialogs: list[str] = field(default_factory=list)
    page_errors: list[str] = field(default_factory=list)
    console_errors: list[str] = field(default_factory=list)
    failed_responses: list[str] = field(default_factory=list)

    @property
    def csp_violations(self) -> list[str]:
        return [m for m in self.console_errors if "Content Security Policy" in m]

    @property
    def script_errors(self) -> list[str]:
        """Console errors other than failed loads (those are in failed_responses, with their URL)."""
        return [m for m in self.console_errors if not m.startswith("Failed to load resource")]


@pytest.fixture
def page(browser: Any) -> Iterator[tuple[Any, PageWatch]]:
    """A fresh page in its own context, with every dialog, page error and console error recorded."""
    context = browser.new_context(viewport={"width": 1400, "height": 1000}, java_script_enabled=True)
    context.set_default_timeout(15_000)
    new_page = context.new_page()
    watch = PageWatch()

    def on_dialog(dialog: Any) -> None:
        watch.dialogs.append(f"{dialog.type}: {dialog.message}")
        dialog.dismiss()

    new_page.on("dialog", on_dialog)
    new_page.on("pageerror", lambda exc: watch.page_errors.append(str(exc)))
    new_page.on("console", lambda msg: watch.console_errors.append(msg.text) if msg.type == "error" else None)
    new_page.on("response", lambda r: watch.failed_responses.append(f"{r.status} {r.url}")
                if r.status >= 400 and not r.url.endswith("/favicon.ico") else None)
    try:
        yield new_page, watch
    finally:
        context.close()
