"""Name columns of a mirrored window's edges: made from the interned ids, reused while the ids are equal."""

from __future__ import annotations

import numpy as np

from graph.store.edge_names import KEPT, EdgeNames

KEYS = [("web", "api", "rpc"), ("api", "db", "database"), ("web", "queue", "messaging")]
KINDS = ["service", "database", "queue"]


def _ids(groups: list[int], kinds: list[tuple[int, int]]) -> tuple[np.ndarray, np.ndarray]:
    return np.array(groups, np.int64), np.array(kinds, np.int64).reshape(-1, 2)


def test_names_follow_the_ids_in_their_order() -> None:
    names = EdgeNames().of(*_ids([2, 0], [(0, 2), (0, 0)]), KEYS, KINDS)
    assert names.client == ["web", "web"] and names.server == ["queue", "api"]
    assert names.connection_type == ["messaging", "rpc"]
    assert names.client_kind == ["service", "service"] and names.server_kind == ["queue", "service"]


def test_equal_ids_reuse_the_names_and_other_ids_make_new_ones() -> None:
    made = EdgeNames()
    first = made.of(*_ids([0, 1], [(0, 0), (0, 1)]), KEYS, KINDS)
    assert made.of(*_ids([0, 1], [(0, 0), (0, 1)]), KEYS, KINDS) is first
    reordered = made.of(*_ids([1, 0], [(0, 1), (0, 0)]), KEYS, KINDS)
    assert reordered.client == ["api", "web"] and reordered is not first
    other_kind = made.of(*_ids([0, 1], [(0, 0), (0, 0)]), KEYS, KINDS)
    assert other_kind.server_kind == ["service", "service"]
    assert made.of(*_ids([0, 1], [(0, 0), (0, 1)]), KEYS, KINDS) is first  # still kept


def test_only_the_last_few_are_kept() -> None:
    made = EdgeNames()
    first = made.of(*_ids([0], [(0, 0)]), KEYS, KINDS)
    for n in range(1, KEPT + 1):
        made.of(*_ids([0] * (n + 1), [(0, 0)] * (n + 1)), KEYS, KINDS)
    assert len(made._kept) == KEPT
    assert made.of(*_ids([0], [(0, 0)]), KEYS, KINDS) is not first
