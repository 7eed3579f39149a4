"""owners.yaml `services[].objectives: [{name, sli, target, threshold_ms, window}]` → objectives."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter, ValidationError, field_validator, model_validator

from ownership.catalog.model import LoadResult
from ownership.catalog.safe_yaml import YamlDocument
from ownership.objectives.durations import parse_window
from ownership.objectives.model import DEFAULT_WINDOW, Objective
from ownership.objectives.problems import validation_errors


class OwnersObjective(BaseModel):
    """One entry of a service's `objectives` list."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str = Field(min_length=1, max_length=253, description="Objective name, unique per service.")
    sli: Literal["availability", "latency"] = Field(description="availability or latency.")
    target: float = Field(gt=0, lt=1, description="Share of good calls, a fraction (0.999).")
    threshold_ms: float | None = Field(None, gt=0, description="latency: a call within this many ms is good.")
    window: str = Field(DEFAULT_WINDOW, description="Rolling window, <N>m|h|d|w (default 28d).")

    @field_validator("window", mode="before")
    @classmethod
    def _window(cls, value: Any) -> str:
        parse_window(value)
        return str(value)

    @model_validator(mode="after")
    def _threshold(self) -> OwnersObjective:
        if (self.sli == "latency") != (self.threshold_ms is not None):
            raise ValueError("threshold_ms is required for sli latency and only for it")
        return self


OBJECTIVES_ADAPTER: TypeAdapter[list[OwnersObjective]] = TypeAdapter(list[OwnersObjective])


def objectives_json_schema() -> dict[str, Any]:
    """The JSON Schema of a service's `objectives` list (for owners.schema.json)."""
    return OBJECTIVES_ADAPTER.json_schema()


def read_owners_objectives(doc: YamlDocument, file: Path, result: LoadResult) -> None:
    """Objectives of every service of one owners.yaml document; each bad entry is an error, the rest load."""
    data = doc.data
    services = data.get("services") if isinstance(data, Mapping) else None
    if not isinstance(services, list):
        return
    for i, service in enumerate(services):
        if not isinstance(service, Mapping) or "objectives" not in service:
            continue
        name = service.get("name")
        if not isinstance(name, str) or not name:
            continue
        items = service["objectives"]
        prefix = f"services[{i}].objectives"
        entity = f"services[{i}] {name!r}"
        if not isinstance(items, list):
            items = [items]  # let the validator name what is wrong
        for j, item in enumerate(items):
            try:
                parsed = OwnersObjective.model_validate(item)
            except ValidationError as exc:
                for problem in validation_errors(exc, str(file), entity, doc, f"{prefix}[{j}]"):
                    result.report(problem)
                continue
            result.objective_sources.append(Objective(
                name=parsed.name, service=name, source=str(file), source_format="owners.yaml", sli=parsed.sli,
                target=parsed.target, window_seconds=parse_window(parsed.window), threshold_ms=parsed.threshold_ms,
                line=doc.line_of(f"{prefix}[{j}]"),
            ))
