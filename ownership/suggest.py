"""Owner suggestions for orphaned services: candidate teams, a confidence in [0, 1], and evidence.

Each kind of evidence gives a team a weight; weights combine as independent signals
(1 - prod(1 - w)). No evidence, no suggestion.
"""

from __future__ import annotations

import heapq
import re
import threading
from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

# Weights per kind of evidence (the strongest a single signal can give).
W_NEAR_MATCH = 0.9
W_CODEOWNERS = 0.9
W_ATTRIBUTE = 0.85
W_NAMESPACE = 0.6
W_PREFIX = 0.4
W_NEIGHBOURS = 0.5
MAX_SUGGESTIONS = 3
_TOKEN = re.compile(r"[-_./:]")
NAMESPACE_HINTS = ("service.namespace", "k8s.namespace.name")


@dataclass
class Candidate:
    """One team that could own the service, with its evidence combined into a confidence."""

    team: str
    evidence: list[str]
    confidence: float

    def to_dict(self) -> dict[str, Any]:
        """The API's suggestion object."""
        return {"team": self.team, "confidence": self.confidence, "evidence": self.evidence}


def name_prefix(name: str) -> str:
    """The first token of a service name (`payments-ledger` → `payments`)."""
    return _TOKEN.split(name.lower(), maxsplit=1)[0]


@dataclass
class SuggestionContext:
    """What suggestions are computed from, prepared once per analysis."""

    team_names: dict[str, str]  # lowercase team name → the name as declared
    owner_of_service: Mapping[str, str]  # telemetry service name → owning team name (owned services only)
    hints_of: Callable[[str], Mapping[str, str]]
    owner_attributes: tuple[str, ...]
    neighbours: Callable[[str], Iterable[tuple[str, int, str]]]  # (other service, calls, "caller"|"callee")
    # A telemetry owner attribute's value → the declared team it names (the owner normaliser);
    # None: look the value up in team_names as written.
    team_of: Callable[[str], str | None] | None = None
    # An orphan with `name_mismatch` → (the near-matched entry's ref, its owning team), else None.
    near_owner_of: Callable[[str], tuple[str, str] | None] | None = None
    # A service → (the declared team CODEOWNERS gives its directory, the evidence), else None.
    codeowners_of: Callable[[str], tuple[str, str] | None] | None = None
    _by_namespace: dict[str, dict[str, int]] = field(default_factory=dict)
    _by_prefix: dict[str, dict[str, int]] = field(default_factory=dict)
    _prefix_evidence: dict[str, list[tuple[str, float, str]]] = field(default_factory=dict)
    _namespace_evidence: dict[str, list[tuple[str, float, str]]] = field(default_factory=dict)
    _prefix_weighed: dict[str, tuple[dict[str, tuple[float, str]], list[tuple[str, float, str]]]] = field(
        default_factory=dict)

    def __post_init__(self) -> None:
        by_namespace: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
        by_prefix: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
        for service, team in self.owner_of_service.items():
            hints = self.hints_of(service)
            for key in NAMESPACE_HINTS:
                if hints.get(key):
                    by_namespace[f"{key}={hints[key]}"][team] += 1
            prefix = name_prefix(service)  # a whole name (`payments`) is a prefix too (`payments-api`)
            if prefix:
                by_prefix[prefix][team] += 1
        self._by_namespace = by_namespace
        self._by_prefix = by_prefix

    def shared_prefix(self, prefix: str) -> list[tuple[str, float, str]]:
        """(team, weight, evidence) for each team owning services whose name starts with `prefix`
        (made once per prefix: every orphan of a common prefix asks for the same)."""
        return _shared(self._prefix_evidence, self._by_prefix, prefix, W_PREFIX,
                       lambda team, n: f"name prefix '{prefix}' is shared with {n} service(s) of {team}")

    def prefix_weighed(self, prefix: str) -> tuple[dict[str, tuple[float, str]], list[tuple[str, float, str]]]:
        """`shared_prefix` with each team's doubt left: by team (team → (doubt left, evidence)), and as
        (team, doubt left, evidence) best first as candidates rank when the prefix is a team's only
        evidence (both made once per prefix)."""
        found = self._prefix_weighed.get(prefix)
        if found is None:
            ranked = [(team, _clamped_left(weight), why) for team, weight, why in self.shared_prefix(prefix)]
            by_team = {team: (left, why) for team, left, why in ranked}
            ranked.sort(key=lambda item: _rank(item[0], item[1], None))
            found = self._prefix_weighed[prefix] = (by_team, ranked)
        return found

    def shared_namespace(self, key: str, value: str) -> list[tuple[str, float, str]]:
        """(team, weight, evidence) for each team owning services with the namespace hint `key=value`."""
        hint = f"{key}={value}"
        return _shared(self._namespace_evidence, self._by_namespace, hint, W_NAMESPACE,
                       lambda team, n: f"{hint} is shared with {n} service(s) owned by {team}")

    def evidence_key(self) -> tuple[frozenset[tuple[str, str]], frozenset[tuple[str, str, int]]]:
        """What the window's owned services say, for every orphan alike: their owners (names and
        prefixes) and their namespace hints."""
        return (frozenset(self.owner_of_service.items()),
                frozenset((hint, team, n) for hint, teams in self._by_namespace.items() for team, n in teams.items()))

    def team_for(self, value: str) -> str | None:
        """The declared team an owner attribute's value names, or None."""
        return self.team_of(value) if self.team_of is not None else self.team_names.get(value.lower())


