"""Lookups over a loaded Catalog: which entity a telemetry name is, who owns it, what it documents.

Rules (DESIGN §3): a telemetry `service.name` matches an entity by exact name, then by declared
aliases, ignoring case. A hit found only after normalisation (`-`, `_`, `.` equal; a leading
namespace, system or owner segment dropped) is a *near* match: never a match, but a
`name_mismatch` finding whose suggested alias is the telemetry name.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Literal, TypeVar

from ownership.catalog.model import (
    DEFAULT_NAMESPACE,
    Catalog,
    Entity,
    EntityRef,
    RefError,
)
from ownership.catalog.owner_ref import GITHUB_KIND, TEAM_SLUG_ANNOTATION, parse_owner, team_slug_ref
from ownership.findings.owner import owner_status
from ownership.names import DNS_SUFFIX, normalise, telemetry_names

T = TypeVar("T")

SERVICE_KINDS: tuple[str, ...] = ("component",)
# Virtual nodes (databases, queues, external peers) are usually Resources, sometimes Components.
VIRTUAL_KINDS: tuple[str, ...] = ("resource", "component")


@dataclass(frozen=True, slots=True)
class Match:
    """How a telemetry name matched an entity: by `name` or by an `alias` from `source`."""

    entity: Entity
    how: Literal["name", "alias"]
    source: str
    value: str
    others: tuple[Entity, ...] = ()


@dataclass(frozen=True, slots=True)
class Identity:
    """What a telemetry name denotes: one entry (`match`), or several `candidates` none of which
    could be chosen (DESIGN §3 "Namespaces": `ambiguous_match`), or nothing."""

    match: Match | None
    candidates: tuple[Entity, ...] = ()

    @property
    def entity(self) -> Entity | None:
        """The chosen entry, if any."""
        return self.match.entity if self.match is not None else None


@dataclass(frozen=True, slots=True)
class ResolvedOwner:
    """The owner of an entity: its ref, the Group/User it names (None if undeclared), and activity."""

    ref: EntityRef | None
    entity: Entity | None
    is_user: bool
    active: bool | None  # None: membership unknown (a team known only from a Datadog definition)

    @property
    def status(self) -> str:
        """`ok`, `unowned`, `owner_not_found` or `owner_inactive`: decided by ownership.findings.owner."""
        return owner_status(self)

    @property
    def name(self) -> str | None:
        """The owning team's (or user's) name as declared, or as referenced when it does not resolve."""
        if self.entity is not None:
            return self.entity.name
        return self.ref.name if self.ref is not None else None


@dataclass(frozen=True, slots=True)
class Team:
    """A Group with its members (Group.spec.members and User.spec.memberOf), parent and children."""

    entity: Entity
    members: tuple[EntityRef, ...]
    parent: EntityRef | None
    children: tuple[EntityRef, ...]
    active: bool | None

    @property
    def ref(self) -> EntityRef:
        """The team's entity ref."""
        return self.entity.ref

    @property
    def name(self) -> str:
        """The team's name."""
        return self.entity.name


