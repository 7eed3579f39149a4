"""graph.aggregate: the distinct service.namespace values of each service per bucket (identity_collision)."""

from __future__ import annotations

from graph.aggregate import MAX_NAMESPACES, Aggregator
from graph.model import Resource, Span, SpanKind
from tests.graph.store_builders import NS, T0, sighting, trace_id


def test_namespaces_are_kept_per_service_and_bucket() -> None:
    agg = Aggregator(bucket_seconds=300)
    sighting(agg, "api", T0 + 10, hints={"service.namespace": "search"}, count=3)
    sighting(agg, "api", T0 + 20, hints={"service.namespace": "payments"})
    sighting(agg, "api", T0 + 400, hints={"service.namespace": "search"})
    sighting(agg, "cart", T0 + 10, env="prod", hints={"service.namespace": "shop"})
    sighting(agg, "cart", T0 + 10, env="staging", hints={"service.namespace": "shop"})
    sighting(agg, "plain", T0 + 10)  # no namespace: nothing noted
    sighting(agg, "empty", T0 + 10, hints={"service.namespace": ""})
    assert agg.drain().namespaces == {
        (T0, "api"): {"search", "payments"}, (T0 + 300, "api"): {"search"}, (T0, "cart"): {"shop"},
    }


def test_one_batch_of_mixed_resources_notes_each_group() -> None:
    """One `sightings` call over spans of several resources (as a decoded request gives them)."""
    search = Resource("api", "", {"service.namespace": "search"})
    payments = Resource("api", "", {"service.namespace": "payments"})
    spans = [Span(trace_id(str(i)), i.to_bytes(8, "big"), b"", resource, SpanKind.SERVER,
                  (T0 + i) * NS, (T0 + i) * NS + 1)
             for i, resource in enumerate([search, search, payments, search])]
    agg = Aggregator()
    agg.sightings(spans)
    assert agg.drain().namespaces == {(T0, "api"): {"search", "payments"}}


def test_the_resource_of_the_previous_call_still_counts() -> None:
    """Spans of one resource arriving over several calls (the resource is remembered between them)."""
    resource = Resource("api", "", {"service.namespace": "search"})
    agg = Aggregator()
    agg.sightings([Span(trace_id("a"), bytes(8), b"", resource, SpanKind.SERVER, T0 * NS, T0 * NS + 1)])
    agg.sightings([Span(trace_id("b"), bytes(8), b"", resource, SpanKind.SERVER, (T0 + 300) * NS, (T0 + 300) * NS + 1)])
    assert agg.drain().namespaces == {(T0, "api"): {"search"}, (T0 + 300, "api"): {"search"}}


def test_a_flood_of_namespaces_keeps_at_most_the_cap() -> None:
    agg = Aggregator()
    for i in range(1000):
        sighting(agg, "api", T0 + 1, hints={"service.namespace": f"ns{i}"})
    (seen,) = agg.drain().namespaces.values()
    assert len(seen) == MAX_NAMESPACES


def test_services_over_max_services_note_no_namespace() -> None:
    agg = Aggregator(max_services=1)
    sighting(agg, "first", T0, hints={"service.namespace": "a"})
    sighting(agg, "second", T0, hints={"service.namespace": "b"})
    assert agg.drain().namespaces == {(T0, "first"): {"a"}}


def test_unstorable_namespaces_are_dropped() -> None:
    agg = Aggregator()
    sighting(agg, "api", T0, hints={"service.namespace": "bad\x00"})
    sighting(agg, "cart", T0, hints={"service.namespace": "shop"})
    batch = agg.drain()
    batch.drop_unstorable()
    assert batch.namespaces == {(T0, "cart"): {"shop"}}


def test_restore_merges_namespaces_within_the_cap() -> None:
    agg = Aggregator()
    sighting(agg, "api", T0, hints={"service.namespace": "search"})
    failed = agg.drain()
    for i in range(MAX_NAMESPACES):
        sighting(agg, "api", T0 + 1, hints={"service.namespace": f"ns{i}"})
    sighting(agg, "cart", T0, hints={"service.namespace": "shop"})
    agg.restore(failed)
    namespaces = agg.drain().namespaces
    assert len(namespaces[(T0, "api")]) == MAX_NAMESPACES and namespaces[(T0, "cart")] == {"shop"}
    agg2 = Aggregator()
    agg2.restore(failed)
    assert agg2.drain().namespaces == {(T0, "api"): {"search"}}
