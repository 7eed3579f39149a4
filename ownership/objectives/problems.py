"""Turn pydantic validation errors into catalog errors that name file, entity, field and line."""

from __future__ import annotations

from pydantic import ValidationError

from ownership.catalog.model import CatalogError
from ownership.catalog.safe_yaml import YamlDocument


def field_path(loc: tuple[int | str, ...], prefix: str = "") -> str:
    """`('spec', 'objectives', 0, 'target')` as `spec.objectives[0].target` (after prefix)."""
    out = prefix
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += f".{part}" if out else str(part)
    return out


def validation_errors(exc: ValidationError, file: str, entity: str | None, doc: YamlDocument | None,
                      prefix: str = "") -> list[CatalogError]:
    """One CatalogError per problem pydantic found (model-level checks name the model's own path)."""
    out = []
    for error in exc.errors(include_url=False):
        loc = tuple(p for p in error["loc"] if not (isinstance(p, str) and p.startswith(("function-", "literal"))))
        path = field_path(loc, prefix)
        message = error["msg"].removeprefix("Value error, ")
        out.append(CatalogError(file, message, entity, path or None, doc.line_of(path) if doc else None))
    return out
