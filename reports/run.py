"""One weekly report run: build, render, write and post (shared by the CLI, the API and the schedule)."""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from graph.store.interface import Store
from ownership.identity import CatalogIndex
from ownership.objectives.evaluate import Limits
from ownership.oncall import OncallSettings
from reports import render_report
from reports.deliver import DeliveryError, post_webhook, slack_payload, write_file
from reports.weekly import WeeklyReport, build_weekly_report


@dataclass
class Delivery:
    """Where a run goes."""

    fmt: str = "md"
    output: Path | None = None
    webhook: str | None = None
    webhook_format: str = "slack"
    webhook_attempts: int = 5
    webhook_initial_wait: float = 1.0


class CatalogIncompleteError(DeliveryError):
    """The report was not sent: a live catalog source has not synced yet (DESIGN §3c)."""


def run_weekly_report(
    store: Store, index: CatalogIndex, end: float | None, owner_attributes: Sequence[str], delivery: Delivery,
    record: bool = True, show: Callable[[str], None] | None = None, catalog_complete: bool = True,
    oncall: OncallSettings | None = None, limits: Limits | None = None,
) -> tuple[WeeklyReport, str]:
    """Build and render the report, write it (to `delivery.output`, else to `show`), then post it
    as `delivery` says. Raises DeliveryError after the report was written; CatalogIncompleteError
    before writing or posting anything when the catalog is incomplete. `oncall` and `limits`: the on-call
    thresholds and working hours, and the objectives' limits (default: the settings' defaults)."""
    if not catalog_complete:
        raise CatalogIncompleteError("the catalog is incomplete (a live catalog source has not synced yet; see "
                                     "GET /api/v1/catalog/status): the weekly report was not sent")
    weekly = build_weekly_report(store, index, end, owner_attributes, record=record, oncall=oncall, limits=limits)
    text = render_report(weekly, delivery.fmt)
    if delivery.output is not None:
        write_file(text, delivery.output)
    elif show is not None:
        show(text)
    if delivery.webhook:
        if delivery.webhook_format == "slack":
            payload = slack_payload(text if delivery.fmt == "md" else render_report(weekly, "md"))
        else:
            payload = json.loads(render_report(weekly, "json"))
        post_webhook(delivery.webhook, payload, attempts=delivery.webhook_attempts,
                     initial_wait=delivery.webhook_initial_wait)
    return weekly, text
