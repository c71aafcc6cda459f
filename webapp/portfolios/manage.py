"""Portfolio, position and tag management pages (validated forms, CSRF, confirmation on delete).

The forms only carry CSRF and render fields; ``services.management`` validates, so a page shows
the same messages the API returns. A refused submission re-renders the form with 422: each route
declares its form and page with ``on_invalid``, and the blueprint maps the error once.
"""

from __future__ import annotations

from decimal import Decimal

from flask import abort, flash, redirect, render_template, request, url_for
from flask_login import current_user
from flask_wtf import FlaskForm

from webapp.models import Portfolio, Position
from webapp.pages import int_arg, nav_item, on_invalid, owned, portfolio_page
from webapp.portfolios import bp
from webapp.portfolios.forms import (
    CashEntryForm,
    ClosePositionForm,
    ConfirmForm,
    PortfolioForm,
    PositionForm,
    TagForm,
)
from webapp.services import ledger
from webapp.services import management as mgmt

LEDGER_PAGE_SIZE = 100
nav_item("portfolios.transactions", "Transactions", 25)


def _form_data(form: FlaskForm) -> dict:
    """The submitted values, as the service takes them."""
    return {k: v for k, v in form.data.items() if k not in ("csrf_token", "submit")}


def _page(form: FlaskForm, template: str, **context):
    """The form's page as a callable, declared as this request's answer to a refusal (422).

    Callable context values are evaluated at render time: after a refusal they show the state
    the database holds then (e.g. the advisor's tags).
    """

    def render() -> str:
        values = {k: v() if callable(v) else v for k, v in context.items()}
        return render_template(template, form=form, **values)

    on_invalid(form, render)
    return render


def _submit(form: FlaskForm, page, action, portfolio: Portfolio):
    """The form's page until it validates; then ``action()`` runs, its message is flashed and
    the advisor goes back to the portfolio (a refusal re-renders ``page`` with 422)."""
    if not form.validate_on_submit():
        return page()
    flash(action(), "success")
    return redirect(url_for("portfolios.detail", portfolio_id=portfolio.id))


def _plain(value: float | None) -> str:
    """A stored number as an advisor would type it: 100 not 100.0, never 1e+06."""
    if value is None:
        return ""
    return format(Decimal(str(value)).normalize(), "f")


def _position_prefill(position: Position) -> dict:
    fields = mgmt.position_fields(position)
    for key in ("quantity", "entry_price", "strike_price", "implied_vol"):
        fields[key] = _plain(fields[key])
    fields["tags"] = ", ".join(fields["tags"])
    return fields


@bp.route("/new", methods=["GET", "POST"])
def create():
    """A new, empty portfolio."""
    form = PortfolioForm()
    page = _page(form, "portfolios/portfolio_form.html", portfolio=None)
    if not form.validate_on_submit():
        return page()
    portfolio = mgmt.create_portfolio(current_user.id, _form_data(form))
    flash(
        f"Created portfolio '{portfolio.name}'. Add positions or import a holdings file.", "success"
    )
    return redirect(url_for("portfolios.detail", portfolio_id=portfolio.id))


@bp.route("/<int:portfolio_id>/edit", methods=["GET", "POST"])
def edit(portfolio_id: int):
    """Rename the portfolio, change its description, cash (booked as a flow) or benchmark."""
    portfolio = owned(portfolio_id)
    form = PortfolioForm(
        data={
            "name": portfolio.name,
            "description": portfolio.description,
            "cash": _plain(portfolio.cash),
            "benchmark": portfolio.benchmark,
        }
    )
    page = _page(form, "portfolios/portfolio_form.html", portfolio=portfolio)
    if not form.validate_on_submit():
        return page()
    mgmt.update_portfolio(portfolio, _form_data(form))
    flash("Portfolio saved.", "success")
    return redirect(url_for("portfolios.detail", portfolio_id=portfolio.id))


@bp.route("/<int:portfolio_id>/delete", methods=["GET", "POST"])
def delete(portfolio_id: int):
    """GET asks for confirmation; POST deletes the portfolio and its positions."""
    portfolio = owned(portfolio_id)
    form = ConfirmForm()
    if form.validate_on_submit():
        name = portfolio.name
        mgmt.delete_portfolio(portfolio)
        flash(f"Deleted portfolio '{name}' and its positions.", "success")
        return redirect(url_for("portfolios.index"))
    count = len(portfolio.positions)
    return render_template(
        "portfolios/confirm_delete.html",
        form=form,
        portfolio=portfolio,
        what=f"the portfolio '{portfolio.name}' and its {count} "
        f"position{'s' if count != 1 else ''}",
    )


def _position_form(form: PositionForm, portfolio: Portfolio, position: Position | None):
    return _page(
        form,
        "portfolios/position_form.html",
        portfolio=portfolio,
        position=position,
        tags=lambda: mgmt.user_tags(current_user.id),
        strategies=lambda: sorted({p.strategy for p in portfolio.positions if p.strategy}),
    )


