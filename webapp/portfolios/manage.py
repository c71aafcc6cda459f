"""Portfolio, position and tag management pages (validated forms, CSRF, confirmation on delete)."""
from __future__ import annotations

from flask import abort, flash, redirect, render_template, request, url_for
from flask_login import current_user

from webapp.extensions import db
from webapp.models import Tag
from webapp.pages import owned
from webapp.portfolios import bp
from webapp.portfolios.forms import ClosePositionForm, ConfirmForm, PortfolioForm, PositionForm, TagForm
from webapp.services import management as mgmt


def _form_data(form) -> dict:
    return {k: v for k, v in form.data.items() if k not in ("csrf_token", "submit")}


def _show_errors(form, exc: mgmt.ValidationError) -> None:
    for field, message in exc.errors.items():
        if field in form:
            form[field].errors = list(form[field].errors or []) + [message]
        else:
            flash(message, "error")


@bp.route("/new", methods=["GET", "POST"])
def create():
    form = PortfolioForm()
    if form.validate_on_submit():
        try:
            portfolio = mgmt.create_portfolio(current_user.id, _form_data(form))
        except mgmt.ValidationError as exc:
            _show_errors(form, exc)
        else:
            flash(f"Created portfolio '{portfolio.name}'.", "success")
            return redirect(url_for("portfolios.detail", portfolio_id=portfolio.id))
    status = 422 if request.method == "POST" else 200
    return render_template("portfolios/portfolio_form.html", form=form, portfolio=None), status


@bp.route("/<int:portfolio_id>/edit", methods=["GET", "POST"])
def edit(portfolio_id: int):
    portfolio = owned(portfolio_id)
    form = PortfolioForm(obj=portfolio)
    if form.validate_on_submit():
        try:
            mgmt.update_portfolio(portfolio, _form_data(form))
        except mgmt.ValidationError as exc:
            _show_errors(form, exc)
        else:
            flash("Portfolio saved.", "success")
            return redirect(url_for("portfolios.detail", portfolio_id=portfolio.id))
    status = 422 if request.method == "POST" else 200
    return render_template("portfolios/portfolio_form.html", form=form, portfolio=portfolio), status


@bp.route("/<int:portfolio_id>/delete", methods=["GET", "POST"])
def delete(portfolio_id: int):
    portfolio = owned(portfolio_id)
    form = ConfirmForm()
    if form.validate_on_submit():
        name = portfolio.name
        mgmt.delete_portfolio(portfolio)
        flash(f"Deleted portfolio '{name}' and its positions.", "success")
        return redirect(url_for("portfolios.index"))
    return render_template("portfolios/confirm_delete.html", form=form, portfolio=portfolio,
                           what=f"the portfolio '{portfolio.name}' and its {len(portfolio.positions)} positions")


@bp.route("/<int:portfolio_id>/positions/new", methods=["GET", "POST"])
def add_position(portfolio_id: int):
    portfolio = owned(portfolio_id)
    form = PositionForm()
    if form.validate_on_submit():
        try:
            position = mgmt.add_position(portfolio, _form_data(form))
        except mgmt.ValidationError as exc:
            _show_errors(form, exc)
        else:
            flash(f"Added {position.symbol}.", "success")
            return redirect(url_for("portfolios.detail", portfolio_id=portfolio.id))
    status = 422 if request.method == "POST" else 200
    return render_template("portfolios/position_form.html", form=form, portfolio=portfolio, position=None), status


def _position_or_404(portfolio, position_id):
    position = mgmt.owned_position(portfolio, position_id)
    if position is None:
        abort(404)
    return position


@bp.route("/<int:portfolio_id>/positions/<int:position_id>/edit", methods=["GET", "POST"])
def edit_position(portfolio_id: int, position_id: int):
    portfolio = owned(portfolio_id)
    position = _position_or_404(portfolio, position_id)
    form = PositionForm(obj=position)
    if request.method == "GET":
        form.quantity.data = f"{abs(position.quantity):g}"
        form.entry_price.data = f"{position.entry_price:g}"
        form.strike_price.data = f"{position.strike_price:g}" if position.strike_price else ""
        form.implied_vol.data = f"{position.implied_vol:g}" if position.implied_vol else ""
        form.tags.data = ", ".join(t.name for t in position.tags)
    if form.validate_on_submit():
        try:
            mgmt.update_position(position, _form_data(form))
        except mgmt.ValidationError as exc:
            _show_errors(form, exc)
        else:
            flash(f"Saved {position.symbol}.", "success")
            return redirect(url_for("portfolios.detail", portfolio_id=portfolio.id))
    status = 422 if request.method == "POST" else 200
    return render_template("portfolios/position_form.html", form=form, portfolio=portfolio, position=position), status


@bp.route("/<int:portfolio_id>/positions/<int:position_id>/close", methods=["GET", "POST"])
def close_position(portfolio_id: int, position_id: int):
    portfolio = owned(portfolio_id)
    position = _position_or_404(portfolio, position_id)
    form = ClosePositionForm()
    if form.validate_on_submit():
        try:
            mgmt.close_position(position, _form_data(form))
        except mgmt.ValidationError as exc:
            _show_errors(form, exc)
        else:
            flash(f"Closed {position.symbol}.", "success")
            return redirect(url_for("portfolios.detail", portfolio_id=portfolio.id))
    status = 422 if request.method == "POST" else 200
    return render_template("portfolios/position_close.html", form=form, portfolio=portfolio, position=position), status


@bp.route("/<int:portfolio_id>/positions/<int:position_id>/delete", methods=["GET", "POST"])
def delete_position(portfolio_id: int, position_id: int):
    portfolio = owned(portfolio_id)
    position = _position_or_404(portfolio, position_id)
    form = ConfirmForm()
    if form.validate_on_submit():
        mgmt.delete_position(position)
        flash(f"Deleted {position.symbol}.", "success")
        return redirect(url_for("portfolios.detail", portfolio_id=portfolio.id))
    return render_template("portfolios/confirm_delete.html", form=form, portfolio=portfolio,
                           what=f"the position {position.symbol} ({position.quantity:g})")


@bp.route("/tags", methods=["GET", "POST"])
def tags():
    form = TagForm()
    if form.validate_on_submit():
        try:
            tag = mgmt.create_tag(current_user.id, _form_data(form))
        except mgmt.ValidationError as exc:
            _show_errors(form, exc)
        else:
            flash(f"Created tag '{tag.name}'.", "success")
            return redirect(url_for("portfolios.tags"))
    status = 422 if request.method == "POST" else 200
    return render_template("portfolios/tags.html", form=form, tags=mgmt.user_tags(current_user.id),
                           confirm=ConfirmForm()), status


@bp.post("/tags/<int:tag_id>/delete")
def delete_tag(tag_id: int):
    tag = db.session.get(Tag, tag_id)
    if tag is None or tag.user_id != current_user.id:
        abort(404)
    if ConfirmForm().validate_on_submit():
        mgmt.delete_tag(tag)
        flash(f"Deleted tag '{tag.name}'.", "success")
    return redirect(url_for("portfolios.tags"))
