"""Every declared objective measured at once over the store's inbound series (DESIGN §3a), and
what other parts ask of them: which services have one, each team's objectives in trouble."""

from __future__ import annotations

import bisect
import threading
import weakref
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Protocol

from graph.model import Window
from graph.store.series import InboundBucket
from graph.store.span_table import SpanTable
from ownership.objectives.burn import BURN_WINDOWS
from ownership.objectives.evaluate import DEFAULT_LIMITS, Limits, ObjectiveResult, evaluate
from ownership.objectives.model import Objective
from ownership.objectives.remembered import RememberedResults

if TYPE_CHECKING:
    from ownership.catalog.model import Entity
    from ownership.identity import CatalogIndex



class SpanReader(Protocol):
    """`QueryMirror.inbound_spans`: a window's spans between cuts as a SpanTable (None: read `inbound`)."""

    def __call__(self, window: Window, env: str | None, cuts: Sequence[float]) -> SpanTable | None: ...


class Inbound(Protocol):
    """`Store.inbound`: calls into services per bucket, or per span between cuts."""

    def __call__(self, window: Window, env: str | None = None, service: str | None = None,
                 cuts: Sequence[float] | None = None) -> list[InboundBucket]: ...


TROUBLE = ("burning", "breached")
_COVERED: weakref.WeakKeyDictionary[CatalogIndex, tuple[set[str], set[int]]] = weakref.WeakKeyDictionary()
# Per index (a catalog as loaded: never changed), the entry each name denotes and each entry's owner.
_ENTITIES: weakref.WeakKeyDictionary[CatalogIndex, dict[str, Entity | None]] = weakref.WeakKeyDictionary()
_OWNERS: weakref.WeakKeyDictionary[CatalogIndex, dict[int, str | None]] = weakref.WeakKeyDictionary()
_REMEMBERED: weakref.WeakKeyDictionary[CatalogIndex, RememberedResults] = weakref.WeakKeyDictionary()
# Per index, its objectives in the order of the answer, each with its catalog entry and owner.
_PLANS: weakref.WeakKeyDictionary[CatalogIndex, list[tuple[Objective, Entity | None, str | None]]] = \
    weakref.WeakKeyDictionary()
_REMEMBERED_LOCK = threading.Lock()


def objectives_of(index: CatalogIndex) -> list[Objective]:
    """The objectives the index's catalog declares."""
    return list(getattr(index.catalog, "objectives", []))


def _entity(index: CatalogIndex, name: str) -> Entity | None:
    """The catalog entry a telemetry name denotes (found once per index and name)."""
    known = _ENTITIES.setdefault(index, {})
    if name not in known:
        match = index.identify(name).match
        known[name] = match.entity if match is not None else None
    return known[name]


def _owner(index: CatalogIndex, entity: Entity) -> str | None:
    """The name of an entry's owner (found once per index and entry)."""
    known = _OWNERS.setdefault(index, {})
    if id(entity) not in known:
        known[id(entity)] = index.owner_of(entity).name
    return known[id(entity)]


def _plan(index: CatalogIndex) -> list[tuple[Objective, Entity | None, str | None]]:
    """The index's objectives ordered as answers list them (service, then name; declaration order
    otherwise), each with the catalog entry of its service and that entry's owner (once per index)."""
    with _REMEMBERED_LOCK:
        found = _PLANS.get(index)
    if found is None:
        found = []
        for objective in sorted(objectives_of(index), key=lambda o: (o.service.lower(), o.name)):
            entity = _entity(index, objective.service)
            found.append((objective, entity, _owner(index, entity) if entity is not None else None))
        with _REMEMBERED_LOCK:
            _PLANS[index] = found
    return found


def remembered_results(index: CatalogIndex) -> RememberedResults:
    """The results remembered for an index's objectives (kept while the index lives; room for four
    evaluations of each objective: a few windows and environments asked in turn)."""
    with _REMEMBERED_LOCK:
        found = _REMEMBERED.get(index)
        if found is None:
            found = _REMEMBERED[index] = RememberedResults(4 * len(objectives_of(index)) + 64)
        return found


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


class _Names:
    """The telemetry names of one read, found by name (any case) or by their catalog entry."""

    def __init__(self, index: CatalogIndex, names: Iterable[str]) -> None:
        self.by_entity: dict[int, list[str]] = defaultdict(list)
        self.by_lower: dict[str, list[str]] = defaultdict(list)
        for name in names:
            self.by_lower[name.lower()].append(name)
            if (entity := _entity(index, name)) is not None:
                self.by_entity[id(entity)].append(name)

    def of(self, service: str, entity: Entity | None) -> set[str]:
        """Every name that is the service."""
        names = set(self.by_lower.get(service.lower(), ()))
        if entity is not None:
            names.update(self.by_entity.get(id(entity), []))
        return names


class _CallsInto:
    """The calls into each telemetry name over one read of the store, found by name or catalog entry."""

    def __init__(self, index: CatalogIndex, buckets: Iterable[InboundBucket]) -> None:
        self.by_name: dict[str, list[InboundBucket]] = defaultdict(list)
        for bucket in buckets:
            self.by_name[bucket.service].append(bucket)
        self.names = _Names(index, self.by_name)

    def of(self, service: str, entity: Entity | None) -> list[InboundBucket]:
        """The buckets of every name that is the service, oldest first."""
        return _merged(self.names.of(service, entity), self.by_name.__getitem__)


