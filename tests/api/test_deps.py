"""api.deps: each dependency alias is named after the one type it hands a route."""

from __future__ import annotations

import typing

import api.deps


def _aliases() -> dict[str, typing.Any]:
    """The module's `Annotated[T, Depends(...)]` aliases by name."""
    return {
        name: value for name, value in vars(api.deps).items()
        if typing.get_origin(value) is typing.Annotated
        and any(type(extra).__name__ == "Depends" for extra in value.__metadata__)
    }


def test_every_dependency_alias_is_its_type_name_with_dep() -> None:
    aliases = _aliases()
    assert aliases, "no dependency aliases found"
    for name, alias in aliases.items():
        assert name == f"{typing.get_args(alias)[0].__name__}Dep", name


def test_no_two_names_mean_one_alias() -> None:
    aliases = _aliases()
    assert len({id(alias) for alias in aliases.values()}) == len(aliases), sorted(aliases)
