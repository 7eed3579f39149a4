"""The rule interface: one rule per finding code, composed by the analysis.

A rule is a function that looks at one set of facts and yields the findings of its code, wrapped
by `service_rule` (called once per service seen in the window) or `window_rule` (called once per
window, for findings about catalog entries or teams rather than one seen service). The analysis
gathers the facts and runs the rules listed in `ownership.findings.registry`; adding a code is one
new rule, its test, and one line there.

Modules of this package import `ownership.identity` for type checking only: identity asks
`ownership.findings.owner` for owner statuses.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Generic, TypeVar

from ownership.findings.codes import FindingCode
from ownership.findings.finding import Finding

if TYPE_CHECKING:
    from graph.service_graph import Node
    from ownership.catalog.model import Entity, EntityRef
    from ownership.identity import CatalogIndex, ResolvedOwner
    from ownership.objectives.evaluate import ObjectiveResult
    from ownership.oncall.load import TeamLoad


@dataclass(frozen=True)
class ServiceFacts:
    """What a service rule may look at: one service seen in the window and its catalog entry."""

    name: str
    node: Node
    index: CatalogIndex
    entity: Entity | None  # the matched catalog entry, None when nothing matched
    resolved: ResolvedOwner | None  # the entry's owner, resolved (None when nothing matched)
    owner: str | None  # the owner's name as the API shows it
    callers: tuple[str, ...]  # distinct services calling it in the window (no self-calls), sorted
    calls_by_target: Mapping[str, int]  # its observed callees (no self-calls) → calls
    kind_of: Callable[[str], str]  # node kind of a name of the window's graph
    owner_attributes: tuple[str, ...]  # resource attributes that name an owner
    candidates: tuple[Entity, ...] = ()  # same-named entries none of which could be chosen (ambiguous)
    near: Entity | None = None  # the entry an unmatched name matches only after normalisation
    namespace: str | None = None  # the namespace hint (service.namespace, else k8s.namespace.name)
    namespaces_seen: frozenset[str] = frozenset()  # service.namespace values seen in the window


@dataclass(frozen=True)
class WindowFacts:
    """What a window rule may look at: the catalog and which entries the window's nodes matched."""

    index: CatalogIndex
    matched: frozenset[EntityRef]
    objectives: tuple[ObjectiveResult, ...] = ()  # measured at the window's end (objective rules only)


@dataclass(frozen=True)
class TeamFacts:
    """What a team rule may look at: every team's on-call load over the window (§3b)."""

    loads: tuple[TeamLoad, ...]


F = TypeVar("F", ServiceFacts, WindowFacts, TeamFacts)


@dataclass(frozen=True)
class Rule(Generic[F]):
    """One finding code and the function that decides it."""

    code: FindingCode
    decide: Callable[[F], Iterable[Finding]]

    @property
    def doc(self) -> str:
        """The deciding function's docstring: when the code applies."""
        return (self.decide.__doc__ or "").strip()

    def __call__(self, facts: F) -> Iterable[Finding]:
        return self.decide(facts)


def service_rule(code: FindingCode) -> Callable[[Callable[[ServiceFacts], Iterable[Finding]]], Rule[ServiceFacts]]:
    """Make a function of ServiceFacts the rule of `code`."""
    return lambda decide: Rule(code, decide)


def window_rule(code: FindingCode) -> Callable[[Callable[[WindowFacts], Iterable[Finding]]], Rule[WindowFacts]]:
    """Make a function of WindowFacts the rule of `code`."""
    return lambda decide: Rule(code, decide)


def team_rule(code: FindingCode) -> Callable[[Callable[[TeamFacts], Iterable[Finding]]], Rule[TeamFacts]]:
    """Make a function of TeamFacts the rule of `code` (a team finding)."""
    return lambda decide: Rule(code, decide)
