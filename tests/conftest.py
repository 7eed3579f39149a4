"""Shared test helpers: locating the real trace fixtures and honouring OWNERMAP_REQUIRE_ALL."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

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