def _shared(made: dict[str, list[tuple[str, float, str]]], counts: Mapping[str, Mapping[str, int]], key: str,
            weight: float, say: Callable[[str, int], str]) -> list[tuple[str, float, str]]:
    """Each team's share of the services counted under `key`, as weighted evidence (made once per key)."""
    found = made.get(key)
    if found is None:
        owners = counts.get(key) or {}
        total = sum(owners.values())
        found = made[key] = [(team, weight * n / total, say(team, n)) for team, n in owners.items()]
    return found


class RememberedSuggestions:
    """Suggestions kept from one window to the next, for one catalog index (CatalogLens holds it).

    Beyond the catalog, an orphan's suggestions depend on its own hints, its neighbours with their
    calls, and what the window's owned services say (`SuggestionContext.evidence_key`): they are
    made again only when one of these changed. The answers are shared: never change them.
    """

    MAX_REMEMBERED = 200_000

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._evidence: Any = None
        self._generation = 0
        self._made: dict[str, tuple[int, Any, list[dict[str, Any]]]] = {}

    def generation(self, ctx: SuggestionContext) -> int:
        """The generation of a context's shared evidence (a new one when it differs from the last)."""
        evidence = ctx.evidence_key()
        with self._lock:
            if evidence != self._evidence:
                self._evidence, self._generation = evidence, self._generation + 1
                self._made.clear()
            return self._generation

    def suggest(self, service: str, ctx: SuggestionContext, generation: int) -> list[dict[str, Any]]:
        """`suggest_owners(service, ctx)`, remembered while its evidence stays the same."""
        neighbours = tuple(ctx.neighbours(service))
        key = (neighbours, tuple(sorted(ctx.hints_of(service).items())))
        found = self._made.get(service)
        if found is not None and found[0] == generation and found[1] == key:
            return found[2]
        made = suggest_owners(service, ctx, neighbours)
        with self._lock:
            if len(self._made) >= self.MAX_REMEMBERED:
                self._made.clear()
            if generation == self._generation:
                self._made[service] = (generation, key, made)
        return made


def _clamped_left(weight: float) -> float:
    """The share of doubt one piece of evidence of this weight leaves."""
    return 1.0 - min(max(weight, 0.0), 1.0)


def _rank(team: str, left: float, claimed: str | None) -> tuple[bool, float, str]:
    """The order of candidates: the claimed team first, then by confidence (two decimals), then by name."""
    return (team != claimed, -round(1.0 - left, 2), team)


