"""Find catalog files under the given paths, read each with its format's reader, merge the results.

A path is a file or a directory (searched recursively). Backstage Location targets are followed,
but only inside the root they were found under (a directory argument, or a file's own directory).
"""

from __future__ import annotations

import re
from collections import deque
from collections.abc import Iterable, Iterator
from pathlib import Path

from ownership.catalog.backstage import (
    PRESENCE_ANNOTATION,
    parse_backstage_documents,
    resolve_target,
)
from ownership.catalog.datadog import parse_definition
from ownership.catalog.datadog_v3 import is_v3_document, parse_v3
from ownership.catalog.model import Catalog, CatalogError, Entity, LoadResult
from ownership.catalog.owner_ref import TEAM_SLUG_ANNOTATION, team_slug_ref
from ownership.catalog.owners_yaml import FILE_NAMES as OWNERS_NAMES
from ownership.catalog.owners_yaml import parse_owners_document
from ownership.catalog.safe_yaml import parse_documents, read_text
from ownership.catalog.walk import WalkLimitError, scan_yaml
from ownership.objectives.collect import collect_objectives
from ownership.objectives.openslo import is_openslo, parse_openslo_documents
from ownership.objectives.owners_objectives import read_owners_objectives

YAML_SUFFIXES = (".yaml", ".yml", ".json")  # JSON only for Datadog v3, recognised by content
SKIP_DIRS = frozenset({"node_modules", "__pycache__", "venv"})
_BACKSTAGE_API = re.compile(r"""^apiVersion:\s*["']?backstage\.io/""", re.MULTILINE)
_DD_SERVICE = re.compile(r"^dd-service:", re.MULTILINE)
_DD_SCHEMA = re.compile(r"^schema-version:", re.MULTILINE)
_DD_V3 = re.compile(r"""["']?apiVersion["']?\s*:\s*["']?v3\b""")


def classify(path: Path) -> str | None:
    """The format a file name implies: backstage, owners, datadog, or None (decide by content)."""
    name = path.name.lower()
    if name in OWNERS_NAMES:
        return "owners"
    if name.endswith((".datadog.yaml", ".datadog.yml")):
        return "datadog"
    if name in ("catalog-info.yaml", "catalog-info.yml"):
        return "backstage"
    return None


def sniff(text: str) -> str | None:
    """The format a YAML text's content implies, or None when it is no catalog file."""
    if _BACKSTAGE_API.search(text):
        return "backstage"
    if _DD_SERVICE.search(text) and _DD_SCHEMA.search(text):
        return "datadog"
    if _DD_V3.search(text):
        return "datadog-v3"
    if is_openslo(text):
        return "openslo"
    return None


def load_catalog(paths: Iterable[Path | str], extra: Iterable[LoadResult] = ()) -> Catalog:
    """Load every catalog file under paths, plus entities read elsewhere (`extra`: live sources' snapshots),
    into one Catalog (entities unique per kind/namespace/name)."""
    walker = _Walker()
    for path in paths:
        walker.add(Path(path))
    for loaded in extra:
        walker.result.extend(loaded)
    catalog = _merge(walker.result, walker.files)
    collect_objectives(catalog, walker.result.objective_sources)
    return catalog


def validate_paths(paths: Iterable[Path | str]) -> list[CatalogError]:
    """All errors (not warnings) in the catalog files under paths; empty means valid."""
    return load_catalog(paths).errors


class _Walker:
    """Visits files once each (by resolved path), following Location targets breadth-first."""

    def __init__(self) -> None:
        self.result = LoadResult()
        self.files: list[Path] = []
        self.seen: set[Path] = set()

    def add(self, path: Path) -> None:
        before = len(self.files)
        if not path.exists():
            self.result.report(CatalogError(str(path), "path does not exist"))
            return
        if path.is_dir():
            root = path.resolve()
            for file in _scan(root, self.result):
                self._visit(file, root, explicit=False)
        else:
            file = path.resolve()
            self._visit(file, file.parent, explicit=True)
        if len(self.files) == before and path.is_dir():
            self.result.report(CatalogError(str(path), "no catalog files found", severity="warning"))

    def _visit(self, start: Path, root: Path, *, explicit: bool) -> None:
        # (file, default format, must it be a catalog file?)
        queue: deque[tuple[Path, str | None, bool]] = deque([(start, None, explicit)])
        while queue:
            file, default, explicit = queue.popleft()
            if file in self.seen:
                continue  # also stops Location cycles
            self.seen.add(file)
            loaded = _read(file, default, explicit=explicit)
            if loaded is None:
                continue
            self.files.append(file)
            self.result.extend(loaded)
            for entity in loaded.entities:
                if entity.kind == "Location":
                    queue.extend((target, "backstage", True) for target in self._targets(entity, file, root))

    def _targets(self, location: Entity, file: Path, root: Path) -> Iterator[Path]:
        optional = location.annotations.get(PRESENCE_ANNOTATION) == "optional"
        for target in location.targets:
            found, problems = resolve_target(file, target, root, optional=optional)
            for problem in problems:
                problem.entity, problem.line = str(location.ref), location.line
                self.result.report(problem)
            yield from found