class CatalogIndex:
    """Read-only indexes over a Catalog for matching and ownership questions."""

    def __init__(self, catalog: Catalog) -> None:
        self.catalog = catalog
        self._by_ref: dict[EntityRef, Entity] = {}
        self._names: dict[str, dict[str, list[Entity]]] = defaultdict(lambda: defaultdict(list))
        self._aliases: dict[str, dict[str, list[tuple[Entity, str, str]]]] = defaultdict(lambda: defaultdict(list))
        self._normal: dict[str, dict[str, list[Entity]]] = defaultdict(lambda: defaultdict(list))
        self._owned: dict[EntityRef, list[Entity]] = defaultdict(list)
        self._member_of: dict[EntityRef, list[EntityRef]] = defaultdict(list)
        self._child_of: dict[EntityRef, list[EntityRef]] = defaultdict(list)
        self._listed_parent: dict[EntityRef, EntityRef] = {}
        self._slugs: dict[EntityRef, Entity] = {}
        # Answers remembered per entity (by identity: entities live as long as the index, which no
        # one changes after it is built; a reload builds a new index).
        self._owners: dict[int, tuple[Entity, ResolvedOwner]] = {}
        self._active: dict[int, tuple[Entity, bool | None]] = {}
        for entity in catalog.entities:
            self._by_ref.setdefault(entity.ref, entity)
            slug = team_slug_ref(entity.annotations.get(TEAM_SLUG_ANNOTATION, "")) if entity.kind == "Group" else None
            if slug is not None:
                self._slugs.setdefault(slug, entity)
        for entity in catalog.entities:
            self._add(entity)

    def _add(self, entity: Entity) -> None:
        kind = entity.kind.lower()
        self._names[kind][entity.name.lower()].append(entity)
        self._normal[kind][normalise(entity.name)].append(entity)
        for source, value in telemetry_names(entity):
            self._aliases[kind][value.lower()].append((entity, source, value))
            self._normal[kind][normalise(value)].append(entity)
        if entity.owner is not None:
            self._owned[self.canonical_owner(entity.owner)].append(entity)
        for group in entity.member_of:
            self._member_of[group].append(entity.ref)
        if kind == "group":
            if entity.parent is not None:
                self._child_of[entity.parent].append(entity.ref)
            for child in entity.children:
                self._listed_parent.setdefault(child, entity.ref)

    # -- lookups -------------------------------------------------------------------------------

    def get(self, ref: EntityRef | str, *, default_kind: str = "component") -> Entity | None:
        """The entity a ref (or ref string) names, or None."""
        if isinstance(ref, str):
            try:
                ref = EntityRef.parse(ref, default_kind=default_kind)
            except RefError:
                return None
        return self._by_ref.get(ref)

    def services(self) -> list[Entity]:
        """Components of type service (the entries the `stale` rule checks)."""
        return [e for e in self.catalog.of_kind("component") if (e.type or "").lower() == "service"]

    def match_service(self, name: str, *, namespace: str | None = None) -> Match | None:
        """The Component a telemetry service.name denotes: exact name, then alias, ignoring case
        (None also when several candidates cannot be told apart: see `identify`)."""
        return self.identify(name, namespace=namespace).match

    def match_virtual(self, name: str, *, namespace: str | None = None) -> Match | None:
        """The Resource (or else Component) a virtual node (database, queue, external peer) denotes."""
        return self.identify(name, kinds=VIRTUAL_KINDS, namespace=namespace).match

    def identify(self, name: str, *, kinds: tuple[str, ...] = SERVICE_KINDS,
                 namespace: str | None = None) -> Identity:
        """The entry a telemetry name denotes (DESIGN §3 "Namespaces").

        Candidates are the entries of the first kind whose name (else alias) is `name`, ignoring case.
        One candidate is the match. Of several, the one in the `namespace` hint's catalog namespace
        is chosen; with no hint, or a hint matching none of them, the first is chosen only when all
        resolve to the same owner, else none is (`candidates` lists them).
        """
        found = self._candidates(name, kinds)
        if found is None:
            return Identity(None)
        how, hits = found
        entities = list(dict.fromkeys(entity for entity, _, _ in hits))
        chosen = _pick(entities, namespace, self._same_owner)
        if chosen is None:
            return Identity(None, tuple(sorted(entities, key=lambda e: str(e.ref))))
        best, others = chosen
        _, source, value = next(h for h in hits if h[0] is best)
        return Identity(Match(best, how, source, value, others))

    def _candidates(self, name: str, kinds: tuple[str, ...]
                    ) -> tuple[Literal["name", "alias"], list[tuple[Entity, str, str]]] | None:
        key = name.lower()
        for kind in kinds:
            found = self._names[kind].get(key)
            if found:
                return "name", [(e, "metadata.name", e.name) for e in found]
        for kind in kinds:
            hits = self._aliases[kind].get(key)
            if hits:
                return "alias", hits
        return None

    def _same_owner(self, entities: list[Entity]) -> bool:
        """All entries resolve to one declared owner."""
        owners = {self.canonical_owner(e.owner) if e.owner is not None else None for e in entities}
        return len(owners) == 1 and None not in owners

    def near_match(self, name: str, *, kinds: Iterable[str] = SERVICE_KINDS) -> Entity | None:
        """An entity matching only after normalisation (for `name_mismatch`); None if it truly matches.

        `-`, `_`, `.` and case are ignored; a leading `<segment>.` or `<segment>/` is dropped when
        the segment is the entity's namespace, system or owner name (as `shop.checkout` or
        `payments/ledger`).
        """
        kinds = tuple(kinds)
        if self._candidates(name, kinds) is not None:
            return None
        for kind in kinds:
            found = self._normal[kind].get(normalise(name))
            if found:
                return _first(found)
        for sep in ("/", "."):
            prefix, _, rest = name.partition(sep)
            if not rest or not prefix:
                continue
            wanted = normalise(prefix)
            for kind in kinds:
                found = [e for e in self._normal[kind].get(normalise(rest), []) if wanted in _prefixes(e)]
                if found:
                    return _first(found)
        return self._dns_near_match(name, kinds)

    def _dns_near_match(self, name: str, kinds: tuple[str, ...]) -> Entity | None:
        """`<name>.<namespace>[.svc[.cluster.local]]`: the entry named `<name>` whose namespace,
        system or owner is `<namespace>`; with a `.svc` suffix, any entry named `<name>`."""
        base, cluster = DNS_SUFFIX.subn("", name)
        first, dot, rest = base.partition(".")
        if not first or not (dot or cluster):
            return None
        wanted = normalise(rest.partition(".")[0]) if rest else None
        for kind in kinds:
            found = self._normal[kind].get(normalise(first), [])
            scoped = [e for e in found if wanted is not None and wanted in _prefixes(e)]
            if scoped or (cluster and found):
                return _first(scoped or found)
        return None

    # -- ownership ----------------------------------------------------------------------------

    def owner_entity(self, ref: EntityRef) -> Entity | None:
        """The declared entity an owner ref names: by ref, or a GitHub team handle by the Group's
        `github.com/team-slug` annotation."""
        return self._slugs.get(ref) if ref.kind.lower() == GITHUB_KIND else self._by_ref.get(ref)

    def canonical_owner(self, ref: EntityRef) -> EntityRef:
        """One ref per team: the declared Group or User's own ref, else the ref as written."""
        found = self.owner_entity(ref)
        return found.ref if found is not None else ref

    def telemetry_owner(self, value: str) -> EntityRef | None:
        """A telemetry owner attribute (namespace `default`) as a canonical owner ref; None if unparsable."""
        try:
            return self.canonical_owner(parse_owner(value))
        except RefError:
            return None

    def owner_of(self, entity: Entity) -> ResolvedOwner:
        """Resolve entity.owner to a declared Group or User and say whether that owner is active."""
        return _remembered(self._owners, entity, self._resolve_owner)

    def _resolve_owner(self, entity: Entity) -> ResolvedOwner:
        ref = entity.owner
        if ref is None:
            return ResolvedOwner(None, None, False, None)
        owner = self.owner_entity(ref)
        if owner is None or owner.kind not in ("Group", "User"):
            return ResolvedOwner(ref, None, ref.kind.lower() == "user", None)
        if owner.kind == "User":
            return ResolvedOwner(ref, owner, True, True)
        return ResolvedOwner(ref, owner, False, self.is_active(owner))

    def members_of(self, group: Entity) -> list[EntityRef]:
        """Direct members: Group.spec.members plus every User whose memberOf names the group."""
        seen: dict[EntityRef, None] = dict.fromkeys(group.members)
        seen.update(dict.fromkeys(self._member_of.get(group.ref, [])))
        return list(seen)

    def children_of(self, group: Entity) -> list[EntityRef]:
        """Child groups: Group.spec.children plus groups whose parent is this group."""
        return list(dict.fromkeys([*group.children, *self._child_of.get(group.ref, [])]))

    def parent_of(self, group: Entity) -> EntityRef | None:
        """The parent group: spec.parent, or a group listing this one among its children."""
        return group.parent or self._listed_parent.get(group.ref)

    def is_active(self, group: Entity) -> bool | None:
        """True when the group or any descendant group has members; None when unknown (synthetic)."""
        return _remembered(self._active, group, self._has_members)

    def _has_members(self, group: Entity) -> bool | None:
        stack, seen = [group], {group.ref}
        while stack:
            current = stack.pop()
            if self.members_of(current):
                return True
            for child_ref in self.children_of(current):
                child = self._by_ref.get(child_ref)
                if child is not None and child.kind == "Group" and child_ref not in seen:
                    seen.add(child_ref)
                    stack.append(child)
        return None if group.synthetic else False

    def teams(self) -> list[Team]:
        """Every Group with its members, parent, children and activity, sorted by ref."""
        groups = sorted(self.catalog.of_kind("group"), key=lambda g: str(g.ref))
        return [self._team(g) for g in groups]

    def team(self, ref: EntityRef | str) -> Team | None:
        """One team by ref or name (default kind group)."""
        entity = self.get(ref, default_kind="group")
        return self._team(entity) if entity is not None and entity.kind == "Group" else None

    def _team(self, group: Entity) -> Team:
        return Team(
            entity=group,
            members=tuple(self.members_of(group)),
            parent=self.parent_of(group),
            children=tuple(self.children_of(group)),
            active=self.is_active(group),
        )

    def team_services(self, team: Entity | EntityRef | str, *, kinds: Iterable[str] = SERVICE_KINDS) -> list[Entity]:
        """Entities (Components by default) owned directly by a team or user."""
        if isinstance(team, Entity):
            ref = team.ref
        elif isinstance(team, str):
            try:
                ref = EntityRef.parse(team, default_kind="group")
            except RefError:
                return []
        else:
            ref = team
        ref = self.canonical_owner(ref)
        wanted = {k.lower() for k in kinds}
        return [e for e in self._owned.get(ref, []) if e.kind.lower() in wanted]

    # -- declarations ---------------------------------------------------------------------------

    def depends_on(self, entity: Entity) -> list[EntityRef]:
        """Declared dependencies (spec.dependsOn / owners.yaml depends_on)."""
        return list(entity.depends_on)

    def declares_dependency(self, entity: Entity, target: Entity | EntityRef) -> bool:
        """True when entity's dependsOn names target."""
        ref = target.ref if isinstance(target, Entity) else target
        return ref in entity.depends_on

    def lifecycle(self, entity: Entity) -> str | None:
        """The lifecycle, lowercased (experimental, production, deprecated, ...)."""
        return entity.lifecycle.lower() if entity.lifecycle else None


