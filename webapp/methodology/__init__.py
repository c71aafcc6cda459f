"""Methodology pages that belong to no one portfolio: the stress model's validation."""

from webapp.pages import advisor_blueprint

bp = advisor_blueprint("methodology", __name__, "/methodology")

from webapp.methodology import routes  # noqa: E402,F401