def suggest_owners(service: str, ctx: SuggestionContext,
                   neighbours: Iterable[tuple[str, int, str]] | None = None) -> list[dict[str, Any]]:
    """Candidate teams for `service`, best first (`neighbours`: ctx.neighbours(service), if already read).

    Each team's evidence, in order: the near-matched entry's owner, CODEOWNERS, owner attributes,
    namespaces, the name prefix, the neighbours. A prefix shared with every team (`svc-…`) would give
    each of them a candidate: only teams with other evidence and the best few with prefix evidence
    alone are weighed (the rest cannot make the cut)."""
    # Per team: the share of doubt its evidence leaves (confidence = 1 - the product) and why.
    remaining, evidence, claimed = _first_evidence(service, ctx)
    calls_by_team, detail, total_calls = _neighbour_calls(
        ctx.neighbours(service) if neighbours is None else neighbours, ctx.owner_of_service)
    prefix = name_prefix(service)
    prefixed: dict[str, str] = {}  # per team, its prefix evidence (made into its list only when chosen)
    if prefix and prefix != service.lower():
        weighed = remaining.keys() | calls_by_team.keys()
        of_team, ranked = ctx.prefix_weighed(prefix)
        for team in weighed:
            if (found := of_team.get(team)) is not None:
                left, prefixed[team] = found
                remaining[team] = remaining.get(team, 1.0) * left
        alone = 0
        for team, left, why in ranked:
            if alone == MAX_SUGGESTIONS:
                break
            if team not in weighed:
                remaining[team], prefixed[team] = left, why
                alone += 1
    for team, calls in calls_by_team.items():
        remaining[team] = remaining.get(team, 1.0) * _clamped_left(W_NEIGHBOURS * calls / total_calls)
    # Many teams can share a neighbour: keep the best few without sorting them all.
    best = heapq.nsmallest(MAX_SUGGESTIONS, [_rank(team, left, claimed) for team, left in remaining.items()])
    return [Candidate(team, _evidence(team, evidence.get(team, []), prefixed.get(team), detail.get(team)),
                      -negative).to_dict()
            for _, negative, team in best if negative < 0]


def _first_evidence(service: str, ctx: SuggestionContext) -> tuple[dict[str, float], dict[str, list[str]], str | None]:
    """Per team, the doubt left and the evidence of the near-matched entry's owner, CODEOWNERS, owner
    attributes and namespaces; and the claimed team (ranked first): the near-matched entry's owner, else
    the team the service's own telemetry names (DESIGN §3, §3c)."""
    remaining: dict[str, float] = {}
    evidence: dict[str, list[str]] = {}

    def add(team: str, weight: float, why: str) -> None:
        if team in remaining:
            remaining[team] *= _clamped_left(weight)
            evidence[team].append(why)
        else:
            remaining[team] = _clamped_left(weight)
            evidence[team] = [why]

    near = ctx.near_owner_of(service) if ctx.near_owner_of is not None else None
    if near is not None:
        entry, team = near
        add(team, W_NEAR_MATCH, f"catalog entry {entry} owned by {team} matches this name after normalising it")
    claim = ctx.codeowners_of(service) if ctx.codeowners_of is not None else None
    if claim is not None:
        add(claim[0], W_CODEOWNERS, claim[1])
    hints = ctx.hints_of(service)
    claimed: str | None = near[1] if near is not None else None
    for key in ctx.owner_attributes:
        value = hints.get(key)
        team = ctx.team_for(value) if value else None
        if team:
            claimed = claimed or team
            add(team, W_ATTRIBUTE, f"resource attribute {key}={value}")
    for key in NAMESPACE_HINTS:
        value = hints.get(key)
        for team, weight, why in ctx.shared_namespace(key, value) if value else ():
            add(team, weight, why)
    return remaining, evidence, claimed


def _neighbour_calls(neighbours: Iterable[tuple[str, int, str]], owner_of: Mapping[str, str]
                     ) -> tuple[dict[str, int], dict[str, list[tuple[str, str, int]]], int]:
    """Per owning team, its neighbours' calls and (role, neighbour, calls) of each (made into text only
    for the teams chosen); and the calls of every neighbour."""
    calls_by_team: dict[str, int] = {}
    detail: dict[str, list[tuple[str, str, int]]] = {}
    total_calls = 0
    for other, calls, role in neighbours:
        total_calls += calls
        team = owner_of.get(other)
        if team:
            if team in calls_by_team:
                calls_by_team[team] += calls
                detail[team].append((role, other, calls))
            else:
                calls_by_team[team] = calls
                detail[team] = [(role, other, calls)]
    return calls_by_team, detail, total_calls


def _evidence(team: str, first: list[str], prefix: str | None, neighbours: list[tuple[str, str, int]] | None
              ) -> list[str]:
    """A chosen team's evidence: the first kinds', then the prefix's, then its neighbours (at most five,
    in the order of their text)."""
    out = [*first, prefix] if prefix is not None else first
    if not neighbours:
        return out
    named = sorted(f"{role} {other} ({calls} calls)" for role, other, calls in neighbours)[:5]
    return [*out, f"{team} owns neighbours: {', '.join(named)}"]
