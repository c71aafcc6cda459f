"""Client list, client page, risk questionnaire, households."""

from __future__ import annotations

from webapp.clients import bp  # noqa: F401
