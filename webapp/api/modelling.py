"""/api/v1 routes of the modelling feature (see the module's routes)."""

from __future__ import annotations

from webapp.api import bp  # noqa: F401


def openapi_operations() -> list:
    """The OpenAPI operations of this module's routes (none yet)."""
    return []
