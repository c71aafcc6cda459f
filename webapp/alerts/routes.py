"""Alert list, alert detail with its audit trail, rules per book."""

from __future__ import annotations

from webapp.alerts import bp  # noqa: F401
