"""Portfolio list, positions, recalculation with progress, batch-run history."""

from __future__ import annotations

from flask import abort, flash, make_response, redirect, render_template, request, url_for
from flask_login import current_user
from werkzeug.routing import BuildError

from webapp.extensions import db
from webapp.models import BatchRun
from webapp.pages import is_htmx, nav_item, owned, page_params, portfolio_page
from webapp.portfolios import bp
from webapp.schemas.params import BookListParams
from webapp.schemas.positions import PositionsPageParams, page_error, table_params
from webapp.services.book_list import MAX_COMPARE, book_rows
from webapp.services.book_list import compare as compare_books
from webapp.services.ledger import ValidationError
from webapp.services.positions import positions_page
from webapp.services.queries import latest_price_date
from webapp.services.queueing import (
    ACTIVE_RUN_STATUSES,
    QueueUnavailable,
    enqueue_portfolio_batch,
    job_status,
    reconcile_quietly,
)
from webapp.services.runs import recent_runs

nav_item("portfolios.detail", "Positions", 20)
nav_item("portfolios.jobs", "Jobs", 90)


@bp.get("/")
def index():
    """The book list: every portfolio and household with the figures that need attention,
    sortable (the table alone for HTMX)."""
    params, error = page_params(BookListParams)
    rows = book_rows(current_user.id, sort=params.sort, descending=params.order == "desc")
    context = {
        "rows": rows,
        "sort": params.sort,
        "order": params.order,
        "param_error": error,
        "max_compare": MAX_COMPARE,
        "as_of": latest_price_date(),
    }
    if is_htmx():
        response = make_response(render_template("portfolios/_book_list.html", **context))
    else:
        response = make_response(render_template("portfolios/index.html", **context))
    response.headers["Vary"] = "HX-Request"
    return response


@bp.get("/compare")
def compare():
    """Up to four books side by side on the main analytics."""
    ids = request.args.getlist("ids", type=int)
    try:
        comparison = compare_books(current_user.id, ids)
    except ValidationError as exc:
        flash(exc.errors["ids"], "error")
        return redirect(url_for("portfolios.index"))
    return render_template("portfolios/compare.html", comparison=comparison)


@bp.get("/switch")
def switch():
    """The layout's portfolio switcher: same page, other portfolio."""
    portfolio = owned(request.args.get("portfolio_id", type=int) or 0)
    endpoint = request.args.get("page", "portfolios.detail")
    try:
        return redirect(url_for(endpoint, portfolio_id=portfolio.id))
    except BuildError:
        return redirect(url_for("portfolios.detail", portfolio_id=portfolio.id))


@bp.get("/<int:portfolio_id>")
def detail(portfolio_id: int):
    """The Positions page: one sorted page of the valued positions, or only the table for HTMX."""
    portfolio = owned(portfolio_id)
    params, error = table_params(PositionsPageParams, request.args)
    table = positions_page(portfolio, **params.service_args())
    return portfolio_page(
        "portfolios/detail.html",
        "portfolios/_positions_table.html",
        portfolio,
        "Positions",
        table=table,
        table_error=page_error(error),
        as_of=table.as_of,
    )


@bp.post("/<int:portfolio_id>/recalculate")
def recalculate(portfolio_id: int):
    """Queue the batch (or return the one already running) and show its progress."""
    portfolio = owned(portfolio_id)
    htmx = request.headers.get("HX-Request") == "true"
    try:
        run = enqueue_portfolio_batch(portfolio.id, trigger="manual")
    except QueueUnavailable as exc:
        if htmx:
            return render_template("_alert.html", category="error", message=exc.message)
        flash(exc.message, "error")
        return redirect(url_for("portfolios.jobs", portfolio_id=portfolio.id))
    if not htmx:
        return redirect(url_for("portfolios.jobs", portfolio_id=portfolio.id))
    return _progress_fragment(run)


def _progress_fragment(run: BatchRun, reload: bool = False):
    try:
        status = job_status(run.job_id) if run.job_id else None
        queue_down = False
    except QueueUnavailable:
        status, queue_down = None, True
    return render_template(
        "portfolios/_job_progress.html",
        run=run,
        status=status,
        reload=reload,
        queue_down=queue_down,
    )


@bp.get("/<int:portfolio_id>/runs/<int:run_id>/progress")
def run_progress(portfolio_id: int, run_id: int):
    """The polled progress fragment; when the run ends, HTMX reloads the page's numbers."""
    portfolio = owned(portfolio_id)
    run = db.session.get(BatchRun, run_id)
    if run is None or run.portfolio_id != portfolio.id:
        abort(404)
    reconcile_quietly([run])
    done = run.status not in ACTIVE_RUN_STATUSES
    response = make_response(_progress_fragment(run, reload=done))
    if done:
        response.headers["HX-Refresh"] = "true"
    return response


@bp.get("/<int:portfolio_id>/jobs")
def jobs(portfolio_id: int):
    """The Jobs page: the portfolio's last 30 batch runs, reconciled with the queue."""
    portfolio = owned(portfolio_id)
    runs = recent_runs(portfolio.id, limit=30)
    reconcile_quietly(runs)
    return portfolio_page("portfolios/jobs.html", None, portfolio, "Jobs", runs=runs)
