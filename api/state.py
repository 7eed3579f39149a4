"""What the API's routes share: the store, the config, the catalog and metric sources."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from api.config import ApiConfig
from graph.model import Window
from graph.reads import GraphReader
from graph.service_graph import ServiceGraph, Topology
from graph.store.interface import Store
from graph.store.reads import WindowReads
from ownership.analysis import OwnershipAnalysis
from ownership.findings.rules import TeamFacts
from ownership.lens import CatalogLens
from ownership.objectives.board import objective_results, remembered_results, team_trouble_counts
from ownership.objectives.evaluate import Limits, ObjectiveResult
from ownership.oncall import Move, OncallReport, oncall_report, read_oncall
from ownership.oncall.dependents import remembered_dependents
from ownership.source import CatalogSource

CACHE_ENTRIES = 16


@dataclass
class WindowAnswers:
    """What is derived from one cached graph: its joins with the catalog (by catalog index object:
    a reload makes a new one) and the JSON bodies made from it."""

    graph: ServiceGraph
    analyses: dict[Any, OwnershipAnalysis] = field(default_factory=dict)
    bodies: dict[tuple[Any, ...], bytes] = field(default_factory=dict)


@dataclass
class ApiState:
    """Held on `app.state.ownermap`; built by the composition root (or a test).

    With `cache_seconds` > 0, the graph of a window (and its join with the catalog) is reused
    for that long by requests asking for the same 5-minute-aligned window: dashboards and the
    page ask for the same windows over and over, and a week of 20 000 edges takes seconds to sum.
    """

    config: ApiConfig
    store: Store  # writes, report history, health
    reads: WindowReads | None = None  # what windows are read from (default: the store, summing in SQL)
    catalog: CatalogSource = field(default_factory=lambda: CatalogSource([]))
    metric_sources: dict[str, Any] = field(default_factory=dict)
    clock: Callable[[], float] = time.time
    cache_seconds: float = 0.0
    _cache: dict[tuple[Any, ...], tuple[float, Any]] = field(default_factory=dict, repr=False)
    _cache_lock: threading.Lock = field(default_factory=threading.Lock, repr=False)
    _lens: CatalogLens | None = field(default=None, repr=False)
    _answers: dict[int, WindowAnswers] = field(default_factory=dict, repr=False)

    def __post_init__(self) -> None:
        self.source: WindowReads = self.reads if self.reads is not None else self.store  # what windows are read from
        self.reader = GraphReader(self.source)

    def _cached(self, key: tuple[Any, ...], build: Callable[[], Any]) -> Any:
        if self.cache_seconds <= 0:
            return build()
        now = time.monotonic()
        with self._cache_lock:
            hit = self._cache.get(key)
        if hit is not None and now - hit[0] < self.cache_seconds:
            return hit[1]
        value = build()
        with self._cache_lock:
            if len(self._cache) >= CACHE_ENTRIES:
                for stale in sorted(self._cache, key=lambda k: self._cache[k][0])[: len(self._cache) // 2]:
                    del self._cache[stale]
            self._cache[key] = (now, value)
        return value

    def graph(self, window: Window, env: str | None, include_self: bool) -> ServiceGraph:
        """The service graph of a window (cached when cache_seconds > 0)."""
        step = self.reader.bucket_seconds
        key = ("graph", int(window.start // step), int(window.end // step), env, include_self)
        return self._cached(key, lambda: self.reader.graph(window, env, include_self))

    def topology(self, window: Window, env: str | None) -> Topology:
        """Who calls whom in a window (without a content digest from the reads: the window's graph's,
        cached like any other)."""
        return self.reader.topology(window, env, lambda: self.graph(window, env, False).topology)

    def catalog_lens(self) -> CatalogLens:
        """Owners by the current catalog alone (remembered until the catalog is reloaded)."""
        index = self.catalog.index
        with self._cache_lock:
            if self._lens is None or self._lens.index is not index:
                self._lens = CatalogLens(index)
            return self._lens

    def answers(self, graph: ServiceGraph) -> WindowAnswers | None:
        """Where answers derived from a cached graph are kept with it (None when graphs are not cached)."""
        if self.cache_seconds <= 0:
            return None
        with self._cache_lock:
            found = self._answers.get(id(graph))
            if found is None or found.graph is not graph:
                while len(self._answers) >= 2 * CACHE_ENTRIES:
                    self._answers.pop(next(iter(self._answers)))
                found = self._answers[id(graph)] = WindowAnswers(graph)
            return found

    def analysis(self, graph: ServiceGraph) -> OwnershipAnalysis:
        """Join a graph with the current catalog (kept with the graph when graphs are cached)."""
        index = self.catalog.index
        answers = self.answers(graph)
        if answers is None:
            # Not kept: the analysis (which refers to its graph) would make a reference cycle, and
            # every answer's objects would wait for the cyclic garbage collector, whose passes over
            # them cost 100 ms and more at 20 000 edges, instead of being freed at once.
            return self._analyse(graph, index)
        found = answers.analyses.get(index)
        if found is None:
            found = answers.analyses[index] = self._analyse(graph, index)
        return found

    def _analyse(self, graph: ServiceGraph, index: Any) -> OwnershipAnalysis:
        """The analysis of a graph, with the namespaces its services were seen with in its window."""
        return OwnershipAnalysis(graph, index, self.config.owner_attributes,
                                 namespaces_seen=self.source.namespaces(graph.window),
                                 objectives=lambda: self.objectives(graph.window.end, None, index),
                                 lens=self.catalog_lens())

    def objectives(self, end: float, env: str | None, index: Any = None) -> list[ObjectiveResult]:
        """The declared objectives measured over their windows ending at end (cached like graphs; each
        objective evaluated again only when its inputs changed: `remembered_results`)."""
        index = self.catalog.index if index is None else index
        limits = Limits(self.config.objective_min_calls, self.config.burn_min_calls)
        key = ("objectives", index, int(end // self.reader.bucket_seconds), env)
        memo = remembered_results(index)
        spans = getattr(self.source, "inbound_spans", None)
        return self._cached(key, lambda: objective_results(index, self.source.inbound, end, env, limits, memo, spans))

    def oncall(self, graph: ServiceGraph, env: str | None, moves: tuple[Move, ...] = (),
               objectives: list[ObjectiveResult] | None = None) -> OncallReport:
        """Every team's on-call load over the graph's window, as if `moves` were made (§3b; cached
        like graphs, per catalog and moves). `objectives`: the objectives already measured at the
        window's end, to count burn events from (else they are measured: see `team_facts` for what
        needs none)."""
        window, step = graph.window, self.reader.bucket_seconds
        lens = self.catalog_lens()
        key = ("oncall", int(window.start // step), int(window.end // step), env, lens.index, moves)

        def build() -> OncallReport:
            moved = {m.service: m.team for m in moves}
            measured = objectives if objectives is not None else self.objectives(window.end, env)
            burning = team_trouble_counts(measured, moved)
            dependents = remembered_dependents(self.source).reader(self.source.topology(window, env),
                                                                   graph.call_counts)
            return oncall_report(graph, lens, read_oncall(self.source, window, env, self.config.oncall),
                                 self.config.oncall, moves, burning, dependents=dependents)

        return self._cached(key, build)

    def team_facts(self, graph: ServiceGraph, env: str | None) -> TeamFacts:
        """What the team rules (`oncall_overloaded`) look at: each team's episodes, rotation and
        services over the graph's window; not its calls, the teams depending on it or its burn events,
        which they do not read (so they are not worked out: `/api/v1/oncall` has them)."""
        window, step = graph.window, self.reader.bucket_seconds
        lens = self.catalog_lens()
        key = ("team_facts", int(window.start // step), int(window.end // step), env, lens.index)

        def build() -> TeamFacts:
            reads = read_oncall(self.source, window, env, self.config.oncall, episodes_only=True)
            return TeamFacts(tuple(oncall_report(graph, lens, reads, self.config.oncall, episodes_only=True).teams))

        return self._cached(key, build)