def _merged(names: set[str], buckets: Callable[[str], list[InboundBucket]]) -> list[InboundBucket]:
    """The buckets of several names, oldest first (one name's are already in that order)."""
    if len(names) == 1:
        return list(buckets(next(iter(names))))
    return sorted((b for n in names for b in buckets(n)), key=lambda b: b.bucket)


class _SpansInto:
    """One read of spans kept as a SpanTable: an objective whose service is one name is looked up in
    the remembered results by that name's rows (see `RememberedResults`), and records are made of its
    rows only when it is evaluated again."""

    def __init__(self, index: CatalogIndex, table: SpanTable, end: float) -> None:
        self.table = table
        self.names = _Names(index, table.names)
        since = sorted(end - seconds for seconds in BURN_WINDOWS.values())
        # Of each segment, how many burn windows it ends inside (every span lies inside the window).
        self.burns = tuple(bisect.bisect_left(since, bound) for bound in table.bounds)

    def result(self, objective: Objective, entity: Entity | None, owner: str | None, end: float, limits: Limits,
               memo: RememberedResults) -> ObjectiveResult:
        """The objective's result, remembered by its rows (several names: by their records)."""
        names = self.names.of(objective.service, entity)
        if len(names) > 1:
            buckets = _merged(names, self.table.buckets)
            return memo.result(objective, buckets, end, matched=True, owner=owner, limits=limits)
        name = next(iter(names), None)
        block = self.table.block(name) if name is not None else b""
        matched = entity is not None or bool(block)
        key = ("spans", id(objective), limits, matched, self.burns, block)
        return memo.remember(key, objective, owner, end, lambda: evaluate(
            objective, self.table.buckets(name) if name is not None else [], end, matched=matched, owner=owner,
            limits=limits))


def burn_cuts(end: float) -> list[float]:
    """Where the burn windows (5 m … 6 h before end) begin: spans between them sum what burn rates need."""
    return [end - seconds for seconds in BURN_WINDOWS.values()]


def objective_results(index: CatalogIndex, inbound: Inbound, end: float, env: str | None = None,
                      limits: Limits = DEFAULT_LIMITS, memo: RememberedResults | None = None,
                      spans: SpanReader | None = None) -> list[ObjectiveResult]:
    """Each objective over its own window ending at end: the calls into every telemetry name that is
    its service (by name, or by matching the same catalog entry), with owner and status.

    Occurrences need no buckets, only sums: they read spans between the burn windows' starts (a few
    records per service instead of one per bucket); Timeslices read the buckets. One read per window
    length and kind. `memo`: results evaluated before, reused where their inputs are the same; with
    it, `spans` (`inbound_spans` of the source) reads spans as rows compared before records are made."""
    reads: dict[tuple[int, bool], _CallsInto | _SpansInto] = {}
    out = []
    for objective, entity, owner in _plan(index):
        use_spans = objective.budgeting == "Occurrences"
        key = (objective.window_seconds, use_spans)
        if key not in reads:
            reads[key] = _read(index, inbound, spans if memo is not None else None, end, env,
                               objective.window_seconds, use_spans)
        read = reads[key]
        if isinstance(read, _SpansInto) and memo is not None:
            out.append(read.result(objective, entity, owner, end, limits, memo))
            continue
        assert isinstance(read, _CallsInto)
        buckets = read.of(objective.service, entity)
        start = end - objective.window_seconds
        matched = entity is not None or any(b.bucket + b.seconds > start for b in buckets)
        out.append(evaluate(objective, buckets, end, matched=matched, owner=owner, limits=limits) if memo is None
                   else memo.result(objective, buckets, end, matched=matched, owner=owner, limits=limits))
    return out


def _read(index: CatalogIndex, inbound: Inbound, spans: SpanReader | None, end: float, env: str | None,
          seconds: int, use_spans: bool) -> _CallsInto | _SpansInto:
    """One read of the calls into services over [end - seconds, end): spans between the burn cuts (as a
    SpanTable when `spans` gives one) or buckets."""
    window = Window(end - seconds, end)
    if not use_spans:
        return _CallsInto(index, inbound(window, env))
    table = spans(window, env, burn_cuts(end)) if spans is not None else None
    if table is not None:
        return _SpansInto(index, table, end)
    return _CallsInto(index, inbound(window, env, cuts=burn_cuts(end)))


def team_trouble_counts(results: Iterable[ObjectiveResult], moved: Mapping[str, str] | None = None) -> dict[str, int]:
    """Per owning team, how many of its objectives are burning or breached (for on-call `burn_events`);
    `moved`: service → team, the what-if owners of moved services (§3b)."""
    moved_lower = {service.lower(): team for service, team in (moved or {}).items()}
    counts: Counter[str] = Counter()
    for result in results:
        owner = moved_lower.get(result.objective.service.lower(), result.owner)
        if owner and result.status in TROUBLE:
            counts[owner] += 1
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
