"""Report jobs: build one client report's PDF, and the daily check of the monthly schedules.

Thin, as the batch jobs: open the app context, call ``services.reports``, report progress in
``job.meta``. ``services.reports`` enqueues ``generate_report`` by name on its queue with its
timeout (``QUEUE``, ``TIMEOUT`` there: views and the scheduler queue it, and they sit below
``jobs``); ``jobs/schedule.py`` runs ``run_due_schedules`` once a day.
"""

from __future__ import annotations

import datetime as dt

from rq import get_current_job

from jobs.context import app_context
from webapp.services import reports

QUEUE, TIMEOUT = reports.QUEUE, reports.TIMEOUT


def _progress(percent: int, step: str) -> None:
    job = get_current_job()
    if job is None:
        return
    job.meta.update(progress=percent, current_step=step)
    job.save_meta()


def generate_report(report_id: int) -> dict:
    """Build and store report ``report_id``; a failure marks it failed (with the reason) and fails
    the job, and the worker's next job starts on a clean session."""
    with app_context():
        return reports.generate_report(report_id, on_progress=_progress)


def run_due_schedules(on: str | None = None) -> dict:
    """Queue the report of every schedule due today (or on the ISO date ``on``)."""
    with app_context():
        day = dt.date.fromisoformat(on) if on else None
        return {"report_ids": reports.run_due_schedules(day)}
