"""Market data status for the logged-in advisor's holdings."""

from __future__ import annotations

from flask import render_template
from flask_login import current_user

from webapp.prices import bp
from webapp.services.market_status import market_status


@bp.get("")
def status():
    """The prices' age, the provider in use and the coverage of every held symbol."""
    return render_template("prices/index.html", status=market_status(current_user.id))
