"""CODEOWNERS as a catalog source (DESIGN §3c): GitHub's matching rules, a directory's owners, and the
directories a catalog entry or an undocumented service is looked for at.

Matching is the `codeowners` package's (GitHub semantics: the last matching pattern wins, .gitignore-style
anchoring, `**`, trailing slashes); a directory's owners are those of the last rule matching a file
directly inside it.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from codeowners import CodeOwners

from ownership.catalog.model import CatalogError, Entity, LoadResult

LOCATIONS = (".github/CODEOWNERS", "CODEOWNERS", "docs/CODEOWNERS")  # where GitHub looks, in its order
MAX_BYTES = 3 * 1024 * 1024  # GitHub ignores larger CODEOWNERS files
MAX_NAMES = 500  # files of one directory tried against the rules
PROBE = "ownermap-probe"  # a file name no extension rule matches: what `dir/` and `*` rules give
SOURCE_LOCATION = "backstage.io/source-location"
CODE_PATHS_ANNOTATION = "ownermap.io/code-paths"  # Datadog v3 codeLocations, owners.yaml path (comma separated)
PREFIX = "codeowners:"
_TREE = re.compile(r"/(?:tree|blob)/[^/]+/?(?P<path>[^?#]*)")


@dataclass(frozen=True)
class Rules:
    """The rules of one CODEOWNERS file."""

    parsed: CodeOwners

    @classmethod
    def parse(cls, text: str) -> Rules:
        """Rules from a CODEOWNERS text."""
        return cls(CodeOwners(text))

    def match(self, path: str) -> tuple[list[str], int] | None:
        """The owners and line of the last rule matching a file path, or None when none matches."""
        owners, line, _pattern, _section = self.parsed.matching_line(path.lstrip("/"))
        return ([value for _kind, value in owners], line) if line is not None else None

    def owners_of(self, path: str) -> list[str]:
        """The owners GitHub gives a file path (empty when no rule, or a rule without owners, matches)."""
        found = self.match(path)
        return found[0] if found else []

    def directory_match(self, directory: str, names: Iterable[str] = ()) -> tuple[list[str], int] | None:
        """The last rule matching a file directly inside directory (`names`: its files, if known)."""
        base = directory.strip("/")
        best: tuple[list[str], int] | None = None
        for name in [PROBE, *names]:
            found = self.match(f"{base}/{name}" if base else name)
            if found is not None and (best is None or found[1] > best[1]):
                best = found
        return best

    def directory_owners(self, directory: str) -> list[str]:
        """A directory's owners (empty when no rule matches a file directly inside it)."""
        found = self.directory_match(directory)
        return found[0] if found else []


@dataclass(frozen=True)
class CodeownersFile:
    """One CODEOWNERS file; `root` is the checkout it belongs to, None when it was given alone."""

    file: Path
    root: Path | None
    rules: Rules

    def owners_for(self, candidates: Iterable[str]) -> tuple[str, list[str], int] | None:
        """The first usable candidate directory (existing in the checkout, else the first with a matching
        rule), its owners and the rule's line; None when there is none."""
        for candidate in candidates:
            directory = _clean(candidate)
            if directory is None:
                continue
            names: list[str] = []
            if self.root is not None:
                real = (self.root / directory).resolve()
                if not real.is_relative_to(self.root) or not real.is_dir():
                    continue
                names = _files_in(real)
            found = self.rules.directory_match(directory, names)
            if found is not None:
                return directory, found[0], found[1]
            if self.root is not None:
                return None  # the first existing directory decides, even without a rule
        return None


def _clean(candidate: str) -> str | None:
    """A relative directory inside the repository, or None (escaping paths are refused); a glob such as
    Datadog's `services/search/**` stands for the directory before its first wildcard."""
    parts = [p for p in candidate.strip().replace("\\", "/").split("/") if p not in ("", ".")]
    magic = next((i for i, p in enumerate(parts) if any(ch in p for ch in "*?[")), len(parts))
    parts = parts[:magic]
    return None if ".." in parts else "/".join(parts)


def _files_in(directory: Path) -> list[str]:
    try:
        with os.scandir(directory) as entries:
            return sorted(e.name for e in entries if e.is_file())[:MAX_NAMES]
    except OSError:
        return []


def find_file(path: Path) -> tuple[Path, Path | None]:
    """The CODEOWNERS file of a checkout (or the file itself) and the checkout root (None for a file)."""
    if path.is_file():
        return path, None
    if not path.is_dir():
        raise CatalogError(str(path), "CODEOWNERS path does not exist")
    root = path.resolve()
    for location in LOCATIONS:
        candidate = root / location
        if candidate.is_file() and candidate.resolve().is_relative_to(root):
            return candidate, root
    raise CatalogError(str(path), f"no CODEOWNERS file ({', '.join(LOCATIONS)})")


def load_codeowners(path: Path) -> CodeownersFile:
    """Read one checkout's (or one file's) CODEOWNERS; CatalogError when it cannot be read."""
    file, root = find_file(path)
    try:
        if file.stat().st_size > MAX_BYTES:
            raise CatalogError(str(file), f"CODEOWNERS is larger than {MAX_BYTES} bytes (GitHub ignores it too)")
        text = file.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise CatalogError(str(file), f"cannot read CODEOWNERS: {exc}") from None
    return CodeownersFile(file, root, Rules.parse(text))


def source_location_path(value: str) -> str | None:
    """The repository path of a `backstage.io/source-location` (`url:` prefix or not; the path after
    `/tree/<ref>/` or `/blob/<ref>/`, the root when there is none); None for a value that names no repository."""
    text = value.strip().removeprefix("url:").strip()
    if not text:
        return None
    found = _TREE.search(text)
    if found:
        return found.group("path")
    return "" if "://" in text else text


def entity_paths(entity: Entity) -> list[str]:
    """Where a catalog entry's code lives: its source-location, then Datadog codeLocations or owners.yaml path."""
    paths: list[str] = []
    location = entity.annotations.get(SOURCE_LOCATION)
    if location and (path := source_location_path(location)) is not None:
        paths.append(path)
    paths += [p.strip() for p in entity.annotations.get(CODE_PATHS_ANNOTATION, "").split(",") if p.strip()]
    return paths


def service_paths(name: str) -> list[str]:
    """Where an undocumented service's code is looked for, in order."""
    return [f"{name}/", f"services/{name}/", f"apps/{name}/"]


@dataclass
class CodeownersSource:
    """`--catalog codeowners:PATH`: a live source whose snapshot is the CODEOWNERS rules."""

    path: Path
    kind: str = "codeowners"

    @property
    def name(self) -> str:
        """As shown in status and metrics."""
        return f"{PREFIX}{self.path}"

    def sync(self) -> LoadResult:
        """The file read whole, or CatalogError."""
        result = LoadResult()
        result.codeowners.append(load_codeowners(self.path))
        return result
