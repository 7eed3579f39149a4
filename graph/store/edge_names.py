"""The name columns of a mirrored window's edge table, with who calls whom among them (graph.adjacency),
made again only when its edges differ."""

from __future__ import annotations

import threading
from typing import NamedTuple

import numpy as np

from graph.adjacency import Adjacency

KEPT = 4  # windows whose names are kept (a dashboard's few windows, each moving)


class NameColumns(NamedTuple):
    """Per edge of a table: client, server, connection type and the two node kinds; and the rows into and
    out of each node (made on first use, then kept while the names are)."""

    client: list[str]
    server: list[str]
    connection_type: list[str]
    client_kind: list[str]
    server_kind: list[str]
    adjacency: Adjacency


class EdgeNames:
    """The name columns of edges given as interned ids (edge groups and kind pairs), remembered for the
    last few id arrays they were made for. Interned values are only ever appended, so equal ids always
    name the same edges. The lists are shared between tables: never to be changed."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._kept: list[tuple[np.ndarray, np.ndarray, NameColumns]] = []  # most recently used last

    def of(self, group: np.ndarray, kinds: np.ndarray, keys: list[tuple[str, str, str]],
           kind_names: list[str]) -> NameColumns:
        """The names of edges `group` (ids into `keys`) with `kinds` ((client, server) ids into `kind_names`)."""
        with self._lock:
            for i, (kept_group, kept_kinds, names) in enumerate(self._kept):
                if np.array_equal(kept_group, group) and np.array_equal(kept_kinds, kinds):
                    self._kept.append(self._kept.pop(i))
                    return names
        edge_keys = [keys[g] for g in group.tolist()]
        pairs = kinds.tolist()
        client, server = [k[0] for k in edge_keys], [k[1] for k in edge_keys]
        client_kind = [kind_names[c] for c, _ in pairs]
        names = NameColumns(client, server, [k[2] for k in edge_keys], client_kind, [kind_names[s] for _, s in pairs],
                            Adjacency(client, server, client_kind))
        with self._lock:
            self._kept.append((group.copy(), kinds.copy(), names))
            del self._kept[:-KEPT]
        return names
