"""The judgement settings every command and `serve` read alike: on-call thresholds and working hours
(§3b), objective limits (§3a)."""

from __future__ import annotations

from ownermap.settings import Settings
from ownership.objectives.evaluate import Limits
from ownership.oncall import OncallSettings


def oncall_settings(settings: Settings) -> OncallSettings:
    """`episode_min_failed`, `episode_error_ratio` and `working_hours` as the on-call load reads them."""
    return OncallSettings.of(settings.episode_min_failed, settings.episode_error_ratio, settings.working_hours)


def objective_limits(settings: Settings) -> Limits:
    """`objective_min_calls` and `burn_min_calls` as the objectives' measurement reads them."""
    return Limits(settings.objective_min_calls, settings.burn_min_calls)
