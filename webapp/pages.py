"""Shared helpers for per-portfolio pages: layout context and the HTMX partial-or-page choice."""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

from flask import (
    Blueprint,
    current_app,
    flash,
    g,
    make_response,
    redirect,
    render_template,
    request,
    url_for,
)
from flask.typing import ResponseReturnValue
from flask_login import current_user, login_required
from flask_wtf import FlaskForm

from webapp.schemas.params import ParamError, QueryParams
from webapp.services import portfolios as portfolio_svc
from webapp.services.management import Conflict, ValidationError
from webapp.services.queries import latest_price_date
from webapp.services.runs import recent_runs

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


def result_page(template: str, partial: str | None, portfolio, page_title: str, result, **context):
    """``portfolio_page`` for one analytics ``Result``: the result and its as-of date go along."""
    return portfolio_page(
        template, partial, portfolio, page_title, result=result, as_of=result.as_of, **context
    )


def _run_banner(portfolio_id: int):
    """The run to show above the page: one in progress, or the last one if it did not succeed."""
    runs = recent_runs(portfolio_id, limit=1)
    if runs and runs[0].status != "succeeded":
        return runs[0]
    return None


def owned(portfolio_id: int):
    """The current advisor's portfolio or 404."""
    return portfolio_svc.owned_portfolio(portfolio_id, current_user.id)


def show_errors(form: FlaskForm, exc: ValidationError) -> None:
    """Put the service's field messages on the form's fields; flash those of no field."""
    for name, message in exc.errors.items():
        if name in form:
            form[name].errors = [*(form[name].errors or []), message]
        else:
            flash(message, "error")


def on_invalid(form: FlaskForm, render: Callable[[], ResponseReturnValue]) -> None:
    """Declare how this request answers a ``ValidationError`` from the service it calls next.

    The blueprint's handler (``form_errors``) shows the errors on ``form`` and returns
    ``render()`` with status 422, so routes carry no try/except of their own.
    """
    g.invalid_form = (form, render)


def _refused(exc: ValidationError) -> ResponseReturnValue:
    declared = g.pop("invalid_form", None)
    if declared is None:  # a route that declared no form: say it where the advisor came from
        for message in exc.errors.values():
            flash(message, "error")
        return redirect(request.referrer or url_for("portfolios.index"))
    form, render = declared
    show_errors(form, exc)
    response = make_response(render())
    response.status_code = 422
    return response


def _conflict(exc: Conflict) -> ResponseReturnValue:
    """A valid request that clashes with the record's state: say so on the portfolio's page."""
    for message in exc.errors.values():
        flash(message, "error")
    portfolio_id = (request.view_args or {}).get("portfolio_id")
    if portfolio_id is None:
        return redirect(url_for("portfolios.index"))
    return redirect(url_for("portfolios.detail", portfolio_id=portfolio_id))


def form_errors(bp: Blueprint) -> None:
    """Map the services' validation errors once for a blueprint of form pages."""
    bp.register_error_handler(ValidationError, _refused)
    bp.register_error_handler(Conflict, _conflict)


M = TypeVar("M", bound=QueryParams)


def page_params(model: type[M]) -> tuple[M, ParamError | None]:
    """``request.args`` through the endpoint's parameter model, as its JSON twin reads them.

    Invalid input is not silently replaced: the page gets the error (the same refusal the API
    answers with its 400) to show beside the control, and the parameters it computes instead:
    the valid ones as given, each refused one at its default.
    """
    try:
        return model.parse(request.args), None
    except ParamError as exc:
        first = error = exc
    args = {k: request.args[k] for k in model.model_fields if k in request.args}
    while error.field in args:
        del args[error.field]
        try:
            return model.parse(args), first
        except ParamError as exc:
            error = exc
    return model.defaults(), first


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
    "form_errors",
    "int_arg",
    "is_htmx",
    "nav_item",
    "on_invalid",
    "owned",
    "page_params",
    "portfolio_page",
    "result_page",
    "show_errors",
]
