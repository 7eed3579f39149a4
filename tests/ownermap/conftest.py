"""Every test here starts from a clean environment (no OWNERMAP_* variables) in its own directory."""

from __future__ import annotations

import os
from pathlib import Path

import pytest


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    for name in list(os.environ):
        if name.upper().startswith("OWNERMAP_") and name.upper() not in ("OWNERMAP_REQUIRE_ALL", "OWNERMAP_FIXTURES"):
            monkeypatch.delenv(name)
    monkeypatch.chdir(tmp_path)
