"""Bounded, safe YAML reading for catalog files.

Files are size-capped, and every document is pre-scanned on the event stream (libyaml's parser
is iterative) so that deep nesting, recursive aliases and alias "bombs" are rejected before any
object is built. Only then are the documents constructed with PyYAML's safe constructor.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from ownership.catalog.model import CatalogError, LoadResult

MAX_FILE_BYTES = 8 * 1024 * 1024
MAX_DEPTH = 64
# Aliases may add at most this many nodes, plus as many as the file spells out literally, so the
# work done on any file stays proportional to its size.
MAX_ALIAS_EXPANSION = 10_000

_Loader: type = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
_FIELD_PARTS = re.compile(r"\[\d+\]|[^.\[\]]+")


@dataclass(frozen=True, slots=True)
class YamlDocument:
    """One document of a multi-document file, the 1-based line it starts on, and its node tree."""

    data: Any
    line: int
    node: yaml.Node | None = None

    def line_of(self, field: str | None) -> int:
        """The line of a field path like `spec.dependsOn[2]` (as deep as it exists), else the start."""
        node = self.node
        if node is None or not field:
            return self.line
        for part in _FIELD_PARTS.findall(field):
            child = _child(node, part)
            if child is None:
                break
            node = child
        return node.start_mark.line + 1


def _child(node: yaml.Node, part: str) -> yaml.Node | None:
    if part.startswith("["):
        index = int(part[1:-1])
        if isinstance(node, yaml.SequenceNode) and index < len(node.value):
            return node.value[index]
        return None
    if isinstance(node, yaml.MappingNode):
        for key, value in node.value:
            if isinstance(key, yaml.ScalarNode) and key.value == part:
                return value
    return None


def read_text(path: Path, *, max_bytes: int = MAX_FILE_BYTES) -> str:
    """Read a UTF-8 file no larger than max_bytes; raise CatalogError otherwise."""
    try:
        with path.open("rb") as fh:
            raw = fh.read(max_bytes + 1)
    except OSError as exc:
        raise CatalogError(str(path), f"cannot read file: {exc.strerror or exc}") from None
    if len(raw) > max_bytes:
        raise CatalogError(str(path), f"file is larger than the {max_bytes} byte limit")
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise CatalogError(str(path), f"file is not UTF-8 text (byte {exc.start})") from None


def parse_documents(text: str, file: str) -> list[YamlDocument]:
    """Parse every document of a YAML stream safely; raise CatalogError with a line number.

    Equivalent to yaml.safe_load_all (same safe constructor), after the bounded pre-scan.
    """
    _prescan(text, file)
    docs: list[YamlDocument] = []
    loader = _Loader(text)
    try:
        while loader.check_node():
            node = loader.get_node()
            data = loader.construct_document(node)
            docs.append(YamlDocument(data, node.start_mark.line + 1, node))
    except yaml.MarkedYAMLError as exc:
        raise _marked(exc, file) from None
    except (yaml.YAMLError, ValueError, TypeError, RecursionError) as exc:
        raise CatalogError(file, f"invalid YAML: {exc}") from None
    finally:
        loader.dispose()
    return docs


def read_documents(path: Path) -> list[YamlDocument]:
    """Read and parse one catalog file (see parse_documents)."""
    return parse_documents(read_text(path), str(path))


def _marked(exc: yaml.MarkedYAMLError, file: str) -> CatalogError:
    mark = exc.problem_mark or exc.context_mark
    line = mark.line + 1 if mark is not None else None
    problem = " ".join(p for p in (exc.context, exc.problem) if p) or "invalid YAML"
    return CatalogError(file, f"invalid YAML: {problem}", line=line)


def _prescan(text: str, file: str) -> None:
    """Walk the event stream once, enforcing the depth and alias-expansion limits."""
    anchors: dict[str, int] = {}
    open_anchors: set[str] = set()
    stack: list[tuple[str | None, int]] = []
    expanded = literal = 0
    try:
        for event in yaml.parse(text, Loader=_Loader):
            if isinstance(event, yaml.DocumentStartEvent):
                anchors.clear()
            elif isinstance(event, yaml.AliasEvent):
                if event.anchor in open_anchors:
                    raise CatalogError(file, "recursive YAML alias", line=event.start_mark.line + 1)
                expanded += anchors.get(event.anchor, 1)
                literal += 1
            elif isinstance(event, yaml.ScalarEvent):
                expanded += 1
                literal += 1
                if event.anchor is not None:
                    anchors[event.anchor] = 1
            elif isinstance(event, yaml.CollectionStartEvent):
                if len(stack) >= MAX_DEPTH:
                    raise CatalogError(file, f"YAML nesting deeper than {MAX_DEPTH}", line=event.start_mark.line + 1)
                stack.append((event.anchor, expanded))
                if event.anchor is not None:
                    open_anchors.add(event.anchor)
                expanded += 1
                literal += 1
            elif isinstance(event, yaml.CollectionEndEvent):
                anchor, start = stack.pop()
                if anchor is not None:
                    anchors[anchor] = expanded - start
                    open_anchors.discard(anchor)
            if expanded - literal > MAX_ALIAS_EXPANSION + literal:
                raise CatalogError(
                    file,
                    f"YAML aliases expand to more than {MAX_ALIAS_EXPANSION} extra nodes (alias bomb?)",
                    line=event.start_mark.line + 1,
                )
    except yaml.MarkedYAMLError as exc:
        raise _marked(exc, file) from None
    except yaml.YAMLError as exc:
        raise CatalogError(file, f"invalid YAML: {exc}") from None


def documents_of(path: Path, result: LoadResult) -> list[YamlDocument] | None:
    """The YAML documents of one catalog file; None when the file cannot be read (reported in `result`)."""
    try:
        return read_documents(path)
    except CatalogError as exc:
        result.report(exc)
        return None
