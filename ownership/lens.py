"""A node's catalog entry and owner by the catalog alone (no window, no findings): what the map, the
blast-radius answers and every window's analysis start from, remembered per catalog index."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from graph.model import NodeKind
from graph.service_graph import Node
from ownership.catalog.model import Entity
from ownership.findings.remembered import RememberedFindings
from ownership.identity import CatalogIndex, ResolvedOwner
from ownership.names import namespace_hint
from ownership.suggest import RememberedSuggestions


@dataclass
class NodeOwnership:
    """Ownership facts of one node, as the API reports them."""

    owner: str | None = None
    owner_status: str | None = None
    catalog_ref: str | None = None
    findings: list[str] = field(default_factory=list)
    suggested_owners: list[dict[str, Any]] = field(default_factory=list)
    entity: Entity | None = None
    owner_ref: str | None = None
    candidates: tuple[Entity, ...] = ()  # same-named entries none of which could be chosen (`ambiguous`)

    def copy(self) -> NodeOwnership:
        """A copy with no findings or suggestions yet (a remembered match stays as it was)."""
        return NodeOwnership(self.owner, self.owner_status, self.catalog_ref, [], [], self.entity, self.owner_ref,
                             self.candidates)

    @property
    def catalog(self) -> dict[str, Any] | None:
        """The matched catalog entry as the API shows it (made when asked: most answers never show it)."""
        return self.entity.to_dict() if self.entity is not None else None



def owner_name(resolved: ResolvedOwner) -> str | None:
    """The owning team's (or user's) name as declared, or as referenced when it does not resolve."""
    return resolved.name


class CatalogLens:
    """Owner and owner_status of nodes, as OwnershipAnalysis reports them, from the catalog alone:
    what the map and blast-radius answers need, without a window's findings. Remembered per node."""

    MAX_REMEMBERED = 200_000  # names: telemetry is untrusted, so the memory stays bounded

    def __init__(self, index: CatalogIndex) -> None:
        self.index = index
        self._memo: dict[tuple[str, str, str | None], tuple[NodeOwnership, ResolvedOwner | None]] = {}
        self._near: dict[str, Entity | None] = {}
        self.suggestions = RememberedSuggestions()  # orphans' suggested owners, across windows
        self.findings = RememberedFindings()  # each seen service's findings, across windows

    def of(self, name: str, kind: str, namespace: str | None = None) -> NodeOwnership:
        """Owner and owner_status of a node of that name and kind (and namespace hint, if known).
        Shared between answers: not to be changed (OwnershipAnalysis copies it)."""
        return self.match(name, kind, namespace)[0]

    def match(self, name: str, kind: str, namespace: str | None = None) -> tuple[NodeOwnership, ResolvedOwner | None]:
        """`catalog_match` of a node, remembered."""
        key = (name, kind, namespace)
        found = self._memo.get(key)
        if found is None:
            if len(self._memo) >= self.MAX_REMEMBERED:
                self._memo.clear()
            found = self._memo[key] = catalog_match(self.index, name, kind, namespace)
        return found

    def near_match(self, name: str) -> Entity | None:
        """The index's near match of an unmatched service name, remembered."""
        if name not in self._near:
            if len(self._near) >= self.MAX_REMEMBERED:
                self._near.clear()
            self._near[name] = self.index.near_match(name)
        return self._near[name]

    def ownership(self, node: Node) -> NodeOwnership:
        """Owner and owner_status of a node of a graph."""
        return self.of(node.name, node.kind, namespace_hint(node.hints))


def catalog_match(index: CatalogIndex, name: str, kind: str,
                  namespace: str | None = None) -> tuple[NodeOwnership, ResolvedOwner | None]:
    """A node's catalog entry and owner by the catalog alone (no findings), with the resolved owner
    of a matched service: what both CatalogLens and OwnershipAnalysis start from. `namespace` is the
    node's namespace hint (`identity.namespace_hint`); several candidates that it cannot tell apart
    give owner_status `ambiguous` (a virtual node stays `virtual`, without an owner)."""
    if kind != NodeKind.SERVICE:
        found = index.match_virtual(name, namespace=namespace)
        if found is None:
            return NodeOwnership(owner_status="virtual"), None
        return NodeOwnership(owner=index.owner_of(found.entity).name, owner_status="virtual",
                             catalog_ref=str(found.entity.ref), entity=found.entity), None
    identity = index.identify(name, namespace=namespace)
    if identity.candidates:
        return NodeOwnership(owner_status="ambiguous", candidates=identity.candidates), None
    if identity.match is None:
        return NodeOwnership(owner_status="undocumented"), None
    entity = identity.match.entity
    resolved = index.owner_of(entity)
    own = NodeOwnership(owner=resolved.name, owner_status=resolved.status, catalog_ref=str(entity.ref),
                        entity=entity, owner_ref=str(resolved.ref) if resolved.ref is not None else None)
    return own, resolved
