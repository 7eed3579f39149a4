"""Every declared objective measured at once over the store's inbound series (DESIGN §3a), and
what other parts ask of them: which services have one, each team's objectives in trouble."""

from __future__ import annotations

import weakref
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Sequence
from typing import TYPE_CHECKING

from graph.model import Window
from graph.store.series import InboundBucket
from ownership.objectives.evaluate import DEFAULT_LIMITS, Limits, ObjectiveResult, evaluate
from ownership.objectives.model import Objective

if TYPE_CHECKING:
    from ownership.catalog.model import Entity
    from ownership.identity import CatalogIndex

Inbound = Callable[[Window, str | None], list[InboundBucket]]
TROUBLE = ("burning", "breached")
_COVERED: weakref.WeakKeyDictionary[CatalogIndex, tuple[set[str], set[int]]] = weakref.WeakKeyDictionary()


def objectives_of(index: CatalogIndex) -> list[Objective]:
    """The objectives the index's catalog declares."""
    return list(getattr(index.catalog, "objectives", []))


def _entity(index: CatalogIndex, name: str) -> Entity | None:
    match = index.identify(name).match
    return match.entity if match is not None else None


def has_objective(index: CatalogIndex, service: str, entity: Entity | None) -> bool:
    """Whether any objective is declared for a service (by its name, or for its catalog entry)."""
    covered = _COVERED.get(index)
    if covered is None:
        names, entities = set(), set()
        for objective in objectives_of(index):
            names.add(objective.service.lower())
            if (found := _entity(index, objective.service)) is not None:
                entities.add(id(found))
        covered = _COVERED[index] = (names, entities)
    return service.lower() in covered[0] or (entity is not None and id(entity) in covered[1])


def objective_results(index: CatalogIndex, inbound: Inbound, end: float, env: str | None = None,
                      limits: Limits = DEFAULT_LIMITS) -> list[ObjectiveResult]:
    """Each objective over its own window ending at end: the calls into every telemetry name that is
    its service (by name, or by matching the same catalog entry), with owner and status."""
    objectives = objectives_of(index)
    if not objectives:
        return []
    longest = max(o.window_seconds for o in objectives)
    by_name: dict[str, list[InboundBucket]] = defaultdict(list)
    for bucket in inbound(Window(end - longest, end), env):
        by_name[bucket.service].append(bucket)
    names_of_entity: dict[int, list[str]] = defaultdict(list)
    by_lower: dict[str, list[str]] = defaultdict(list)
    for name in by_name:
        by_lower[name.lower()].append(name)
        if (entity := _entity(index, name)) is not None:
            names_of_entity[id(entity)].append(name)
    out = []
    for objective in objectives:
        entity = _entity(index, objective.service)
        names = set(by_lower.get(objective.service.lower(), ()))
        if entity is not None:
            names.update(names_of_entity.get(id(entity), []))
        buckets = sorted((b for n in names for b in by_name[n]), key=lambda b: b.bucket)
        start = end - objective.window_seconds
        seen = any(b.bucket + b.seconds > start for b in buckets)
        owner = index.owner_of(entity).name if entity is not None else None
        out.append(evaluate(objective, buckets, end, matched=entity is not None or seen, owner=owner,
                            limits=limits))
    return sorted(out, key=lambda r: (r.objective.service.lower(), r.objective.name))


def team_trouble_counts(results: Iterable[ObjectiveResult]) -> dict[str, int]:
    """Per owning team, how many of its objectives are burning or breached (for on-call `burn_events`)."""
    counts: Counter[str] = Counter()
    for result in results:
        if result.owner and result.status in TROUBLE:
            counts[result.owner] += 1
    return dict(counts)


def burning_or_breached_by_team(index: CatalogIndex, inbound: Inbound, end: float,
                                limits: Limits = DEFAULT_LIMITS) -> dict[str, int]:
    """Each team's count of objectives `burning` or `breached` at end (teams with none are left out)."""
    return team_trouble_counts(objective_results(index, inbound, end, None, limits))


def filter_results(results: Sequence[ObjectiveResult], *, service: str | None = None, owner: str | None = None,
                   status: str | None = None) -> list[ObjectiveResult]:
    """Results of one service, owner and/or status (names ignore case)."""
    return [r for r in results
            if (service is None or r.objective.service.lower() == service.lower())
            and (owner is None or (r.owner or "").lower() == owner.lower())
            and (status is None or r.status == status)]
