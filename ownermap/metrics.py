"""Prometheus metrics of one ownermap process, read from the components' counters at scrape time."""

from __future__ import annotations

from collections.abc import Callable, Iterator

from prometheus_client import CollectorRegistry
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, HistogramMetricFamily
from prometheus_client.registry import Collector

from collector.ingest import Receiver
from collector.pipeline import IngestPipeline
from graph.model import LATENCY_BUCKETS
from graph.totals import EdgeTotals
from ownership.catalog.live import SourceStatus


class IngestCollector(Collector):
    """Exposes receiver, detector, aggregator and pipeline counters."""

    def __init__(self, receiver: Receiver, pipeline: IngestPipeline) -> None:
        self.receiver = receiver
        self.pipeline = pipeline

    def collect(self) -> Iterator[CounterMetricFamily | GaugeMetricFamily]:
        """Read every counter now."""
        rs = self.receiver.stats
        ds = self.pipeline.detector.stats
        ps = self.pipeline.stats
        ags = self.pipeline.aggregator.stats
        requests = CounterMetricFamily(
            "ownermap_receiver_requests", "Export requests received", labels=["transport"]
        )
        for transport, count in sorted(rs.requests.items()):
            requests.add_metric([transport], count)
        yield requests
        yield CounterMetricFamily("ownermap_spans_received", "Spans accepted", value=rs.spans_received)
        yield CounterMetricFamily("ownermap_spans_rejected", "Spans rejected (partial success)",
                                  value=rs.spans_rejected)
        yield CounterMetricFamily("ownermap_requests_rejected", "Undecodable requests", value=rs.requests_rejected)
        yield CounterMetricFamily("ownermap_spans_duplicate", "Spans seen twice within the TTL", value=ds.duplicates)
        yield CounterMetricFamily("ownermap_calls_detected", "Calls found by the edge rules", value=ds.calls)
        yield CounterMetricFamily("ownermap_spans_unpaired",
                                  "CLIENT/PRODUCER spans with no child and no peer attribute", value=ds.unpaired)
        yield CounterMetricFamily("ownermap_spans_unmatched", "SERVER/CONSUMER spans whose parent never arrived",
                                  value=ds.unmatched)
        yield CounterMetricFamily("ownermap_pending_expired_early", "Span index entries expired early (max_pending)",
                                  value=ds.expired_early)
        yield CounterMetricFamily("ownermap_spans_invalid", "Spans with unusable times dropped by the detector",
                                  value=ds.invalid)
        yield GaugeMetricFamily("ownermap_pending_spans", "Entries waiting in the span index",
                                value=self.pipeline.detector.pending)
        yield GaugeMetricFamily("ownermap_ingest_queue_batches", "Batches waiting for the ingest worker",
                                value=self.pipeline.queue_depth)
        yield CounterMetricFamily("ownermap_ingest_overloaded", "Requests refused because the queue was full",
                                  value=ps.overloaded)
        yield CounterMetricFamily("ownermap_batches_resent",
                                  "Batches recognised as resends of a batch already taken (not counted again)",
                                  value=ps.resent_batches)
        yield CounterMetricFamily("ownermap_flushes", "Group commits", value=ps.flushes)
        yield CounterMetricFamily("ownermap_flush_failures", "Failed group commits", value=ps.flush_failures)
        yield CounterMetricFamily("ownermap_aggregate_rows_unstorable",
                                  "Aggregate rows dropped at a flush because a name cannot be stored",
                                  value=ps.unstorable_rows)
        yield CounterMetricFamily("ownermap_flush_seconds", "Time spent in group commits",
                                  value=ps.flush_seconds_total)
        yield GaugeMetricFamily("ownermap_last_flush_seconds", "Duration of the last group commit",
                                value=ps.last_flush_seconds)
        yield CounterMetricFamily("ownermap_services_dropped",
                                  "Spans and calls dropped at the max_services cap (node names of every kind)",
                                  value=ags.dropped_services)
        yield CounterMetricFamily("ownermap_environments_other",
                                  "Spans and calls of environments beyond max_environments, counted as 'other'",
                                  value=ags.other_environments)
        yield CounterMetricFamily("ownermap_edges_dropped", "Calls dropped at the max_edges cap",
                                  value=ags.dropped_edges)