def _scan(root: Path, result: LoadResult) -> Iterator[Path]:
    """YAML files under root in a stable order; hidden directories and symlinked dirs are skipped.

    The scan is bounded (`walk.SCAN_LIMITS`); running out is an error naming the directory.
    """
    try:
        for path in scan_yaml(root, SKIP_DIRS, YAML_SUFFIXES):
            try:
                resolved = path.resolve()
            except (OSError, RuntimeError) as exc:
                result.report(CatalogError(str(path), f"cannot resolve path: {exc}"))
                continue
            if not resolved.is_relative_to(root):
                result.report(CatalogError(str(path), f"symlink points outside the catalog root {root}"))
                continue
            if resolved.is_file():
                yield resolved
    except WalkLimitError as exc:
        result.report(CatalogError(str(root), f"catalog directory scan {exc}; files beyond it were not read"))


def catalog_files(root: Path) -> list[Path]:
    """The YAML files a load of directory root would consider (for change detection); bounded."""
    return list(_scan(root.resolve(), LoadResult()))


def _read(file: Path, default: str | None, *, explicit: bool) -> LoadResult | None:
    """Read one file with the reader its name, content or default implies; None if no catalog file."""
    result = LoadResult()
    fmt = classify(file)
    try:
        text = read_text(file)
    except CatalogError as exc:
        if fmt is None and not explicit:
            return None  # an unrelated YAML file we could not even read
        result.report(exc)
        return result
    fmt = fmt or sniff(text) or default
    if fmt is None:
        if not explicit:
            return None
        result.report(
            CatalogError(
                str(file),
                "not a recognised catalog file (Backstage descriptor, owners.yaml or Datadog service definition)",
            )
        )
        return result
    try:
        docs = parse_documents(text, str(file))
    except CatalogError as exc:
        result.report(exc)
        return result
    if fmt == "backstage":
        parse_backstage_documents(docs, file, result)
        return result
    if fmt == "openslo":
        parse_openslo_documents(docs, file, result)
        return result
    for index, doc in enumerate(docs, start=1):
        if doc.data is None:
            continue
        if fmt == "owners":
            parse_owners_document(doc, file, result)
            read_owners_objectives(doc, file, result)
        elif is_v3_document(doc.data):
            result.entities.extend(parse_v3(doc, file, result, index=index))
        elif fmt == "datadog":
            result.entities.extend(parse_definition(doc, file, result, index=index))
    return result


def _merge(loaded: LoadResult, files: list[Path]) -> Catalog:
    """Keep the first entity per kind/namespace/name; synthetic teams only fill gaps."""
    catalog = Catalog(errors=list(loaded.errors), warnings=list(loaded.warnings), files=list(files),
                      codeowners=list(loaded.codeowners))
    by_key: dict[tuple[str, str, str], Entity] = {}
    for entity in [e for e in loaded.entities if not e.synthetic] + [e for e in loaded.entities if e.synthetic]:
        key = entity.ref.key
        first = by_key.get(key)
        if first is None:
            by_key[key] = entity
            catalog.entities.append(entity)
        elif not entity.synthetic:
            catalog.errors.append(
                CatalogError(
                    str(entity.source) if entity.source else None,
                    f"duplicate entity; already defined in {first.source}" + (f":{first.line}" if first.line else ""),
                    str(entity.ref),
                    "metadata.name",
                    entity.line,
                )
            )
    slugs = {ref for e in catalog.entities if e.kind == "Group"
             and (ref := team_slug_ref(e.annotations.get(TEAM_SLUG_ANNOTATION, ""))) is not None}
    for entity in catalog.entities:
        owner = entity.owner
        if owner is not None and owner not in slugs and (owner.key not in by_key
                                                          or owner.key[0] not in ("group", "user")):
            catalog.warnings.append(
                CatalogError(
                    str(entity.source) if entity.source else None,
                    f"owner {owner} is not a declared Group or User",
                    str(entity.ref),
                    "spec.owner",
                    entity.line,
                    "warning",
                )
            )
    return catalog
