"""Learned addresses (DESIGN §2 rule 9) shared through the store: one ingest process learns, another
(on the same SQLite file) resolves with them; they are forgotten after `address_memory`; addresses
learned for several services are listed as ambiguous."""

from __future__ import annotations

import time
from pathlib import Path

from collector.addresses import AddressBook
from collector.pipeline import IngestPipeline
from graph.model import Window
from graph.service_graph import ServiceGraph
from graph.store.sqlite import SQLiteStore
from tests.collector.otlp_builders import FakeClock, span
from tests.collector.test_edge_fidelity import decode

EVERYTHING = Window(0, 4_000_000_000)
SRV = {"server.address": "srv.prod.svc"}


def _ingest(store: SQLiteStore, *specs, memory: float = 7 * 86_400.0) -> IngestPipeline:  # type: ignore[no-untyped-def]
    pipeline = IngestPipeline(store, clock=FakeClock(), address_memory_seconds=memory)
    pipeline.ingest(decode(specs, "protobuf"))
    pipeline.finish()
    return pipeline


def _edges(store: SQLiteStore) -> set[tuple[str, str, str, int, int]]:
    graph = ServiceGraph.from_store(store, EVERYTHING)
    return {(e.source, e.target, e.connection_type, e.calls, e.errors) for e in graph.edges}


def test_an_address_learned_by_one_process_resolves_in_another(tmp_path: Path) -> None:
    first, second = SQLiteStore(tmp_path / "s.db"), SQLiteStore(tmp_path / "s.db")
    try:
        _ingest(first, span("checkout:CLIENT a", SRV), span("srv:SERVER b←a"))
        assert [row[:3] for row in first.learned_addresses(0)] == [("srv.prod.svc", "", "srv")]
        pipeline = _ingest(second, span("checkout:CLIENT x", SRV, error=True, trace="t2"))
        assert pipeline.detector.stats.resolved == 1
        assert _edges(second) == {("checkout", "srv", "rpc", 2, 1)}
    finally:
        first.close()
        second.close()


def test_addresses_are_forgotten_after_the_memory(tmp_path: Path) -> None:
    store = SQLiteStore(tmp_path / "s.db")
    try:
        store.write_addresses([("old.svc", "", "srv", int(time.time()) - 3600)], 0)
        _ingest(store, span("checkout:CLIENT x", {"server.address": "old.svc"}), memory=60)
        assert _edges(store) == {("checkout", "old.svc", "virtual", 1, 0)}
        assert store.learned_addresses(0) == []  # deleted as the ingest wrote (none new): memory 60 s
    finally:
        store.close()


def test_the_book_drops_stale_entries_and_stays_bounded() -> None:
    now = [1000.0]
    book = AddressBook(memory_seconds=10, max_addresses=2, clock=lambda: now[0])
    book.learn("a", "", "s1")
    book.learn("b", "", "s2")
    book.learn("c", "", "s3")
    assert (len(book), book.dropped) == (2, 1)
    assert book.services("a", "prod") == ["s1"]  # no learning in prod: any environment
    now[0] += 11
    assert book.services("a", "") == []
    book.load([])
    assert len(book) == 0


def test_ambiguous_addresses_are_listed_with_the_graph(tmp_path: Path) -> None:
    store = SQLiteStore(tmp_path / "s.db")
    try:
        lb = {"server.address": "lb.prod"}
        _ingest(store, span("web:CLIENT c1", lb), span("svc-a:SERVER s1←c1"),
                span("web:CLIENT c2", lb), span("svc-b:SERVER s2←c2"), span("web:CLIENT c3", lb))
        graph = ServiceGraph.from_store(store, EVERYTHING)
        assert graph.ambiguous_addresses == [{"address": "lb.prod", "services": ["svc-a", "svc-b"]}]
        assert ("web", "lb.prod", "virtual", 1, 0) in _edges(store)
    finally:
        store.close()
