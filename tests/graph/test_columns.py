"""Row keys of the mirror's columns: one integer each, distinct for distinct keys."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from graph.store.columns import packed_key

Key = tuple[int, int, int, int]
_LIMITS = [(0, 1), (-(2**40), 2**40), (0, 2**40 - 1), (0, 2**20 - 1)]  # resolution, bucket, group, env
_KEYS = st.tuples(*(st.integers(low, high) for low, high in _LIMITS))


@given(_KEYS, _KEYS)
def test_distinct_row_keys_pack_to_distinct_integers(a: Key, b: Key) -> None:
    assert (packed_key(*a) == packed_key(*b)) == (a == b)


@given(_KEYS, st.integers(0, 3), st.sampled_from([-1, 1]))
def test_keys_differing_in_one_field_by_one_differ(key: Key, field: int, step: int) -> None:
    low, high = _LIMITS[field]
    other = list(key)
    other[field] = key[field] + step if low <= key[field] + step <= high else key[field] - step
    assert packed_key(*key) != packed_key(*other)