class ServiceGraphCollector(Collector):
    """The Grafana/Tempo service-graph series, plus the owners of both ends.

    `traces_service_graph_request_total`, `_failed_total` and the `_server_seconds` /
    `_client_seconds` histograms, labelled client, server, connection_type, client_owner and
    server_owner, counted by this ingest process since it started (like Tempo's generator).
    """

    def __init__(self, totals: EdgeTotals, owner_of: Callable[[str], str | None] | None = None) -> None:
        self.totals = totals
        self.owner_of = owner_of or (lambda _name: None)

    def collect(self) -> Iterator[CounterMetricFamily | HistogramMetricFamily]:
        """One sample set per edge."""
        labels = ["client", "server", "connection_type", "client_owner", "server_owner"]
        requests = CounterMetricFamily("traces_service_graph_request", "Calls between two nodes", labels=labels)
        failed = CounterMetricFamily("traces_service_graph_request_failed", "Failed calls", labels=labels)
        server = HistogramMetricFamily("traces_service_graph_request_server_seconds",
                                       "Server-side latency of calls", labels=labels)
        client = HistogramMetricFamily("traces_service_graph_request_client_seconds",
                                       "Client-side latency of calls", labels=labels)
        owners: dict[str, str] = {}

        def owner(name: str) -> str:
            if name not in owners:
                owners[name] = self.owner_of(name) or ""
            return owners[name]

        for (src, dst, ctype), edge in self.totals.snapshot():
            values = [src, dst, ctype, owner(src), owner(dst)]
            requests.add_metric(values, edge.calls)
            failed.add_metric(values, edge.failed)
            server.add_metric(values, _buckets(edge.server_hist), edge.server_sum)
            client.add_metric(values, _buckets(edge.client_hist), edge.client_sum)
        yield requests
        yield failed
        yield server
        yield client
        # Rule 11: calls into a service whose caller never reported (no edge, so not above).
        unmatched = CounterMetricFamily("ownermap_unmatched_in", "Calls into a service from callers that never "
                                        "report (SERVER spans whose parent never arrived)", labels=["service"])
        unmatched_failed = CounterMetricFamily("ownermap_unmatched_in_failed", "Failed calls among them",
                                               labels=["service"])
        for service, (calls, failed_calls) in sorted(self.totals.unmatched_in().items()):
            unmatched.add_metric([service], calls)
            unmatched_failed.add_metric([service], failed_calls)
        yield unmatched
        yield unmatched_failed
        # What each service's instrumentation misses (DESIGN §2 rules 4, 5, 9, 11).
        helps = {"unpaired": "CLIENT/PRODUCER spans of the service with no child and no peer named",
                 "unmatched": "SERVER/CONSUMER spans of the service whose parent never arrived",
                 "resolved": "Unpaired CLIENT spans of the service counted on a service through a learned address"}
        families = {name: CounterMetricFamily(f"ownermap_service_spans_{name}", text, labels=["service"])
                    for name, text in helps.items()}
        for service, counts in sorted(self.totals.signals().items()):
            for name, family in families.items():
                family.add_metric([service], counts[name])
        yield from families.values()


def _buckets(counts: list[int]) -> list[tuple[str, float]]:
    """Cumulative Prometheus buckets from per-bucket counts."""
    out = []
    running = 0
    for bound, count in zip([*LATENCY_BUCKETS, float("inf")], counts, strict=True):
        running += count
        out.append(("+Inf" if bound == float("inf") else repr(bound), running))
    return out


class CatalogSyncCollector(Collector):
    """How the live catalog sources' syncs went (DESIGN §3c), labelled by source."""

    def __init__(self, status: Callable[[], list[SourceStatus]]) -> None:
        self.status = status

    def collect(self) -> Iterator[CounterMetricFamily | GaugeMetricFamily]:
        """Read every source's status now."""
        success = GaugeMetricFamily("ownermap_catalog_sync_success_timestamp_seconds",
                                    "When the source last synced whole (Unix time)", labels=["source"])
        failures = CounterMetricFamily("ownermap_catalog_sync_failures", "Syncs that failed (previous snapshot kept)",
                                       labels=["source"])
        entities = GaugeMetricFamily("ownermap_catalog_entities", "Entities in the snapshot in use",
                                     labels=["source"])
        for status in self.status():
            if status.last_success is not None:
                success.add_metric([status.source], status.last_success)
            failures.add_metric([status.source], status.failures)
            entities.add_metric([status.source], status.entities)
        yield success
        yield failures
        yield entities


def build_registry(
    receiver: Receiver | None,
    pipeline: IngestPipeline | None,
    owner_of: Callable[[str], str | None] | None = None,
    catalog_status: Callable[[], list[SourceStatus]] | None = None,
) -> CollectorRegistry:
    """A registry for this process (no global default registry)."""
    registry = CollectorRegistry()
    if catalog_status is not None:
        registry.register(CatalogSyncCollector(catalog_status))
    if receiver is not None and pipeline is not None:
        registry.register(IngestCollector(receiver, pipeline))
        registry.register(ServiceGraphCollector(pipeline.totals, owner_of))
    return registry
