"""Periodic work as data (redash's tasks/schedule.py).

Run by RQ's CronScheduler (`flask scheduler`).
"""

from __future__ import annotations

# Cron expressions are UTC: 21:30 UTC is 16:30 New York time in winter and 17:30 in summer,
# after the 16:00 close either way.
SCHEDULE = (
    {
        "name": "nightly-batch",
        "func": "jobs.batch.nightly",
        "queue": "default",
        "cron": "30 21 * * 1-5",
        "timeout": 3600,
    },
    # Daily, after the nightly batch: the monthly client reports due today read its results.
    {
        "name": "report-schedules",
        "func": "jobs.reports.run_due_schedules",
        "queue": "default",
        "cron": "0 23 * * *",
        "timeout": 300,
    },
)
