"""One window's sums from the sums of two adjacent parts of it (older days summed in SQL, the
newest held in memory by graph.store.mirror).

The rule is the one SQL applies to a window's rows: counters add, first_seen is the least,
last_seen the greatest, kinds the least by name (SQL's MIN). Exemplars are a sample: an edge
shows those of the part whose last_seen is the greater (the newer part on a tie).
"""

from __future__ import annotations

from graph.store.rows import EdgeRow, EdgeTable, ServiceRow


def _merge_edge(older: EdgeRow, newer: EdgeRow) -> EdgeRow:
    return EdgeRow(
        newer.client, newer.server, newer.connection_type,
        min(older.client_kind, newer.client_kind), min(older.server_kind, newer.server_kind),
        older.calls + newer.calls, older.failed + newer.failed, older.client_sum + newer.client_sum,
        older.server_sum + newer.server_sum, older.queue_sum + newer.queue_sum, older.queue_count + newer.queue_count,
        [a + b for a, b in zip(older.client_hist, newer.client_hist, strict=True)],
        [a + b for a, b in zip(older.server_hist, newer.server_hist, strict=True)],
        min(older.first_seen_ns, newer.first_seen_ns), max(older.last_seen_ns, newer.last_seen_ns),
        older.exemplars if older.last_seen_ns > newer.last_seen_ns else newer.exemplars,
    )


def merge_edges(older: EdgeTable, newer: EdgeTable) -> EdgeTable:
    """The edges of a window made of two adjacent parts, from each part's edges."""
    if not len(older):
        return newer
    if not len(newer):
        return older
    merged: dict[tuple[str, str, str], EdgeRow] = {}
    for row in older.rows():
        merged[(row.client, row.server, row.connection_type)] = row
    for row in newer.rows():
        key = (row.client, row.server, row.connection_type)
        found = merged.get(key)
        merged[key] = row if found is None else _merge_edge(found, row)
    return EdgeTable.from_rows(list(merged.values()))


def merge_services(older: list[ServiceRow], newer: list[ServiceRow]) -> list[ServiceRow]:
    """The services of a window made of two adjacent parts, from each part's services."""
    merged = {row.service: row for row in older}
    for row in newer:
        found = merged.get(row.service)
        merged[row.service] = row if found is None else ServiceRow(
            row.service, found.spans + row.spans, found.error_spans + row.error_spans,
            min(found.first_seen_ns, row.first_seen_ns), max(found.last_seen_ns, row.last_seen_ns),
        )
    return list(merged.values())
