"""CatalogSource with a live Backstage source: all-or-nothing snapshots, status, completeness, refresh."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from ownership.catalog.live import LiveOptions
from ownership.source import CatalogSource
from tests.ownership.catalog.backstage_server import TOKEN, BackstageServer, FakeBackstage, Fault, sample_entities

OPTIONS = LiveOptions(backstage_token=TOKEN, backstage_timeout=0.3, backstage_initial_wait=0.01)
OWNERS = "version: 1\nteams:\n  - name: ops\n    members: [olga]\nservices:\n  - name: billing\n    owner: ops\n"


def refs(source: CatalogSource) -> list[str]:
    return sorted(str(e.ref) for e in source.index.catalog.entities)


@pytest.fixture
def fake() -> FakeBackstage:
    return FakeBackstage(sample_entities(160, teams=10), page_size=10)  # 180 entities, 18 pages


@pytest.mark.parametrize("fault", [Fault("500"), Fault("timeout"), Fault("malformed"), Fault("short"), Fault("401")],
                         ids=lambda f: f.kind)
def test_a_failed_sync_keeps_the_previous_snapshot_whole_until_a_good_one(
        tmp_path: Path, fake: FakeBackstage, fault: Fault) -> None:
    (tmp_path / "owners.yaml").write_text(OWNERS, encoding="utf-8")
    with BackstageServer(fake) as server:
        source = CatalogSource([tmp_path, server.url], live=OPTIONS)
        assert not source.complete
        assert source.reload().complete
        before = refs(source)
        [first] = source.status()
        assert len(before) == 180 + 2 and first.entities == 180 and first.errors == []
        fake.faults[17] = fault
        fake.entities.append(sample_entities(161)[-1])  # a change the failed sync must not half-apply
        report = source.reload()
        assert refs(source) == before
        [status] = source.status()
        assert status.last_success == first.last_success and status.entities == 180 and status.failures == 1
        [error] = status.errors
        assert ("totalItems" if fault.kind == "short" else "page 17") in error
        assert report.complete and source.complete  # synced once: complete, with the old snapshot
        del fake.faults[17]
        source.reload()
        assert len(refs(source)) == 180 + 2 + 1
        [status] = source.status()
        assert status.errors == [] and status.entities == 181 and status.last_success > first.last_success


def test_a_token_refused_at_start_up_leaves_the_catalog_incomplete(tmp_path: Path, fake: FakeBackstage) -> None:
    with BackstageServer(fake) as server:
        source = CatalogSource([server.url], live=LiveOptions(backstage_token="wrong", backstage_initial_wait=0.01))
        report = source.reload()
    assert not report.complete and not source.complete
    assert report.to_dict()["catalog_complete"] is False
    [status] = report.to_dict()["sources"]
    assert status["last_success"] is None and status["entities"] == 0 and "HTTP 401" in status["errors"][0]
    assert "wrong" not in str(report.to_dict())


def test_the_server_gone_between_refreshes_keeps_the_snapshot(fake: FakeBackstage) -> None:
    server = BackstageServer(fake).__enter__()
    source = CatalogSource([server.url], live=OPTIONS)
    source.reload()
    before = refs(source)
    server.stop()
    source.reload()
    assert refs(source) == before
    [status] = source.status()
    assert status.failures == 1 and "ConnectError" in status.errors[0]


def test_live_sources_are_refreshed_in_the_background(fake: FakeBackstage) -> None:
    with BackstageServer(fake) as server:
        source = CatalogSource([server.url], live=OPTIONS)
        source.refresh_live(0.05)
        try:
            deadline = time.monotonic() + 10
            while len(fake.requests) < 2 * 18 and time.monotonic() < deadline:
                time.sleep(0.02)
        finally:
            source.close()
    assert len(fake.requests) >= 2 * 18
    assert source.complete


def test_file_catalogs_alone_are_complete(tmp_path: Path) -> None:
    (tmp_path / "owners.yaml").write_text(OWNERS, encoding="utf-8")
    source = CatalogSource([tmp_path])
    assert source.reload().complete and source.status() == []


def test_an_unusable_backstage_entry_is_a_failing_source_not_a_crash() -> None:
    source = CatalogSource(["backstage+https://user:pw@backstage.example"], live=OPTIONS)
    report = source.reload()
    assert not report.complete
    [status] = source.status()
    assert "OWNERMAP_BACKSTAGE_TOKEN" in status.errors[0] and "pw" not in str(report.to_dict())
