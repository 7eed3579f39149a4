"""docs/configuration.md lists exactly the fields of `Settings`, in the code's order, with their
environment variables and defaults: the settings table cannot drift from the code."""

from __future__ import annotations

import re
from typing import Any

from ownermap.settings import Settings
from tests.conftest import REPO_ROOT

_CELL = r"((?:[^|\\]|\\\|)*)"  # a table cell; `\|` inside it is an escaped bar
_ROW = re.compile(rf"^\| `(?P<name>[a-z_]+)` \| (?P<env>[^|]*) \|{_CELL}\| (?P<default>{_CELL[1:-1]}) \|")


def _documented() -> list[dict[str, str]]:
    text = (REPO_ROOT / "docs" / "configuration.md").read_text(encoding="utf-8")
    section = text.split("\n## Settings\n", 1)[1].split("\n## ", 1)[0]
    return [m.groupdict() for line in section.splitlines() if (m := _ROW.match(line))]


def _as_documented(value: Any) -> str:
    """How the table writes a default."""
    if value is None:
        return "none"
    if isinstance(value, bool):
        return f"`{str(value).lower()}`"
    if isinstance(value, list):
        return f"`{','.join(value)}`" if value else "empty"
    return f"`{value}`"


def _default(name: str) -> Any:
    field = Settings.model_fields[name]
    return field.default_factory() if field.default_factory is not None else field.default  # type: ignore[call-arg]


def test_every_setting_is_documented_once_in_the_codes_order() -> None:
    assert [row["name"] for row in _documented()] == list(Settings.model_fields)


def test_each_row_names_the_environment_variable_of_its_setting() -> None:
    for row in _documented():
        assert row["env"].strip() == f"`OWNERMAP_{row['name'].upper()}`", row["name"]


def test_each_row_gives_the_settings_default() -> None:
    for row in _documented():
        expected = _as_documented(_default(row["name"]))
        assert row["default"].strip().startswith(expected), (row["name"], row["default"], expected)
