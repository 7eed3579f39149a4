"""DESIGN §7 / issue #19: 20 000 entities over 40 pages from a real local Backstage API server give the
same catalog as those entities read from descriptor files, within the 30 s target (a generous bound here;
bench/backstage_sync.py measures it)."""

from __future__ import annotations

import json
import time
from pathlib import Path

from ownership.catalog import load_catalog
from ownership.catalog.live import LiveOptions
from ownership.source import CatalogSource
from tests.ownership.catalog.backstage_server import TOKEN, BackstageServer, FakeBackstage, sample_entities


def test_twenty_thousand_entities_over_forty_pages_equal_the_files(tmp_path: Path) -> None:
    items = sample_entities(20_000 - 200, teams=100)
    fake = FakeBackstage(items, page_size=500)
    with BackstageServer(fake) as server:
        source = CatalogSource([server.url], live=LiveOptions(backstage_token=TOKEN))
        started = time.monotonic()
        report = source.reload()
        seconds = time.monotonic() - started
    assert report.complete and len(fake.requests) == 40
    assert seconds <= 30, seconds
    files = [{k: v for k, v in item.items() if k not in ("relations", "status")} for item in items]
    # JSON is YAML (flow style) and far quicker to write than yaml.safe_dump_all at this size
    (tmp_path / "catalog-info.yaml").write_text("".join(f"---\n{json.dumps(f)}\n" for f in files), encoding="utf-8")
    from_files = load_catalog([tmp_path])

    def content(entity: object) -> dict[str, object]:
        return {k: v for k, v in entity.to_dict().items() if k not in ("source", "line", "errors")}  # type: ignore[attr-defined]

    assert len(source.index.catalog.entities) == 20_000
    assert [content(e) for e in source.index.catalog.entities] == [content(e) for e in from_files.entities]
    assert report.errors == from_files.errors == []
