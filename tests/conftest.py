"""Shared test helpers: locating the real trace fixtures and honouring OWNERMAP_REQUIRE_ALL."""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import settings

# `pytest --hypothesis-profile=long` fuzzes for much longer than CI does (see bench/README.md).
settings.register_profile("long", max_examples=20_000, deadline=None)


def at_least_examples(count: int) -> int:
    """A property test's example count: `count` in CI, the profile's when that is more (`long`)."""
    return max(count, settings.default.max_examples)

REPO_ROOT = Path(__file__).resolve().parent.parent


def require_all() -> bool:
    """True when every skip must become a failure (set by .ci/run)."""
    return os.environ.get("OWNERMAP_REQUIRE_ALL", "") not in ("", "0")


def skip_or_fail(reason: str) -> None:
    """Skip the current test, or fail it when OWNERMAP_REQUIRE_ALL=1."""
    if require_all():
        pytest.fail(f"required component missing (OWNERMAP_REQUIRE_ALL=1): {reason}")
    pytest.skip(reason)


def fixtures_path() -> Path:
    """Directory of the shared real trace fixtures."""
    env = os.environ.get("OWNERMAP_FIXTURES")
    return Path(env) if env else REPO_ROOT.parent / "shared" / "fixtures" / "traces"


@pytest.fixture
def traces_dir() -> Path:
    """The real trace fixtures directory; skips (or fails) when it is absent."""
    path = fixtures_path()
    if not path.is_dir():
        skip_or_fail(f"trace fixtures not found at {path} (set OWNERMAP_FIXTURES)")
    return path


CHROMIUM_ARGS = [
    "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
    "--disable-sync", "--no-first-run",
]


def chromium_path() -> str:
    """Debian's Chromium (PATH first, then /usr/bin/chromium)."""
    return shutil.which("chromium") or "/usr/bin/chromium"


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    """A headless Chromium for one test module; skips (or fails under OWNERMAP_REQUIRE_ALL=1) when missing.

    Per module, not per session: Playwright's sync API keeps an event loop running in the main
    thread while it is open, and later tests that start their own loop (asyncio.run) would fail.
    """
    try:
        from playwright.sync_api import Error as PlaywrightError
        from playwright.sync_api import sync_playwright
    except ImportError:
        skip_or_fail("playwright for Python is not installed (pip install -e '.[test]')")
    executable = chromium_path()
    if shutil.which(executable) is None:
        skip_or_fail(f"Chromium not found at {executable} (apt-get install chromium)")
    with sync_playwright() as playwright:
        try:
            launched = playwright.chromium.launch(executable_path=executable, args=CHROMIUM_ARGS, headless=True)
        except PlaywrightError as exc:
            skip_or_fail(f"Chromium at {executable} would not start: {exc}")
        try:
            yield launched
        finally:
            launched.close()
