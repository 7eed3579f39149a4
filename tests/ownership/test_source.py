"""CatalogSource: reload counts and errors, and reload_if_changed on file edit, add and delete."""

from __future__ import annotations

import asyncio
import os
import signal
import threading
import time
from pathlib import Path

import pytest

from ownership.source import CatalogSource

CHECKOUT = """\
apiVersion: backstage.io/v1alpha1
kind: Component
metadata: {name: checkout}
spec: {type: service, lifecycle: production, owner: payments}
---
apiVersion: backstage.io/v1alpha1
kind: Group
metadata: {name: payments}
spec: {type: team, children: [], members: [alice]}
"""
CART = """\
apiVersion: backstage.io/v1alpha1
kind: Component
metadata: {name: cart}
spec: {type: service, lifecycle: production, owner: payments}
"""
BROKEN = """\
apiVersion: backstage.io/v1alpha1
kind: Component
metadata: {name: broken}
spec: {type: service, lifecycle: production}
---
apiVersion: backstage.io/v1alpha1
kind: Component
metadata: {name: fine}
spec: {type: service, lifecycle: production, owner: payments}
"""
OWNERS = """\
teams: [{name: search, members: [bob]}]
services: [{name: indexer, owner: search}]
"""


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        self.now += 1
        return self.now


def touch_later(path: Path, seconds: float = 10) -> None:
    """Move mtime forward so a same-size edit is visible whatever the file system's time resolution."""
    stat = path.stat()
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns + int(seconds * 1e9)))


@pytest.fixture
def catalog_dir(tmp_path: Path) -> Path:
    directory = tmp_path / "catalog"
    (directory / "svc").mkdir(parents=True)
    (directory / "svc" / "catalog-info.yaml").write_text(CHECKOUT, encoding="utf-8")
    return directory


def test_empty_source_before_reload(catalog_dir: Path) -> None:
    source = CatalogSource([catalog_dir])
    assert source.index.catalog.entities == []
    assert source.report.counts == {} and source.report.loaded_at == 0.0


def test_reload_reports_counts_files_and_time(catalog_dir: Path) -> None:
    (catalog_dir / "owners.yaml").write_text(OWNERS, encoding="utf-8")
    clock = Clock()
    source = CatalogSource([catalog_dir], clock=clock)
    report = source.reload()
    assert report.counts == {"Component": 2, "Group": 2}
    assert report.files == 2 and report.errors == [] and report.loaded_at == 1001.0
    assert source.report is report
    assert source.index.match_service("checkout") is not None
    assert source.index.match_service("indexer") is not None
    out = report.to_dict()
    assert set(out) == {"loaded_at", "files", "counts", "errors", "warnings", "catalog_complete", "sources"}
    assert out["counts"] == {"Component": 2, "Group": 2}


def test_reload_reports_errors_with_file_and_field_and_keeps_good_entities(catalog_dir: Path) -> None:
    bad = catalog_dir / "bad" / "catalog-info.yaml"
    bad.parent.mkdir()
    bad.write_text(BROKEN, encoding="utf-8")
    report = CatalogSource([catalog_dir]).reload()
    assert len(report.errors) == 1
    (error,) = report.to_dict()["errors"]
    assert error["file"] == str(bad.resolve()) or error["file"].endswith("bad/catalog-info.yaml")
    assert error["field"] == "spec.owner" and error["severity"] == "error"
    assert error["entity"] == "component:default/broken"
    assert report.counts == {"Component": 3, "Group": 1}  # the broken one is kept (lenient loading)


def test_reload_of_missing_paths_is_an_error_not_a_crash(tmp_path: Path) -> None:
    report = CatalogSource([tmp_path / "nope"]).reload()
    assert report.counts == {} and len(report.errors) == 1
    assert "does not exist" in report.errors[0].message


def test_reload_with_no_paths() -> None:
    report = CatalogSource([]).reload()
    assert (report.counts, report.errors, report.files) == ({}, [], 0)


def test_reload_if_changed_is_false_when_nothing_changed(catalog_dir: Path) -> None:
    source = CatalogSource([catalog_dir])
    source.reload()
    assert source.reload_if_changed() is False
    assert source.reload_if_changed() is False


