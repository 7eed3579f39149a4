"""Last week's recorded run is found when the runs are a cron job's few seconds apart, not exactly 7 days."""

from __future__ import annotations

from pathlib import Path

from graph.store.sqlite import SQLiteStore
from reports.weekly import build_weekly_report
from tests.reports.report_builders import DAY, END, WEEK, Telemetry, catalog_index, iso


def test_a_run_a_few_seconds_off_is_last_weeks_run(tmp_path: Path) -> None:
    store = SQLiteStore(tmp_path / "h.db")
    index = catalog_index(tmp_path / "catalog", "teams: []\nservices: []\n")
    first_seen = END - WEEK - 3 * DAY
    Telemetry(store).seen("drifter", first_seen).seen("drifter", END - DAY).flush()
    last_run_end = END - WEEK + 37  # last Monday's cron run started 37 seconds late
    before = build_weekly_report(store, index, last_run_end).data
    assert before["orphans"][0]["orphaned_since"] == iso(first_seen)
    # Delete the aggregates of last week: the status can now only come from the recorded run.
    with store._transaction() as cur:
        cur.execute("DELETE FROM service_buckets WHERE bucket < ?", (int(END - WEEK),))
    now = build_weekly_report(store, index, END + 5, record=False).data
    (orphan,) = now["orphans"]
    assert (orphan["status"], orphan["orphaned_since"]) == ("persisting", iso(first_seen))
    assert now["summary"]["orphans_previous"] == 1
    store.close()
