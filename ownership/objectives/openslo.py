"""OpenSLO v1 `SLO` and `SLI` documents → objectives (DESIGN §3a).

Reading happens per file (`parse_openslo_documents`); an `indicatorRef` names an SLI that may be
in any file, so SLOs are turned into objectives once everything is read (`resolve_slos`).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from pydantic import ValidationError

from ownership.catalog.fields import show, type_name
from ownership.catalog.model import CatalogError, LoadResult
from ownership.catalog.safe_yaml import YamlDocument
from ownership.objectives.durations import parse_threshold_ms, parse_window
from ownership.objectives.model import Objective
from ownership.objectives.openslo_schema import IndicatorSpec, ObjectiveSpec, SliDocument, SloDocument
from ownership.objectives.problems import validation_errors

API_VERSION = "openslo/v1"
THRESHOLD_ANNOTATION = "ownermap.io/threshold-ms"
FINE_SLICE_SECONDS = 300
_OPENSLO = re.compile(r"""^apiVersion:\s*["']?openslo/v1\b""", re.MULTILINE)


@dataclass(frozen=True)
class PendingSlo:
    """An SLO read from a file, its indicator not yet resolved."""

    slo: SloDocument
    file: str
    doc: YamlDocument


@dataclass(frozen=True)
class SliDefinition:
    """A named SLI, for `indicatorRef`."""

    name: str
    spec: IndicatorSpec
    file: str


def is_openslo(text: str) -> bool:
    """Whether a YAML text holds an OpenSLO v1 document."""
    return bool(_OPENSLO.search(text))


def parse_openslo_documents(docs: Iterable[YamlDocument], file: Path, result: LoadResult) -> None:
    """Read SLO and SLI documents of one file into result.objective_sources; other kinds are skipped."""
    path = str(file)
    for index, doc in enumerate(docs, start=1):
        data = doc.data
        if data is None:
            continue
        if not isinstance(data, dict):
            result.report(CatalogError(path, f"document must be a mapping, got {type_name(data)}",
                                       f"document {index}", None, doc.line))
            continue
        kind = data.get("kind")
        name = (data.get("metadata") or {}).get("name") if isinstance(data.get("metadata"), dict) else None
        entity = f"{str(kind).lower()}:{name}" if isinstance(name, str) else f"document {index}"
        model = {"SLO": SloDocument, "SLI": SliDocument}.get(kind) if isinstance(kind, str) else None
        if model is None:
            result.report(CatalogError(path, f"kind {show(kind)} is not read by ownermap (SLO and SLI are)",
                                       entity, "kind", doc.line_of("kind"), "warning"))
            continue
        try:
            parsed = model.model_validate(data)
        except ValidationError as exc:
            for problem in validation_errors(exc, path, entity, doc):
                result.report(problem)
            continue
        if isinstance(parsed, SloDocument):
            result.objective_sources.append(PendingSlo(parsed, path, doc))
        else:
            result.objective_sources.append(SliDefinition(parsed.metadata.name, parsed.spec, path))


def resolve_slos(pending: list[PendingSlo], slis: dict[str, SliDefinition], result: LoadResult) -> list[Objective]:
    """Objectives of every SLO whose indicator resolves; an absent SLI is an error naming the field."""
    out: list[Objective] = []
    for item in pending:
        spec = item.slo.spec
        entity = f"slo:{item.slo.metadata.name}"
        indicator = spec.indicator.spec if spec.indicator is not None else None
        if indicator is None:
            found = slis.get(spec.indicatorRef or "")
            if found is None:
                result.report(CatalogError(item.file, f"indicatorRef {show(spec.indicatorRef)} names no SLI in the "
                                           "loaded catalog", entity, "spec.indicatorRef",
                                           item.doc.line_of("spec.indicatorRef")))
                continue
            indicator = found.spec
        out.extend(slo_objectives(item, indicator, result))
    return out


def slo_objectives(item: PendingSlo, indicator: IndicatorSpec, result: LoadResult) -> list[Objective]:
    """One Objective per entry of spec.objectives (problems reported, that entry skipped)."""
    slo, file = item.slo, item.file
    entity = f"slo:{slo.metadata.name}"
    exact = all(source.is_ownermap for source in indicator.sources())
    sli = "availability" if indicator.ratioMetric is not None else "latency"
    if exact:
        wanted = sli
        for source in indicator.sources():
            if source.spec.get("signal") != wanted:
                result.report(CatalogError(file, f"an ownermap {('ratio' if sli == 'availability' else 'threshold')}"
                                           f" metric needs spec.signal: {wanted}", entity, "spec.indicator",
                                           item.doc.line_of("spec")))
                return []
    out = []
    many = len(slo.spec.objectives) > 1
    for i, objective in enumerate(slo.spec.objectives):
        path = f"spec.objectives[{i}]"
        try:
            threshold = _threshold(slo, objective, sli, exact)
            slice_seconds = _slice_seconds(objective, result, item, path)
        except ValueError as exc:
            result.report(CatalogError(file, str(exc), entity, path, item.doc.line_of(path)))
            continue
        name = slo.metadata.name
        if many:
            name = f"{name}/{objective.displayName or i}"
        out.append(Objective(
            name=name, service=slo.spec.service, source=file, source_format="openslo", sli=sli,  # type: ignore[arg-type]
            target=objective.fraction, window_seconds=slo.spec.timeWindow[0].seconds, threshold_ms=threshold,
            budgeting=slo.spec.budgetingMethod, timeslice_target=objective.timeSliceTarget,
            timeslice_seconds=slice_seconds, estimated=not exact, line=item.doc.line,
        ))
    return out


def _threshold(slo: SloDocument, objective: ObjectiveSpec, sli: str, exact: bool) -> float | None:
    """The latency threshold in ms: the objective's value (ownermap source) or the annotation."""
    if sli != "latency":
        return None
    if exact:
        if objective.op not in ("lte", "lt") or objective.value is None or not objective.value > 0:
            raise ValueError("a latency objective needs op lte or lt and a positive value (milliseconds)")
        return float(objective.value)
    annotation = slo.metadata.annotations.get(THRESHOLD_ANNOTATION)
    return parse_threshold_ms(annotation) if annotation is not None else None


def _slice_seconds(objective: ObjectiveSpec, result: LoadResult, item: PendingSlo, path: str) -> int | None:
    """The declared timeSliceWindow in seconds; finer than the store's buckets is a warning."""
    if objective.timeSliceWindow is None:
        return None
    seconds = parse_window(objective.timeSliceWindow, allow_seconds=True)
    if seconds % FINE_SLICE_SECONDS:
        result.report(CatalogError(item.file, f"timeSliceWindow {objective.timeSliceWindow} is not a multiple of "
                                   "the store's 5-minute buckets: the store's buckets are used as slices",
                                   f"slo:{item.slo.metadata.name}", f"{path}.timeSliceWindow",
                                   item.doc.line_of(f"{path}.timeSliceWindow"), "warning"))
        return None
    return seconds
