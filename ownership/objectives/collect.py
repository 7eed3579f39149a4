"""Gather the objectives of a loaded catalog: resolve OpenSLO references, read annotations."""

from __future__ import annotations

from typing import Any

from ownership.catalog.model import Catalog, CatalogError, LoadResult
from ownership.objectives.annotations import annotation_objectives
from ownership.objectives.model import Objective
from ownership.objectives.openslo import PendingSlo, SliDefinition, resolve_slos


def collect_objectives(catalog: Catalog, sources: list[Any]) -> None:
    """Fill catalog.objectives from what the readers found (and the entities' annotations).

    Problems join catalog.errors / catalog.warnings; duplicate objectives (same service, name) are
    errors and the first is kept.
    """
    found = LoadResult()
    slis = {s.name: s for s in sources if isinstance(s, SliDefinition)}
    pending = [s for s in sources if isinstance(s, PendingSlo)]
    objectives = [s for s in sources if isinstance(s, Objective)]
    objectives.extend(resolve_slos(pending, slis, found))
    objectives.extend(annotation_objectives(catalog.entities, found.errors))
    seen: dict[tuple[str, str], Objective] = {}
    for objective in objectives:
        key = (objective.service.lower(), objective.name)
        first = seen.get(key)
        if first is not None:
            found.report(CatalogError(objective.source, f"objective {objective.name!r} of {objective.service!r} is "
                                      f"already declared in {first.source}", f"objective:{objective.name}",
                                      "name", objective.line))
            continue
        seen[key] = objective
        catalog.objectives.append(objective)
    catalog.errors.extend(found.errors)
    catalog.warnings.extend(found.warnings)