def test_reload_if_changed_before_the_first_load(catalog_dir: Path) -> None:
    source = CatalogSource([catalog_dir])
    assert source.reload_if_changed() is True
    assert source.index.match_service("checkout") is not None


def test_reload_if_changed_on_edit(catalog_dir: Path) -> None:
    source = CatalogSource([catalog_dir])
    source.reload()
    old_index = source.index
    file = catalog_dir / "svc" / "catalog-info.yaml"
    file.write_text(CHECKOUT.replace("name: checkout", "name: checkout-v2"), encoding="utf-8")
    assert source.reload_if_changed() is True
    assert source.index is not old_index
    assert source.index.match_service("checkout") is None
    assert source.index.match_service("checkout-v2") is not None
    assert source.reload_if_changed() is False


def test_reload_if_changed_on_same_size_edit(catalog_dir: Path) -> None:
    source = CatalogSource([catalog_dir])
    source.reload()
    file = catalog_dir / "svc" / "catalog-info.yaml"
    file.write_text(CHECKOUT.replace("name: checkout", "name: checkoux"), encoding="utf-8")
    touch_later(file)
    assert source.reload_if_changed() is True
    assert source.index.match_service("checkoux") is not None


def test_reload_if_changed_on_add_and_delete(catalog_dir: Path) -> None:
    source = CatalogSource([catalog_dir])
    source.reload()
    added = catalog_dir / "cart" / "catalog-info.yaml"
    added.parent.mkdir()
    added.write_text(CART, encoding="utf-8")
    assert source.reload_if_changed() is True
    assert source.report.counts == {"Component": 2, "Group": 1}
    assert source.index.match_service("cart") is not None
    added.unlink()
    assert source.reload_if_changed() is True
    assert source.report.counts == {"Component": 1, "Group": 1}
    assert source.index.match_service("cart") is None


def test_non_yaml_files_do_not_trigger_a_reload(catalog_dir: Path) -> None:
    source = CatalogSource([catalog_dir])
    source.reload()
    (catalog_dir / "README.md").write_text("hello", encoding="utf-8")
    assert source.reload_if_changed() is False


def test_reload_if_changed_with_a_file_path(catalog_dir: Path) -> None:
    file = catalog_dir / "svc" / "catalog-info.yaml"
    source = CatalogSource([file])
    source.reload()
    assert source.reload_if_changed() is False
    file.write_text(CHECKOUT + "---\n" + CART, encoding="utf-8")
    assert source.reload_if_changed() is True
    assert source.report.counts["Component"] == 2


def test_a_broken_edit_is_reported_and_good_entities_survive(catalog_dir: Path) -> None:
    source = CatalogSource([catalog_dir])
    source.reload()
    file = catalog_dir / "svc" / "catalog-info.yaml"
    file.write_text(CHECKOUT + "---\n" + BROKEN, encoding="utf-8")
    assert source.reload_if_changed() is True
    assert [e.field for e in source.report.errors] == ["spec.owner"]
    assert source.index.match_service("checkout") is not None
    assert source.index.match_service("fine") is not None
    assert source.index.match_service("broken").entity.errors[0].field == "spec.owner"


def test_unparseable_yaml_is_an_error(catalog_dir: Path) -> None:
    source = CatalogSource([catalog_dir])
    (catalog_dir / "svc" / "catalog-info.yaml").write_text("kind: [unclosed\n", encoding="utf-8")
    report = source.reload()
    assert report.errors and report.counts == {}


def test_close_without_watching_is_harmless(catalog_dir: Path) -> None:
    source = CatalogSource([catalog_dir])
    source.close()
    source.reload()
    assert source.report.counts == {"Component": 1, "Group": 1}


LOCATION = """\
apiVersion: backstage.io/v1alpha1
kind: Location
metadata: {name: root}
spec: {targets: [./teams/teams.yaml]}
"""
TEAM_DOC = """\
apiVersion: backstage.io/v1alpha1
kind: Group
metadata: {name: %s}
spec: {type: team, children: [], members: [alice]}
"""


