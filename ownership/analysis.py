"""Joining the service graph of a window with the catalog: ownership per node, findings, risk.

One `OwnershipAnalysis` is built per query (graph + catalog index) and answers everything the
API, the CLI and the weekly report ask: who owns a node, which findings it has, who should own
an orphan, how risky each orphan is, and what each team must fix.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from graph.model import DEFAULT_OWNER_ATTRIBUTES, NodeKind
from graph.service_graph import Node, ServiceGraph
from ownership.catalog.model import Entity
from ownership.code_owners import entity_claim, service_claim
from ownership.findings import ORPHAN_CODES, SEVERITY_ORDER, Finding, FindingCode
from ownership.findings.registry import DEFAULT_RULES, RuleSet
from ownership.findings.rules import ServiceFacts, TeamFacts, WindowFacts
from ownership.identity import CatalogIndex, ResolvedOwner
from ownership.lens import CatalogLens, NodeOwnership
from ownership.names import namespace_hint
from ownership.objectives.evaluate import ObjectiveResult
from ownership.scaffold import node_ref, scaffold_yaml
from ownership.suggest import SuggestionContext


@dataclass
class OrphanRisk:
    """An orphaned service with what makes it risky (ranked: dependents, calls, error rate)."""

    service: str
    codes: list[str]
    dependents: int
    calls: int
    error_rate: float
    owner: str | None
    suggested_owners: list[dict[str, Any]]

    @property
    def sort_key(self) -> tuple[int, int, float, str]:
        """Most dependents first, then most calls, then highest error rate."""
        return (-self.dependents, -self.calls, -self.error_rate, self.service)


class OwnershipAnalysis:
    """Ownership of every node of one graph, and the findings of the window."""

    def __init__(
        self,
        graph: ServiceGraph,
        index: CatalogIndex,
        owner_attributes: Sequence[str] = DEFAULT_OWNER_ATTRIBUTES,
        rules: RuleSet = DEFAULT_RULES,
        namespaces_seen: Mapping[str, Collection[str]] | None = None,
        objectives: Callable[[], Sequence[ObjectiveResult]] | None = None,
        lens: CatalogLens | None = None,
    ) -> None:
        """`namespaces_seen`: the `service.namespace` values each service was reported with in the
        window (for `identity_collision`); empty when the store does not know them. `objectives`
        measures the declared objectives at the window's end (called once, when findings are asked).
        `lens`: catalog matches remembered across windows (for the same index)."""
        self.graph = graph
        self.index = index
        self._lens = lens if lens is not None and lens.index is index else CatalogLens(index)
        self.namespaces_seen = namespaces_seen or {}
        self.owner_attributes = tuple(owner_attributes)
        self.rules = rules
        self._nodes: dict[str, NodeOwnership] = {}
        self._findings: list[Finding] = []
        self._team_refs: dict[str, str] = {}
        # Who calls whom, kept across windows with the same edges; calls per edge are read only for
        # the services that need them (no Edge objects are made for findings).
        self._adjacency = graph.adjacency()
        matched: set[Any] = set()
        for name, node in graph.nodes.items():
            self._nodes[name] = self._analyse_node(node, matched)
        self._near = {f.service: f for f in self._findings if f.code == FindingCode.NAME_MISMATCH}
        window = self._window = WindowFacts(index, frozenset(matched))
        for rule in rules.window:
            self._findings.extend(rule(window))
        self._measure = objectives
        self._objectives: list[ObjectiveResult] | None = None
        self._objectives_lock = threading.Lock()
        # Owner suggestions cost as much as the rest together and the map, the service list and
        # blast-radius answers never show them: they are made on first need (_ensure_suggestions).
        self._suggested = False
        self._suggest_lock = threading.Lock()

    # ------------------------------------------------------------------ lens protocol

    def ownership(self, node: Node) -> NodeOwnership:
        """Ownership of one node of the graph (its suggested_owners: see `suggested_owners`)."""
        return self._nodes[node.name]

    def suggested_owners(self, node: Node) -> list[dict[str, Any]]:
        """Likely owners of an orphaned node, best first (empty for owned nodes)."""
        self._ensure_suggestions()
        return self._nodes[node.name].suggested_owners

    def of(self, name: str) -> NodeOwnership:
        """Ownership of a node by name, suggestions included."""
        self._ensure_suggestions()
        return self._nodes[name]

    # ------------------------------------------------------------------ per node

    def _analyse_node(self, node: Node, matched: set[Any]) -> NodeOwnership:
        namespace = namespace_hint(node.hints)
        known, resolved = self._lens.match(node.name, node.kind, namespace)
        own = known.copy()
        # Entries a seen node accounts for are never stale: its match, ambiguous candidates, a near match.
        if own.entity is not None:
            matched.add(own.entity.ref)
        matched.update(e.ref for e in own.candidates)
        if node.kind != NodeKind.SERVICE:
            return own
        near = self._lens.near_match(node.name) if own.entity is None and not own.candidates else None
        if near is not None:
            matched.add(near.ref)
        key = self._facts_key(node, own)
        decided = self._lens.findings.recall(node.name, key)
        if decided is None:
            decided = self._decide(self._service_facts(node, own, resolved, near, namespace), own)
            self._lens.findings.keep(node.name, key, decided)
        own.findings.extend(finding.code for finding in decided)
        self._findings.extend(decided)
        return own

    def _decide(self, facts: ServiceFacts, own: NodeOwnership) -> list[Finding]:
        """The service rules' findings of one service."""
        decided = []
        for rule in self.rules.service:
            for finding in rule.decide(facts):
                if finding.catalog_ref is None and own.catalog_ref is not None:
                    finding.catalog_ref = own.catalog_ref  # findings about an entry name it (DESIGN §3)
                decided.append(finding)
        return decided

    def _facts_key(self, node: Node, own: NodeOwnership) -> tuple[Any, ...]:
        """What the service rules read of a service that may change from one window to the next, for
        one catalog index (ownership.findings.remembered says why this is all of it)."""
        name = node.name
        callees = None
        if own.entity is not None and own.entity.depends_on:
            callees = tuple((e.target, e.calls, self._kind_of(e.target)) for e in self.graph.calls_out_of(name))
        callers = self._adjacency.callers(name)
        return (tuple(node.hints.items()), callers, callees, self.namespaces_seen.get(name), self.rules,
                self.owner_attributes)

    def _service_facts(self, node: Node, own: NodeOwnership, resolved: ResolvedOwner | None,
                       near: Entity | None, namespace: str | None) -> ServiceFacts:
        name = node.name
        calls_by_target: dict[str, int] = {}
        for edge in self.graph.calls_out_of(name):
            calls_by_target[edge.target] = calls_by_target.get(edge.target, 0) + edge.calls
        return ServiceFacts(
            name=name, node=node, index=self.index, entity=own.entity, resolved=resolved, owner=own.owner,
            callers=tuple(sorted(set(self._adjacency.callers(name)))), calls_by_target=calls_by_target,
            kind_of=self._kind_of, owner_attributes=self.owner_attributes, candidates=own.candidates, near=near,
            namespace=namespace, namespaces_seen=frozenset(self.namespaces_seen.get(name, ())),
        )

    def _kind_of(self, name: str) -> str:
        node = self.graph.nodes.get(name)
        return node.kind if node is not None else NodeKind.SERVICE

    def _ensure_suggestions(self) -> None:
        with self._suggest_lock:  # one analysis serves concurrent requests
            if not self._suggested:
                self._suggest()
                self._suggested = True

    def _suggest(self) -> None:
        owned = {name: own.owner for name, own in self._nodes.items()
                 if own.owner and own.owner_status == "ok" and self.graph.nodes[name].kind == NodeKind.SERVICE
                 and not (own.owner_ref or "").startswith("user:")}
        teams = self.index.teams()
        team_names = {team.name.lower(): team.name for team in teams}
        self._team_refs = {team.name.lower(): str(team.ref) for team in teams}
        ctx = SuggestionContext(
            team_names=team_names, owner_of_service=owned,
            hints_of=lambda service: self.graph.nodes[service].hints if service in self.graph.nodes else {},
            owner_attributes=self.owner_attributes, neighbours=self.graph.neighbours, team_of=self._team_of,
            near_owner_of=self._near_owner_of, codeowners_of=self._codeowners_of,
        )
        remembered = self._lens.suggestions
        generation = remembered.generation(ctx)
        for finding in self._findings:
            if finding.code in ORPHAN_CODES and finding.service in self._nodes:
                own = self._nodes[finding.service]
                if not own.suggested_owners:
                    own.suggested_owners = remembered.suggest(finding.service, ctx, generation)
                finding.suggested_owners = own.suggested_owners

    def _team_of(self, value: str) -> str | None:
        """The declared team a telemetry owner attribute names (by the owner normaliser), or None."""
        ref = self.index.telemetry_owner(value)
        found = self.index.owner_entity(ref) if ref is not None else None
        return found.name if found is not None and found.kind == "Group" else None

    def _codeowners_of(self, service: str) -> tuple[str, str] | None:
        """The declared team CODEOWNERS gives the service's directory (its entry's, else `<name>/` …) and why."""
        found = self.index.match_service(service)
        entity = found.entity if found is not None else None
        claim = entity_claim(self.index, entity) if entity is not None else service_claim(self.index, service)
        return (claim.team.name, claim.evidence) if claim is not None else None

    def _near_owner_of(self, service: str) -> tuple[str, str] | None:
        """The entry a `name_mismatch` service near-matched and its owning team, if declared."""
        finding = self._near.get(service)
        return (finding.data["entity"], finding.owner) if finding is not None and finding.owner else None

    def objective_results(self) -> list[ObjectiveResult]:
        """The declared objectives measured at the window's end (their findings join the window's)."""
        with self._objectives_lock:
            if self._objectives is None:
                self._objectives = list(self._measure()) if self._measure is not None else []
                facts = WindowFacts(self.index, self._window.matched, tuple(self._objectives))
                for rule in self.rules.objective:
                    self._findings.extend(rule(facts))
            return self._objectives

    # ------------------------------------------------------------------ questions

    def findings(self, codes_wanted: Iterable[str] | None = None, owner: str | None = None,
                 teams: TeamFacts | None = None) -> list[Finding]:
        """Every finding of the window, most severe first; with `teams` (the on-call load), the team
        findings too."""
        self._ensure_suggestions()
        self.objective_results()
        wanted = set(codes_wanted) if codes_wanted else None
        found = self._findings if teams is None else [*self._findings, *self.team_findings(teams)]
        out = [f for f in found
               if (wanted is None or f.code in wanted) and (owner is None or (f.owner or "").lower() == owner.lower())]
        return sorted(out, key=lambda f: (SEVERITY_ORDER[f.severity], f.code, f.service or f.team or ""))

    def team_findings(self, teams: TeamFacts) -> list[Finding]:
        """The team rules' findings (`oncall_overloaded`) over the teams' on-call load."""
        return [finding for rule in self.rules.team for finding in rule(teams)]

    def orphans(self) -> list[OrphanRisk]:
        """Orphaned services (no valid, active owner), ranked by risk (distinct dependent services first)."""
        self._ensure_suggestions()
        dependents = self.graph.dependent_counts(services_only=True)
        out = []
        for name, own in self._nodes.items():
            orphan_codes = [c for c in own.findings if c in ORPHAN_CODES]
            if not orphan_codes:
                continue
            unmatched_calls, unmatched_failed = self.graph.unmatched_in.get(name, (0, 0))  # callers not reporting
            into = self.graph.calls_into(name)
            calls = sum(e.calls for e in into) + unmatched_calls
            errors = sum(e.errors for e in into) + unmatched_failed
            out.append(OrphanRisk(name, sorted(set(own.findings)), dependents.get(name, 0), calls,
                                  round(errors / calls, 4) if calls else 0.0, own.owner, own.suggested_owners))
        return sorted(out, key=lambda o: o.sort_key)

    def scaffold(self, name: str) -> str:
        """A ready catalog-info.yaml for a node of the graph.

        The owner is the declared one, else the best suggestion; dependsOn names the catalog
        entity each callee matched, or the ref it would get.
        """
        self._ensure_suggestions()
        own = self._nodes[name]
        owner_ref = own.owner_ref
        if owner_ref is None and own.suggested_owners:
            owner_ref = self._team_refs.get(own.suggested_owners[0]["team"].lower())
        depends_on = []
        for edge in self.graph.calls_out_of(name):
            target = self._nodes[edge.target]
            kind = self.graph.nodes[edge.target].kind
            if kind == NodeKind.USER:
                continue
            depends_on.append(str(target.entity.ref) if target.entity is not None else node_ref(edge.target, kind))
        namespace = self.graph.nodes[name].hints.get("service.namespace")
        return scaffold_yaml(name, owner_ref, depends_on, own.suggested_owners, namespace)

    def unowned_dependencies(self) -> list[dict[str, Any]]:
        """Virtual nodes (databases, queues, external peers) without an owning catalog entry."""
        out = []
        for name, node in sorted(self.graph.nodes.items()):
            if node.kind in (NodeKind.SERVICE, NodeKind.USER) or self._nodes[name].owner:
                continue
            callers = sorted(set(self._adjacency.callers(name)))
            out.append({"node": name, "kind": node.kind, "callers": callers})
        return out

    def teams(self) -> list[dict[str, Any]]:
        """Every declared team with its services, findings and cross-team dependencies."""
        return [self.team_view(team.name) for team in self.index.teams()]

    def team_view(self, team_name: str) -> dict[str, Any]:
        """One team: members, services (seen and declared), findings, cross-team dependencies."""
        team = self.index.team(team_name)
        if team is None:
            raise KeyError(team_name)
        name = team.name
        seen = sorted(n for n, own in self._nodes.items() if own.owner == name and own.owner_status != "virtual")
        declared = sorted(e.name for e in self.index.team_services(team.entity))
        findings = [f.to_dict() for f in self.findings(owner=name)]
        outgoing = []
        incoming = []
        for service in seen:
            for edge in self.graph.calls_out_of(service):
                other = self._nodes[edge.target].owner
                if other and other != name:
                    outgoing.append({"from": service, "to": edge.target, "team": other, "calls": edge.calls})
            for edge in self.graph.calls_into(service):
                other = self._nodes[edge.source].owner
                if other and other != name:
                    incoming.append({"from": edge.source, "to": service, "team": other, "calls": edge.calls})
        return {
            "team": name,
            "ref": str(team.ref),
            "title": team.entity.title,
            "members": [str(m) for m in team.members],
            "parent": str(team.parent) if team.parent else None,
            "children": [str(c) for c in team.children],
            "active": team.active,
            "services": seen,
            "declared_services": declared,
            "findings": findings,
            "objectives": [r.to_dict() for r in self.objective_results() if (r.owner or "").lower() == name.lower()],
            "depends_on_teams": outgoing,
            "depended_on_by_teams": incoming,
        }
