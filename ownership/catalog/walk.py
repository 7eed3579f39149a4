"""Confined, bounded walking of a catalog root: Location globs and directory scans.

Nothing here ever leaves the catalog root: a symlinked directory is followed only when its real
path stays inside the root, and each real directory is entered at most once per pattern position,
so symlink loops end. Every walk has a budget of directory entries, matched files and seconds;
running out stops the walk with `WalkLimitError` (the caller names the Location or directory).
"""

from __future__ import annotations

import fnmatch
import os
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

_MAGIC = frozenset("*?[")


@dataclass(frozen=True)
class WalkLimits:
    """How much one walk may look at before it gives up."""

    max_entries: int = 200_000
    max_files: int = 10_000
    max_seconds: float = 5.0


#: One Location target (a glob such as `./**/*.yaml`).
GLOB_LIMITS = WalkLimits()
#: One directory given as a catalog path (a monorepo may hold many YAML files).
SCAN_LIMITS = WalkLimits(max_entries=1_000_000, max_files=50_000, max_seconds=30.0)


class WalkLimitError(Exception):
    """A walk hit one of its limits; the message says which."""


@dataclass
class _Budget:
    limits: WalkLimits
    entries: int = 0
    files: int = 0
    deadline: float = field(default=0.0)

    def __post_init__(self) -> None:
        self.deadline = time.monotonic() + self.limits.max_seconds

    def entry(self) -> None:
        self.entries += 1
        if self.entries > self.limits.max_entries:
            raise WalkLimitError(f"stopped after {self.limits.max_entries} directory entries (the limit)")
        if self.entries % 64 == 0 and time.monotonic() > self.deadline:
            raise WalkLimitError(f"stopped after {self.limits.max_seconds:g} s (the time limit)")

    def file(self) -> None:
        self.files += 1
        if self.files > self.limits.max_files:
            raise WalkLimitError(f"matched more than {self.limits.max_files} files (the limit)")


@dataclass
class GlobResult:
    """Files a glob matched (as spelled under the base) and the symlinks it refused to follow."""

    files: list[Path] = field(default_factory=list)
    refused: list[Path] = field(default_factory=list)


def has_magic(pattern: str) -> bool:
    """Whether a path pattern contains glob characters."""
    return any(ch in _MAGIC for ch in pattern)


def glob_files(base: Path, pattern: str, root: Path, limits: WalkLimits = GLOB_LIMITS) -> GlobResult:
    """Expand a relative glob (`*`, `?`, `[…]`, `**`) under base, never leaving root.

    Like `glob.glob(recursive=True)`, wildcards do not match names starting with `.` unless the
    pattern part does. Raises WalkLimitError when the walk runs out of its budget.
    """
    root = root.resolve()
    parts = [p for p in Path(os.path.normpath(pattern)).parts if p not in ("", ".")]
    if not parts:
        return GlobResult()
    budget = _Budget(limits)
    result = GlobResult()
    seen: set[tuple[Path, int]] = set()
    stack: list[tuple[Path, Path, int]] = [(base, base.resolve(), 0)]
    while stack:
        spelled, real, index = stack.pop()
        if (real, index) in seen:
            continue  # a directory reached again (through a symlink inside the root)
        seen.add((real, index))
        part = parts[index]
        last = index == len(parts) - 1
        if part == "**":  # zero or more directories; a trailing `**` matches no files
            if not last:
                stack.append((spelled, real, index + 1))
            for name, child, child_real in _subdirs(spelled, real, root, budget, result):
                if not name.startswith("."):
                    stack.append((child, child_real, index))
        elif has_magic(part):
            for entry in _entries(spelled, budget):
                if entry.name.startswith(".") and not part.startswith("."):
                    continue
                if not fnmatch.fnmatchcase(entry.name, part):
                    continue
                _step(entry.name, spelled, real, index, last, root, budget, result, stack)
        else:
            _step(part, spelled, real, index, last, root, budget, result, stack)
    result.files.sort()
    return result


def _step(name: str, spelled: Path, real: Path, index: int, last: bool, root: Path, budget: _Budget,
          result: GlobResult, stack: list[tuple[Path, Path, int]]) -> None:
    """One matched name: a file when the pattern ends here, else a directory to descend into."""
    child = spelled / name
    if name == "..":
        if not last and real.parent.is_relative_to(root):
            stack.append((child, real.parent, index + 1))
        return
    if last:
        if os.path.lexists(child):
            budget.file()
            result.files.append(child)  # the caller resolves it and checks root and type
        return
    child_real = _confined_dir(child, real / name, root, result)
    if child_real is not None:
        stack.append((child, child_real, index + 1))


def _entries(directory: Path, budget: _Budget) -> Iterator[os.DirEntry[str]]:
    try:
        with os.scandir(directory) as entries:
            for entry in entries:
                budget.entry()
                yield entry
    except OSError:
        return  # unreadable or vanished: nothing to match


def _subdirs(spelled: Path, real: Path, root: Path, budget: _Budget,
             result: GlobResult) -> Iterator[tuple[str, Path, Path]]:
    for entry in _entries(spelled, budget):
        try:
            if not entry.is_dir():
                continue
        except OSError:
            continue
        child = spelled / entry.name
        child_real = _confined_dir(child, real / entry.name, root, result)
        if child_real is not None:
            yield entry.name, child, child_real


def _confined_dir(child: Path, lexical_real: Path, root: Path, result: GlobResult) -> Path | None:
    """The real path of a directory to descend into, or None (not a directory, or outside root)."""
    if not os.path.islink(child):
        return lexical_real if os.path.isdir(child) else None
    try:
        target = child.resolve(strict=True)
    except (OSError, RuntimeError):
        return None  # dangling or looping link
    if not target.is_relative_to(root):
        result.refused.append(child)
        return None
    return target if target.is_dir() else None


def scan_yaml(root: Path, skip_dirs: frozenset[str], suffixes: tuple[str, ...],
              limits: WalkLimits = SCAN_LIMITS) -> Iterator[Path]:
    """YAML files under a directory in a stable order (files first, then subdirectories).

    Hidden directories, `skip_dirs` and symlinked directories are not entered. Raises
    WalkLimitError when the scan runs out of its budget.
    """
    budget = _Budget(limits)
    for dirpath, dirnames, filenames in os.walk(root):
        for _ in range(len(dirnames) + len(filenames)):
            budget.entry()
        dirnames[:] = sorted(d for d in dirnames if not d.startswith(".") and d not in skip_dirs)
        for name in sorted(filenames):
            if name.lower().endswith(suffixes):
                budget.file()
                yield Path(dirpath) / name
