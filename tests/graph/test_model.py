"""graph.model: node kinds and connection types are StrEnums whose values are the contract's strings."""

from __future__ import annotations

import json
from enum import StrEnum

import orjson
import pytest

from graph.model import VIRTUAL_KINDS, ConnectionType, NodeKind

# DESIGN §2 (rule 8 and the connection types of rules 1-5), written out so a renamed value is caught.
NODE_KINDS = ("service", "database", "messaging", "external", "user")
CONNECTION_TYPES = ("rpc", "messaging", "inferred", "database", "virtual", "entry")


def test_the_enums_hold_exactly_the_design_values() -> None:
    assert issubclass(NodeKind, StrEnum) and issubclass(ConnectionType, StrEnum)
    assert tuple(NodeKind) == NODE_KINDS
    assert tuple(ConnectionType) == CONNECTION_TYPES
    assert frozenset(NODE_KINDS[1:]) == VIRTUAL_KINDS


@pytest.mark.parametrize("member", [*NodeKind, *ConnectionType])
def test_a_member_is_its_value_in_text_json_and_comparisons(member: StrEnum) -> None:
    value = member.value
    assert str(member) == f"{member}" == value
    assert json.dumps({member: member}) == json.dumps({value: value})
    assert orjson.dumps({"kind": member}) == orjson.dumps({"kind": value})
    # Values read back from a store are plain strings: they must find the members and vice versa.
    assert member == value and hash(member) == hash(value) and {value: 1}[member] == 1
