"""What users install is what is tested: build the wheel, install it into a fresh virtual environment
outside the source tree (as the Dockerfile does), and run the smoke test against that install.

An editable install reads templates and static files from the checkout, so it hides package data
that the wheel leaves out (the page and the HTML report once answered 500 for every user of the
wheel and the container image: `map.svg` was not in it).
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import venv
import zipfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import REPO_ROOT

pytestmark = pytest.mark.slow

PACKAGES = ("collector", "graph", "ownership", "reports", "api", "ownermap")
_NOT_SOURCE = shutil.ignore_patterns("__pycache__", "*.egg-info", "*.pyc")


def _dockerfile_extras() -> str:
    """The extras the Dockerfile installs (`pip install … '.[postgres,demo]'`): the test installs the same."""
    match = re.search(r"pip install [^\n]*'\.\[([a-z,]+)\]'", (REPO_ROOT / "Dockerfile").read_text())
    assert match, "the Dockerfile no longer installs '.[extras]' from the source tree; update this test"
    return match.group(1)


def _clean_env() -> dict[str, str]:
    """The environment of a user's shell: none of this test run's Python or ownermap settings."""
    return {k: v for k, v in os.environ.items() if not k.startswith(("OWNERMAP_", "PYTHON", "VIRTUAL_ENV"))}


def _tracked_package_data() -> set[str]:
    """Every non-Python file that git tracks inside the installable packages (templates, static, schemas…)."""
    out = subprocess.run(["git", "ls-files", *PACKAGES], cwd=REPO_ROOT, capture_output=True, text=True, check=True)
    return {line for line in out.stdout.splitlines() if not line.endswith(".py")}


def _run(command: list[str]) -> None:
    """Run a build or install step; fail with its output when it fails."""
    out = subprocess.run(command, capture_output=True, text=True, env=_clean_env(), timeout=900)
    assert out.returncode == 0, f"{' '.join(command)} exited {out.returncode}:\n{out.stderr[-6000:]}"


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The wheel, built from what the Dockerfile copies into its build stage (so no stale build/ or
    egg-info of the checkout can leak into it)."""
    root = tmp_path_factory.mktemp("wheel")
    source = root / "source"
    source.mkdir()
    for name in ("pyproject.toml", "README.md"):
        shutil.copy2(REPO_ROOT / name, source / name)
    for package in PACKAGES:
        shutil.copytree(REPO_ROOT / package, source / package, ignore=_NOT_SOURCE)
    _run([sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "-w", str(root / "dist"), str(source)])
    (built,) = (root / "dist").glob("ownermap-*.whl")
    return built


@pytest.fixture(scope="module")
def installed(wheel: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """A fresh virtual environment with the wheel installed as the Dockerfile installs it."""
    target = tmp_path_factory.mktemp("fresh-venv") / "venv"
    venv.create(target, with_pip=True)
    pip = [str(target / "bin" / "python"), "-m", "pip", "install", "-q", "--disable-pip-version-check"]
    _run([*pip, f"{wheel}[{_dockerfile_extras()}]"])
    yield target


def test_the_wheel_carries_every_template_static_file_and_schema(wheel: Path) -> None:
    with zipfile.ZipFile(wheel) as archive:
        names = set(archive.namelist())
    missing = sorted(_tracked_package_data() - names)
    assert not missing, f"files the packages need but the wheel leaves out: {missing}"


def test_the_installed_wheel_serves_ingests_draws_reports_and_runs_the_demo(installed: Path, tmp_path: Path) -> None:
    smoke = Path(__file__).with_name("wheel_smoke.py")
    out = subprocess.run([str(installed / "bin" / "python"), str(smoke), str(tmp_path)], cwd=tmp_path,
                         capture_output=True, text=True, env=_clean_env(), timeout=600)
    assert out.returncode == 0, f"{out.stdout}\n{out.stderr[-6000:]}"
    assert "wheel smoke test passed" in out.stdout
