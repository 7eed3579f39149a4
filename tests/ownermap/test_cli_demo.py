"""`ownermap demo` without the demo extra says what to install instead of failing after start-up."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

# Runs the CLI in a fresh interpreter in which the OpenTelemetry SDK cannot be imported, as in an
# install of ownermap without the `demo` extra.
_WITHOUT_SDK = """
import sys
sys.modules["opentelemetry.sdk"] = None  # what Python does for a module that cannot be imported
from ownermap.cli import main
main(sys.argv[1:])
"""


def test_demo_without_the_sdk_names_the_extra_to_install(tmp_path: Path) -> None:
    out = subprocess.run(
        [sys.executable, "-c", _WITHOUT_SDK, "demo", "--db", f"sqlite:///{tmp_path / 'demo.db'}",
         "--otlp-grpc", "127.0.0.1:0", "--otlp-http", "127.0.0.1:0", "--api", "127.0.0.1:0"],
        capture_output=True, text=True, timeout=60, cwd=Path(__file__).resolve().parents[2],
    )
    assert out.returncode == 1
    assert "pip install 'ownermap[demo]'" in out.stderr
    assert "Traceback" not in out.stderr
    assert not (tmp_path / "demo.db").exists()  # refused before anything started
