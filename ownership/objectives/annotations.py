"""Backstage annotations `ownermap.io/slo-availability: "99.9"` and `ownermap.io/slo-latency:
"300ms@99"` → objectives named `availability` and `latency` over 28 days."""

from __future__ import annotations

from collections.abc import Iterable

from ownership.catalog.model import CatalogError, Entity
from ownership.objectives.durations import parse_threshold_ms
from ownership.objectives.model import Objective

AVAILABILITY_ANNOTATION = "ownermap.io/slo-availability"
LATENCY_ANNOTATION = "ownermap.io/slo-latency"


def percent_target(text: str) -> float:
    """A percent like `99.9` as a fraction; ValueError unless 0 < percent < 100."""
    try:
        value = float(text.strip().removesuffix("%"))
    except ValueError:
        raise ValueError(f"{text!r} is not a percentage like 99.9") from None
    if not 0 < value < 100:
        raise ValueError(f"{text!r} must be above 0 and below 100 (percent)")
    return value / 100


def annotation_objectives(entities: Iterable[Entity], errors: list[CatalogError]) -> list[Objective]:
    """Objectives the annotations of entities declare; a bad annotation is an error naming it."""
    out = []
    for entity in entities:
        for key, sli in ((AVAILABILITY_ANNOTATION, "availability"), (LATENCY_ANNOTATION, "latency")):
            text = entity.annotations.get(key)
            if text is None:
                continue
            try:
                target, threshold = _parse(sli, text)
            except ValueError as exc:
                errors.append(CatalogError(str(entity.source) if entity.source else None, str(exc), str(entity.ref),
                                           f"metadata.annotations.{key}", entity.line))
                continue
            out.append(Objective(name=sli, service=entity.name, source=str(entity.source or ""),
                                 source_format="backstage", sli=sli, target=target,  # type: ignore[arg-type]
                                 threshold_ms=threshold, line=entity.line))
    return out


def _parse(sli: str, text: str) -> tuple[float, float | None]:
    if sli == "availability":
        return percent_target(text), None
    threshold, at, percent = text.partition("@")
    if not at:
        raise ValueError(f"{text!r} must look like 300ms@99 (threshold @ percent of calls within it)")
    return percent_target(percent), parse_threshold_ms(threshold)