@bp.route("/<int:portfolio_id>/positions/new", methods=["GET", "POST"])
def add_position(portfolio_id: int):
    """A stock, ETF or option position (call/put plus the quantity's sign give its type)."""
    portfolio = owned(portfolio_id)
    form = PositionForm()

    def add() -> str:
        position = mgmt.add_position(portfolio, _form_data(form))
        return f"Added {position.position_type} {position.symbol}."

    return _submit(form, _position_form(form, portfolio, None), add, portfolio)


def _position_or_404(portfolio: Portfolio, position_id: int) -> Position:
    position = mgmt.owned_position(portfolio, position_id)
    if position is None:
        abort(404)
    return position


@bp.route("/<int:portfolio_id>/positions/<int:position_id>/edit", methods=["GET", "POST"])
def edit_position(portfolio_id: int, position_id: int):
    """Every field of a position, prefilled as the advisor would type it."""
    portfolio = owned(portfolio_id)
    position = _position_or_404(portfolio, position_id)
    form = PositionForm(data=_position_prefill(position))

    def save() -> str:
        mgmt.update_position(position, _form_data(form))
        return f"Saved {position.symbol}."

    return _submit(form, _position_form(form, portfolio, position), save, portfolio)


@bp.route("/<int:portfolio_id>/positions/<int:position_id>/close", methods=["GET", "POST"])
def close_position(portfolio_id: int, position_id: int):
    """Exit date, price and quantity (empty: all): proceeds go to cash, realized P&L is booked."""
    portfolio = owned(portfolio_id)
    position = _position_or_404(portfolio, position_id)
    form = ClosePositionForm()
    page = _page(form, "portfolios/position_close.html", portfolio=portfolio, position=position)

    def close() -> str:
        # A position closed meanwhile is a Conflict: flashed on the portfolio page by the blueprint.
        closed = mgmt.close_position(position, _form_data(form))
        return (
            f"Closed {_plain(abs(closed.quantity))} {closed.symbol} on {closed.exit_date}"
            f" at {_plain(closed.exit_price)}; the proceeds are in cash."
        )

    return _submit(form, page, close, portfolio)


@bp.route("/<int:portfolio_id>/positions/<int:position_id>/delete", methods=["GET", "POST"])
def delete_position(portfolio_id: int, position_id: int):
    """GET asks for confirmation; POST deletes the position and its ledger entries."""
    portfolio = owned(portfolio_id)
    position = _position_or_404(portfolio, position_id)
    form = ConfirmForm()
    if form.validate_on_submit():
        symbol = position.symbol
        mgmt.delete_position(position)
        flash(f"Deleted {symbol} and its transactions; cash recomputed.", "success")
        return redirect(url_for("portfolios.detail", portfolio_id=portfolio.id))
    return render_template(
        "portfolios/confirm_delete.html",
        form=form,
        portfolio=portfolio,
        what=f"the position {position.symbol} ({_plain(position.quantity)})",
        consequence="Deleting means it was entered by mistake: its transactions (opening, "
        "funding, closing) are deleted too and cash is recomputed from the remaining ledger. "
        "To sell it instead, close it.",
    )


@bp.route("/<int:portfolio_id>/transactions", methods=["GET", "POST"])
def transactions(portfolio_id: int):
    """The ledger, newest first, with running cash; the form records a cash entry."""
    portfolio = owned(portfolio_id)
    form = CashEntryForm()
    kind = request.args.get("kind") if request.args.get("kind") in mgmt.ENTRY_KINDS else None
    offset = int_arg("offset", 0, 0, 10**9)

    def render():
        return portfolio_page(
            "portfolios/transactions.html",
            "portfolios/_transactions_table.html",
            portfolio,
            "Transactions",
            form=form,
            page=ledger.list_transactions(
                portfolio, kind=kind, limit=LEDGER_PAGE_SIZE, offset=offset
            ),
            state=ledger.ledger_state(portfolio),
            kinds=mgmt.ENTRY_KINDS,
            kind=kind,
        )

    on_invalid(form, render)
    if not form.validate_on_submit():
        return render()
    (row,) = mgmt.record_entry(portfolio, _form_data(form), source="manual")
    flash(f"Recorded the {row.kind} of {abs(row.amount):,.2f} on {row.trade_date}.", "success")
    return redirect(url_for("portfolios.transactions", portfolio_id=portfolio.id))


@bp.route("/tags", methods=["GET", "POST"])
def tags():
    """The advisor's tags: create, delete, and where each is used (links filter the overview)."""
    form = TagForm()
    page = _page(
        form,
        "portfolios/tags.html",
        tags=lambda: mgmt.user_tags(current_user.id),
        confirm=ConfirmForm,
    )
    if not form.validate_on_submit():
        return page()
    tag = mgmt.create_tag(current_user.id, _form_data(form))
    flash(f"Created tag '{tag.name}'.", "success")
    return redirect(url_for("portfolios.tags"))


@bp.post("/tags/<int:tag_id>/delete")
def delete_tag(tag_id: int):
    """Delete one of the advisor's tags (the page confirms in the browser first)."""
    tag = mgmt.owned_tag(current_user.id, tag_id)
    if tag is None:
        abort(404)
    if ConfirmForm().validate_on_submit():
        name = tag.name
        mgmt.delete_tag(tag)
        flash(f"Deleted tag '{name}'; its positions are untagged.", "success")
    return redirect(url_for("portfolios.tags"))
