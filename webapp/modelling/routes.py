"""Session list, session page (trades, impact panel), save / apply / discard."""

from __future__ import annotations

from webapp.modelling import bp  # noqa: F401