def _prefixes(entity: Entity) -> set[str]:
    names = {entity.namespace}
    if entity.system is not None:
        names.add(entity.system.name)
    if entity.owner is not None:
        names.add(entity.owner.name)
    return {normalise(n) for n in names}


def _first(candidates: list[Entity]) -> Entity:
    """The entry in `default` first, then the lowest ref."""
    return min(candidates, key=lambda e: (e.namespace.lower() != DEFAULT_NAMESPACE, str(e.ref)))


def _pick(candidates: list[Entity], namespace: str | None,
          same_owner: Callable[[list[Entity]], bool]) -> tuple[Entity, tuple[Entity, ...]] | None:
    """The chosen entry and the others, or None when several cannot be told apart."""
    if len(candidates) == 1:
        return candidates[0], ()
    wanted = [e for e in candidates if namespace and e.namespace.lower() == namespace.lower()]
    if len(wanted) != 1:
        if not same_owner(candidates):
            return None
        wanted = [_first(candidates)]
    best = wanted[0]
    return best, tuple(e for e in candidates if e is not best)


def _remembered(memo: dict[int, tuple[Entity, T]], entity: Entity, work_out: Callable[[Entity], T]) -> T:
    """`work_out(entity)`, remembered by the entity's identity (kept with it, so the id is not reused)."""
    found = memo.get(id(entity))
    if found is None or found[0] is not entity:
        found = memo[id(entity)] = (entity, work_out(entity))
    return found[1]
