# ruff: noqa: N815 - the fields carry OpenSLO's own (camelCase) names
"""The parts of OpenSLO v1 `SLO` and `SLI` documents that ownermap reads, as pydantic models.

Unknown keys are allowed (OpenSLO documents carry alert policies, descriptions …); the fields
read here are checked strictly.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from ownership.objectives.durations import parse_window

NAME = Field(min_length=1, max_length=253)


class _Open(BaseModel):
    model_config = ConfigDict(extra="allow", frozen=True)


class MetricSource(_Open):
    """Where a metric comes from: `type: ownermap` is computed exactly from the traces."""

    type: str | None = None
    spec: dict[str, Any] = Field(default_factory=dict)

    @property
    def is_ownermap(self) -> bool:
        """Whether ownermap itself is the source."""
        return (self.type or "").lower() == "ownermap"


class MetricSpec(_Open):
    """A `good`, `bad`, `total` or threshold metric."""

    metricSource: MetricSource


class RatioMetric(_Open):
    """good/total or bad/total."""

    counter: bool | None = None
    good: MetricSpec | None = None
    bad: MetricSpec | None = None
    total: MetricSpec

    @model_validator(mode="after")
    def _one_of(self) -> RatioMetric:
        if (self.good is None) == (self.bad is None):
            raise ValueError("a ratioMetric needs exactly one of good and bad, besides total")
        return self


class IndicatorSpec(_Open):
    """An SLI's spec: a ratio or a threshold metric."""

    ratioMetric: RatioMetric | None = None
    thresholdMetric: MetricSpec | None = None

    @model_validator(mode="after")
    def _one_of(self) -> IndicatorSpec:
        if (self.ratioMetric is None) == (self.thresholdMetric is None):
            raise ValueError("an indicator needs exactly one of ratioMetric and thresholdMetric")
        return self

    def sources(self) -> list[MetricSource]:
        """Every metric source the indicator reads."""
        if self.thresholdMetric is not None:
            return [self.thresholdMetric.metricSource]
        ratio = self.ratioMetric
        assert ratio is not None
        return [m.metricSource for m in (ratio.good, ratio.bad, ratio.total) if m is not None]


class Metadata(_Open):
    """metadata.name and annotations."""

    name: str = NAME
    annotations: dict[str, str] = Field(default_factory=dict)


class Indicator(_Open):
    """An inline indicator (an SLI without apiVersion/kind)."""

    metadata: Metadata | None = None
    spec: IndicatorSpec


class TimeWindow(_Open):
    """A rolling window; calendar windows are refused."""

    duration: str
    isRolling: bool = True

    @field_validator("duration", mode="before")
    @classmethod
    def _duration(cls, value: Any) -> str:
        parse_window(value)
        return str(value)

    @field_validator("isRolling")
    @classmethod
    def _rolling(cls, value: bool) -> bool:
        if not value:
            raise ValueError("isRolling: false is a calendar window: calendar windows are not supported yet")
        return value

    @property
    def seconds(self) -> int:
        """The window's length."""
        return parse_window(self.duration)


class ObjectiveSpec(_Open):
    """One entry of spec.objectives."""

    displayName: str | None = None
    target: float | None = Field(None, gt=0, lt=1)
    targetPercent: float | None = Field(None, gt=0, lt=100)
    op: Literal["lte", "lt", "gte", "gt"] | None = None
    value: float | None = None
    timeSliceTarget: float | None = Field(None, gt=0, le=1)
    timeSliceWindow: str | None = None

    @model_validator(mode="after")
    def _target(self) -> ObjectiveSpec:
        if (self.target is None) == (self.targetPercent is None):
            raise ValueError("needs exactly one of target (a fraction, 0 < target < 1) and targetPercent")
        return self

    @field_validator("timeSliceWindow", mode="before")
    @classmethod
    def _slice(cls, value: Any) -> Any:
        if value is not None:
            parse_window(value, allow_seconds=True)
        return value

    @property
    def fraction(self) -> float:
        """The target as a fraction."""
        return self.target if self.target is not None else float(self.targetPercent or 0) / 100


class SloSpec(_Open):
    """An SLO's spec."""

    service: str = NAME
    indicator: Indicator | None = None
    indicatorRef: str | None = None
    timeWindow: list[TimeWindow] = Field(min_length=1, max_length=1)
    budgetingMethod: Literal["Occurrences", "Timeslices", "RatioTimeslices"]
    objectives: list[ObjectiveSpec] = Field(min_length=1)

    @model_validator(mode="after")
    def _indicator(self) -> SloSpec:
        if (self.indicator is None) == (self.indicatorRef is None):
            raise ValueError("needs exactly one of indicator and indicatorRef")
        if self.budgetingMethod == "Timeslices" and any(o.timeSliceTarget is None for o in self.objectives):
            raise ValueError("budgetingMethod Timeslices needs timeSliceTarget on every objective")
        return self


class SloDocument(_Open):
    """kind: SLO."""

    apiVersion: Literal["openslo/v1"]
    kind: Literal["SLO"]
    metadata: Metadata
    spec: SloSpec


class SliDocument(_Open):
    """kind: SLI."""

    apiVersion: Literal["openslo/v1"]
    kind: Literal["SLI"]
    metadata: Metadata
    spec: IndicatorSpec
