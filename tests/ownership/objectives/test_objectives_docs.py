"""docs/objectives.md's example works as written: its YAML blocks load without an error."""

from __future__ import annotations

import re
from pathlib import Path

from ownership.catalog import load_catalog

DOC = Path(__file__).resolve().parents[3] / "docs" / "objectives.md"


def test_the_documented_example_loads(tmp_path: Path) -> None:
    example = DOC.read_text(encoding="utf-8").split("## Example", 1)[1].split("\n## ", 1)[0]
    blocks = re.findall(r"```yaml\n(.*?)```", example, re.S)
    assert len(blocks) == 2
    (tmp_path / "slos.yaml").write_text(blocks[0], encoding="utf-8")
    (tmp_path / "owners.yaml").write_text(blocks[1], encoding="utf-8")
    catalog = load_catalog([tmp_path])
    assert catalog.errors == [] and catalog.warnings == []
    found = {o.name: o for o in catalog.objectives}
    assert set(found) == {"checkout-availability", "checkout-latency", "ledger-available", "ledger-fast"}
    latency = found["checkout-latency"]
    assert (latency.sli, latency.threshold_ms, latency.budgeting, latency.timeslice_seconds) == (
        "latency", 300, "Timeslices", 600)
