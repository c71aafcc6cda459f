"""Report list, generation with progress, download, templates and schedules."""

from __future__ import annotations

from webapp.reports import bp  # noqa: F401
