"""Shared helpers for per-portfolio pages: layout context and the HTMX partial-or-page choice."""

from __future__ import annotations

from flask import Blueprint, current_app, make_response, render_template, request
from flask_login import current_user, login_required

from webapp.services import portfolios as portfolio_svc
from webapp.services.batch import recent_runs
from webapp.services.queries import latest_price_date

# (endpoint, label) in display order; a feature blueprint adds itself here when registered.
PORTFOLIO_NAV: list[tuple[str, str]] = []


def nav_item(endpoint: str, label: str, order: int) -> None:
    """Register a per-portfolio page in the sub-navigation (ordered by ``order``)."""
    entry = (order, endpoint, label)
    if entry not in _NAV_ORDER:
        _NAV_ORDER.append(entry)
        _NAV_ORDER.sort()
        PORTFOLIO_NAV[:] = [(e, lbl) for _, e, lbl in _NAV_ORDER]


_NAV_ORDER: list[tuple[int, str, str]] = []


@login_required
def _require_login() -> None:
    """Runs before every request of an advisor blueprint; login_required does the refusing."""


def advisor_blueprint(name: str, import_name: str, url_prefix: str) -> Blueprint:
    """A feature blueprint whose every route belongs to a logged-in advisor."""
    bp = Blueprint(name, import_name, url_prefix=url_prefix)
    bp.before_request(_require_login)
    return bp


def is_htmx() -> bool:
    """True when HTMX asks for a partial (not when it restores its history cache)."""
    return request.headers.get("HX-Request") == "true" and not request.headers.get(
        "HX-History-Restore-Request"
    )


def portfolio_page(template: str, partial: str | None, portfolio, page_title: str, **context):
    """Render the full page, or only ``partial`` when HTMX asks; responses vary on HX-Request."""
    context["as_of"] = context.get("as_of") or latest_price_date()
    if partial and is_htmx():
        response = make_response(render_template(partial, portfolio=portfolio, **context))
    else:
        response = make_response(
            render_template(
                template,
                portfolio=portfolio,
                page_title=page_title,
                my_portfolios=portfolio_svc.user_portfolios(current_user.id),
                portfolio_nav=PORTFOLIO_NAV,
                active_run=_run_banner(portfolio.id),
                **context,
            )
        )
    response.headers["Vary"] = "HX-Request"
    return response


def _run_banner(portfolio_id: int):
    """The run to show above the page: one in progress, or the last one if it did not succeed."""
    runs = recent_runs(portfolio_id, limit=1)
    if runs and runs[0].status != "succeeded":
        return runs[0]
    return None


def owned(portfolio_id: int):
    """The current advisor's portfolio or 404."""
    return portfolio_svc.owned_portfolio(portfolio_id, current_user.id)


def int_arg(name: str, default: int, lo: int, hi: int) -> int:
    """A bounded integer query parameter; out-of-range or junk values fall back to the default."""
    try:
        value = int(request.args.get(name, default))
    except (TypeError, ValueError):
        return default
    return value if lo <= value <= hi else default


__all__ = [
    "PORTFOLIO_NAV",
    "current_app",
    "int_arg",
    "is_htmx",
    "nav_item",
    "owned",
    "portfolio_page",
]