def test_location_targets_are_loaded(tmp_path: Path) -> None:
    (tmp_path / "catalog-info.yaml").write_text(LOCATION, encoding="utf-8")
    (tmp_path / "teams").mkdir()
    (tmp_path / "teams" / "teams.yaml").write_text(TEAM_DOC % "payments", encoding="utf-8")
    report = CatalogSource([tmp_path / "catalog-info.yaml"]).reload()
    assert report.counts == {"Location": 1, "Group": 1} and report.files == 2


def test_reload_if_changed_notices_an_edited_location_target(tmp_path: Path) -> None:
    """Regression: files reached through Location targets are watched too."""
    (tmp_path / "catalog-info.yaml").write_text(LOCATION, encoding="utf-8")
    (tmp_path / "teams").mkdir()
    target = tmp_path / "teams" / "teams.yaml"
    target.write_text(TEAM_DOC % "payments", encoding="utf-8")
    source = CatalogSource([tmp_path / "catalog-info.yaml"])
    source.reload()
    target.write_text(TEAM_DOC % "payments" + "---\n" + TEAM_DOC % "search", encoding="utf-8")
    touch_later(target)
    assert source.reload_if_changed() is True
    assert source.report.counts == {"Location": 1, "Group": 2}


def generate_catalog(root: Path, count: int) -> None:
    """`count` Backstage descriptors, one per directory, as a large real catalog has them."""
    for i in range(count):
        folder = root / f"svc{i:04}"
        folder.mkdir(parents=True)
        (folder / "catalog-info.yaml").write_text(
            "apiVersion: backstage.io/v1alpha1\nkind: Component\n"
            f"metadata: {{name: svc{i:04}, annotations: {{pagerduty.com/service-id: P{i}}}}}\n"
            f"spec: {{type: service, lifecycle: production, owner: team{i % 40}}}\n", encoding="utf-8")


def test_sighup_reload_keeps_the_event_loop_responsive(tmp_path: Path) -> None:
    """Issue #14 item 9: the SIGHUP handler (registered as ownermap/server.py does) must not
    reload on the loop; an asyncio ticker's longest gap stays small while thousands of files load."""
    generate_catalog(tmp_path, 3000)
    source = CatalogSource([tmp_path])
    source.reload()
    (tmp_path / "new.yaml").write_text(CART, encoding="utf-8")

    async def main() -> tuple[float, float]:
        loop = asyncio.get_running_loop()
        loop.add_signal_handler(signal.SIGHUP, source.request_reload)
        try:
            started = time.monotonic()
            os.kill(os.getpid(), signal.SIGHUP)
            longest = 0.0
            while source.reloads < 2:
                assert time.monotonic() - started < 120, "the reload never finished"
                tick = time.monotonic()
                await asyncio.sleep(0.01)
                longest = max(longest, time.monotonic() - tick)
            return longest, time.monotonic() - started
        finally:
            loop.remove_signal_handler(signal.SIGHUP)

    longest, took = asyncio.run(main())
    assert "component:default/cart" in {str(e.ref) for e in source.index.catalog.entities}
    assert took > 0.3  # the reload really ran while the ticker did
    # Generous (a loaded 2-core machine): a reload on the loop stalls it for the whole reload (3 s+).
    assert longest < min(1.0, took / 2), f"the event loop stalled {longest:.2f} s during a {took:.1f} s reload"


def test_concurrent_reloads_are_coalesced_not_stacked(tmp_path: Path) -> None:
    generate_catalog(tmp_path, 600)
    source = CatalogSource([tmp_path])
    first = threading.Thread(target=source.reload)
    first.start()
    while source._reloads._started == 0:  # run 1 has begun (it reads the files after this)
        time.sleep(0.001)
    (tmp_path / "new.yaml").write_text(CART, encoding="utf-8")
    reports: list[int] = []
    waiters = [threading.Thread(target=lambda: reports.append(source.reload().counts.get("Component", 0)))
               for _ in range(8)]
    for waiter in waiters:
        waiter.start()
    for thread in (first, *waiters):
        thread.join(120)
    assert source.reloads == 2  # one running, the eight requests made meanwhile share one more
    assert reports == [601] * 8  # each saw a reload that started after its request
