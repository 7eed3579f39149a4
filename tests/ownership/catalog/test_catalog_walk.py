"""glob_files / scan_yaml: confined to the root, symlinks inside followed once, bounded."""

from __future__ import annotations

from pathlib import Path

import pytest

from ownership.catalog.walk import WalkLimitError, WalkLimits, glob_files, scan_yaml


def touch(path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("x: 1\n", encoding="utf-8")
    return path


def names(paths: list[Path], base: Path) -> list[str]:
    return sorted(str(p.relative_to(base)) for p in paths)


def test_globstar_matches_like_glob(tmp_path: Path) -> None:
    touch(tmp_path / "a.yaml")
    touch(tmp_path / "x" / "b.yaml")
    touch(tmp_path / "x" / "y" / "c.yml")
    touch(tmp_path / ".hidden" / "d.yaml")
    touch(tmp_path / "x" / ".e.yaml")
    assert names(glob_files(tmp_path, "./**/*.yaml", tmp_path).files, tmp_path) == ["a.yaml", "x/b.yaml"]
    assert names(glob_files(tmp_path, "x/*/c.y?l", tmp_path).files, tmp_path) == ["x/y/c.yml"]
    assert names(glob_files(tmp_path, "[ax]/*.yaml", tmp_path).files, tmp_path) == ["x/b.yaml"]
    assert glob_files(tmp_path, "**", tmp_path).files == []  # a trailing ** names directories only


def test_dotdot_stays_inside_the_root(tmp_path: Path) -> None:
    touch(tmp_path / "teams" / "a.yaml")
    touch(tmp_path / "sub" / "catalog-info.yaml")
    found = glob_files(tmp_path / "sub", "../teams/*.yaml", tmp_path)
    assert [p.resolve() for p in found.files] == [(tmp_path / "teams" / "a.yaml").resolve()]
    assert glob_files(tmp_path, "../*", tmp_path).files == []


def test_symlink_out_of_the_root_is_refused_and_not_entered(tmp_path: Path) -> None:
    root = tmp_path / "root"
    touch(tmp_path / "outside" / "secret.yaml")
    touch(root / "in.yaml")
    (root / "slash").symlink_to("/", target_is_directory=True)
    (root / "out").symlink_to(tmp_path / "outside", target_is_directory=True)
    found = glob_files(root, "**/*.yaml", root)
    assert names(found.files, root) == ["in.yaml"]
    assert sorted(p.name for p in found.refused) == ["out", "slash"]
    assert glob_files(root, "out/*.yaml", root).files == []


def test_symlink_loops_inside_the_root_end(tmp_path: Path) -> None:
    touch(tmp_path / "a" / "x.yaml")
    (tmp_path / "a" / "up").symlink_to("..", target_is_directory=True)
    (tmp_path / "a" / "self").symlink_to(".", target_is_directory=True)
    (tmp_path / "b").symlink_to(tmp_path / "a", target_is_directory=True)
    found = glob_files(tmp_path, "**/*.yaml", tmp_path)
    assert {p.resolve() for p in found.files} == {(tmp_path / "a" / "x.yaml").resolve()}
    assert found.refused == []


@pytest.mark.parametrize(
    ("limits", "reason"),
    [
        (WalkLimits(max_entries=40, max_files=1_000, max_seconds=60), "40 directory entries"),
        (WalkLimits(max_entries=10_000, max_files=5, max_seconds=60), "more than 5 files"),
        (WalkLimits(max_entries=10_000, max_files=1_000, max_seconds=0), "time limit"),
    ],
)
def test_bounds_stop_the_walk(tmp_path: Path, limits: WalkLimits, reason: str) -> None:
    for i in range(100):
        touch(tmp_path / f"d{i % 10}" / f"f{i}.yaml")
    with pytest.raises(WalkLimitError, match=reason):
        glob_files(tmp_path, "**/*.yaml", tmp_path, limits)
    with pytest.raises(WalkLimitError, match=reason):
        list(scan_yaml(tmp_path, frozenset(), (".yaml",), limits))
