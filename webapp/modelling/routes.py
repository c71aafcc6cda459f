"""Session list, session page (trades, impact panel), save / apply / discard.

The session page's work area — the trade list, the add-trade form and the impact panel — is one
partial: adding or removing a trade over HTMX returns it, the change queues the proposed book's
batch, and the panel re-polls itself (the Recalculate pattern) until the figures are in. A trade
the ledger refuses comes back in the same partial with its field messages and status 422.
"""

from __future__ import annotations

from flask import flash, g, make_response, redirect, render_template, request, url_for
from flask_login import current_user
from wtforms.fields.choices import SelectChoice

from webapp.formatting import number, pct
from webapp.modelling import bp
from webapp.modelling.forms import (
    KIND_CHOICES,
    ConfirmForm,
    NewSessionForm,
    SaveForm,
    SuggestForm,
    TradeForm,
)
from webapp.models import ModellingSession
from webapp.pages import is_htmx, on_invalid, owned, show_errors
from webapp.readings import about_money
from webapp.services import modelling as svc
from webapp.services.batch import run_portfolio_batch
from webapp.services.impacts import Impacts, Line, impacts
from webapp.services.management import Conflict, ValidationError
from webapp.services.option_labels import position_name
from webapp.services.portfolios import user_portfolios
from webapp.services.queueing import (
    ACTIVE_RUN_STATUSES,
    QueueUnavailable,
    cancel_run,
    enqueue_portfolio_batch,
    job_status,
    reconcile_quietly,
)
from webapp.services.runs import recent_runs
from webapp.services.stress_tests import stress_test
from webapp.services.suggestions import suggest as suggest_trade

#: "Calculate now" runs the batch in the request: only for books small enough to wait for.
MAX_SYNC_POSITIONS = 500
#: The impact panel's groups in display order.
GROUPS = (
    ("exposures", "Exposures"),
    ("risk", "Risk"),
    ("factors", "Factor betas"),
    ("contributions", "Risk contributions (share of the book's risk)"),
    ("sectors", "Sector weights (net, % of equity)"),
    ("stress", "Stress scenarios (P&L)"),
)
KIND_WORDS = {c.value: c.label for c in KIND_CHOICES}
#: The cash a trade moves, by kind: +1 brings cash in, -1 pays it out (options: by side).
CASH_SIGN = {"buy": -1, "sell": 1, "short": 1, "cover": -1, "deposit": 1, "withdrawal": -1}
OPTION_CASH_SIGN = {("option_open", "L"): -1, ("option_open", "S"): 1}
OPTION_CASH_SIGN |= {("option_close", "L"): 1, ("option_close", "S"): -1}


@bp.errorhandler(Conflict)
def _closed(exc: Conflict):
    """A saved or applied session refuses changes: said where it was asked (422), like a field
    error (the shared handler would send the advisor to the portfolio list)."""
    declared = g.pop("invalid_form", None)
    if declared is None:
        for message in exc.errors.values():
            flash(message, "error")
        session_id = (request.view_args or {}).get("session_id")
        return redirect(url_for("modelling.detail", session_id=session_id))
    form, render = declared
    show_errors(form, exc)
    response = make_response(render())
    response.status_code = 422
    return response


def _owned(session_id: int) -> ModellingSession:
    """The current advisor's session or 404."""
    return svc.owned_session(session_id, current_user.id)


# ------------------------------------------------------------------------------------------------
# Session list
# ------------------------------------------------------------------------------------------------
def _accounts() -> list:
    return [p for p in user_portfolios(current_user.id) if p.kind == "account"]


def _index_page(form: NewSessionForm) -> str:
    accounts = _accounts()
    form.portfolio_id.choices = [SelectChoice(str(p.id), p.name) for p in accounts]
    return render_template(
        "modelling/index.html",
        sessions=svc.user_sessions(current_user.id),
        accounts=accounts,
        form=form,
    )


@bp.get("/")
def index():
    """The advisor's sessions, newest first, and the form that starts one."""
    return _index_page(NewSessionForm())


@bp.post("/new")
def new():
    """Start a session on one of the advisor's accounts and queue its proposed book's batch."""
    form = NewSessionForm()
    on_invalid(form, lambda: _index_page(form))
    if not form.validate_on_submit():
        return _index_page(form)
    raw = (form.portfolio_id.data or "").strip()
    if not raw.isdigit():
        raise ValidationError({"portfolio_id": "Choose one of your accounts."})
    session = svc.start_session(owned(int(raw)), form.name.data)
    flash(f"Started '{session.name}'. Add trades to see their impact.", "success")
    message = _queue(session)
    if message:
        flash(message, "error")
    return redirect(url_for("modelling.detail", session_id=session.id))


# ------------------------------------------------------------------------------------------------
# Session page
# ------------------------------------------------------------------------------------------------
def _float(value) -> float | None:
    try:
        return float(value)
    except (TypeError, ValueError):
        return None


def _trade_view(session: ModellingSession) -> list[dict]:
    """The trade list as the page shows it: kind and instrument in words, the cash it moves."""
    rows = []
    for position, row in enumerate(svc.trade_rows(session), start=1):
        f = row.fields
        option = row.kind.startswith("option_")
        side = str(f.get("position_type") or "L")[:1].upper()
        sign = OPTION_CASH_SIGN.get((row.kind, side)) if option else CASH_SIGN.get(row.kind)
        quantity, price = _float(f.get("quantity")), _float(f.get("price"))
        if row.kind in ("deposit", "withdrawal"):
            gross = _float(f.get("amount"))
        else:
            gross = (
                quantity * price * (100 if option else 1) if None not in (quantity, price) else None
            )
        cash = sign * gross - (_float(f.get("fees")) or 0.0) if gross is not None else None
        instrument = position_name(
            {
                "symbol": str(f.get("symbol") or "").upper(),
                "position_type": f.get("position_type") if option else "LONG",
                "underlying": str(f.get("underlying_symbol") or "").upper() or None,
                "expiry": f.get("expiration_date"),
                "strike": _float(f.get("strike_price")),
            }
        )
        rows.append(
            {
                "id": row.id,
                "number": position,
                "kind": KIND_WORDS.get(row.kind, row.kind),
                "instrument": instrument or "cash",
                "quantity": quantity,
                "price": price,
                "cash": cash,
                "trade_date": f.get("trade_date"),
            }
        )
    return rows


def _direction(label: str, line: Line | None, text, suffix: str = "") -> str | None:
    """ "Beta falls from 1.21 to 0.95" — or "stays at" when the shown figures are equal."""
    if line is None or line.current is None or line.proposed is None:
        return None
    before, after = text(line.current), text(line.proposed)
    if before == after:
        return f"{label} stays at {after}{suffix}"
    verb = "rises" if line.proposed > line.current else "falls"
    return f"{label} {verb} from {before} to {after}{suffix}"


def _loss_words(value: float) -> str:
    return about_money(value, 3).replace("-", "\u2212")


def _worst_loss(stress: list[Line]) -> str | None:
    """The worst scenario's P&L, current against proposed (each side's own worst scenario)."""
    now = [s.current for s in stress if s.current is not None]
    then = [s.proposed for s in stress if s.proposed is not None]
    if not now or not then:
        return None
    before, after = min(now), min(then)
    if _loss_words(before) == _loss_words(after):
        return f"the worst scenario loss stays at {_loss_words(after)}"
    verb = "shrinks" if after > before else "deepens"
    return f"the worst scenario loss {verb} from {_loss_words(before)} to {_loss_words(after)}"


def headline(result: Impacts) -> str | None:
    """The main changes in one sentence: beta, 1-day VaR and the worst scenario loss."""
    if not result.calculated:
        return None
    risk = {line.key: line for line in result.groups.get("risk", [])}
    parts = [
        _direction("beta", risk.get("beta"), lambda v: number(v, 2)),
        _direction("1-day VaR", risk.get("var"), lambda v: pct(v, 1), " of equity"),
        _worst_loss(result.groups.get("stress", [])),
    ]
    parts = [p for p in parts if p]
    if not parts:
        return None
    sentence = "; ".join(parts)
    return sentence[0].upper() + sentence[1:] + "."


def _open_positions(session: ModellingSession) -> int:
    return sum(1 for p in session.proposal.positions if p.is_open)


def _panel_context(session: ModellingSession, queue_message: str | None = None) -> dict:
    """The impact panel: the impacts, the proposed book's last run and its progress."""
    result = impacts(session)
    runs = recent_runs(session.proposal_id, limit=1)
    run = runs[0] if runs else None
    if run is not None:
        reconcile_quietly([run])
    active = run is not None and run.status in ACTIVE_RUN_STATUSES
    status, queue_down = None, queue_message is not None
    if active and run.job_id:
        try:
            status = job_status(run.job_id)
        except QueueUnavailable:
            queue_down = True
    return {
        "session": session,
        "result": result,
        "groups": [(key, title, result.groups.get(key, [])) for key, title in GROUPS],
        "headline": headline(result),
        "run": run,
        "active": active,
        "status": status,
        "queue_down": queue_down,
        "queue_message": queue_message,
        "positions": _open_positions(session),
        "sync_limit": MAX_SYNC_POSITIONS,
    }


def _suggest_form(session: ModellingSession, form: SuggestForm | None = None) -> SuggestForm:
    form = form or SuggestForm(formdata=None)
    result = stress_test(session.portfolio)
    form.scenario_id.choices = [
        SelectChoice(s["scenario_id"], s["name"])
        for s in (result.data["scenarios"] if result.available else [])
    ]
    return form


def _work_context(
    session: ModellingSession, form: TradeForm, queue_message=None, suggest_form=None
) -> dict:
    return {
        **_panel_context(session, queue_message),
        "trades": _trade_view(session),
        "form": form,
        "suggest_form": _suggest_form(session, suggest_form),
        "is_open": session.status == "open",
    }


def _page(
    session: ModellingSession, form: TradeForm, save_form=None, queue_message=None,
    suggest_form=None,
):  # fmt: skip
    """The session page, or only its work area (trades, form, panel) for HTMX."""
    context = _work_context(session, form, queue_message, suggest_form)
    if is_htmx():
        response = make_response(render_template("modelling/_work.html", partial=True, **context))
    else:
        response = make_response(
            render_template(
                "modelling/detail.html", save_form=save_form or SaveForm(formdata=None), **context
            )
        )
    response.headers["Vary"] = "HX-Request"
    return response


def _calculated(portfolio_id: int) -> bool:
    return any(r.status in ("succeeded", "partial") for r in recent_runs(portfolio_id, limit=5))


def _queue(session: ModellingSession) -> str | None:
    """Queue the proposed book's batch (and the account's, never calculated yet); the message
    to show when the queue is down, else None."""
    try:
        enqueue_portfolio_batch(session.proposal_id, trigger="manual")
        if not _calculated(session.portfolio_id):
            enqueue_portfolio_batch(session.portfolio_id, trigger="manual")
    except QueueUnavailable as exc:
        return exc.message
    return None


def _queue_book(portfolio_id: int) -> None:
    """Queue a changed account's batch; with the queue down, say so (its figures wait)."""
    try:
        enqueue_portfolio_batch(portfolio_id, trigger="manual")
    except QueueUnavailable as exc:
        flash(exc.message, "error")


def _calculate_now(session: ModellingSession) -> str | None:
    """Run the proposed book's batch in this request (books up to ``MAX_SYNC_POSITIONS``); the
    refusal to show, else None. A run still queued for it is cancelled: this one replaces it."""
    count = _open_positions(session)
    if count > MAX_SYNC_POSITIONS:
        return (
            f"The proposed book has {count:,} positions: too many to calculate while you wait "
            f"(up to {MAX_SYNC_POSITIONS}). It will be calculated once the queue is back."
        )
    for run in recent_runs(session.proposal_id, limit=5):
        if run.status in ACTIVE_RUN_STATUSES:
            cancel_run(run.id, "replaced by 'Calculate now'")
    run_portfolio_batch(session.proposal_id, trigger="manual")
    if not _calculated(session.portfolio_id):
        run_portfolio_batch(session.portfolio_id, trigger="manual")
    return None


def _after_change(session: ModellingSession, done: str, *, queue: bool = True):
    """The answer to a change of the trades: the work area (HTMX) or back to the page."""
    message = _queue(session) if queue else None
    if is_htmx():
        return _page(session, TradeForm(formdata=None), queue_message=message)
    flash(done, "success")
    if message:
        flash(message, "error")
    return redirect(url_for("modelling.detail", session_id=session.id))


@bp.get("/<int:session_id>")
def detail(session_id: int):
    """The session: its trades, the add-trade form, the impact panel, save / apply / discard."""
    return _page(_owned(session_id), TradeForm(formdata=None))


@bp.post("/<int:session_id>/trades")
def add_trade(session_id: int):
    """Propose a trade; a refusal shows the ledger's messages on the form (422)."""
    session = _owned(session_id)
    form = TradeForm()
    on_invalid(form, lambda: _page(session, form))
    if not form.validate_on_submit():
        return _page(session, form)
    trade = svc.add_trade(session, form.entry())
    return _after_change(session, f"Added trade {len(session.trades)} ({trade.kind}).")


#: Targets whose value the form takes in percent of equity (the service takes fractions).
PERCENT_TARGETS = ("net_exposure", "weight", "scenario_loss", "var")


@bp.post("/<int:session_id>/suggest")
def suggest(session_id: int):
    """Size the trade that reaches the target on the proposed book and add it to the session."""
    session = _owned(session_id)
    form = _suggest_form(session, SuggestForm())
    on_invalid(form, lambda: _page(session, TradeForm(formdata=None), suggest_form=form))
    try:
        value = float(form.value.data)
    except (TypeError, ValueError):
        raise ValidationError({"value": "Give the target as a number."}) from None
    if form.target.data in PERCENT_TARGETS:
        value /= 100.0
    suggestion = suggest_trade(
        session,
        form.target.data,
        value,
        symbol=form.symbol.data or None,
        scenario_id=form.scenario_id.data or None,
        hedge=form.hedge.data or "index",
    )
    if suggestion is None:
        flash("The proposed book already meets that target: no trade needed.", "success")
        return _after_change(session, "No trade added.", queue=False)
    svc.add_trade(session, suggestion.trade_fields())
    return _after_change(
        session,
        f"Added {suggestion.kind} {suggestion.quantity:,.0f} {suggestion.symbol}: "
        f"{suggestion.method}.",
    )


@bp.post("/<int:session_id>/trades/<int:trade_id>/remove")
def remove_trade(session_id: int, trade_id: int):
    """Withdraw a trade (refused, 422, while a later one needs it)."""
    session = _owned(session_id)
    on_invalid(ConfirmForm(), lambda: _page(session, TradeForm(formdata=None)))
    svc.remove_trade(session, trade_id)
    return _after_change(session, "Removed the trade.")


@bp.post("/<int:session_id>/calculate")
def calculate(session_id: int):
    """Queue the proposed book's batch, or (``now``) run it here; the panel for HTMX."""
    session = _owned(session_id)
    message = _calculate_now(session) if request.form.get("now") else _queue(session)
    if is_htmx():
        response = make_response(
            render_template("modelling/_impact_panel.html", **_panel_context(session, message))
        )
        response.headers["Vary"] = "HX-Request"
        return response
    if message:
        flash(message, "error")
    return redirect(url_for("modelling.detail", session_id=session.id))


@bp.get("/<int:session_id>/impacts")
def impact_panel(session_id: int):
    """The impact panel alone: polled while the proposed book's batch runs."""
    session = _owned(session_id)
    response = make_response(
        render_template("modelling/_impact_panel.html", **_panel_context(session))
    )
    response.headers["Vary"] = "HX-Request"
    return response


@bp.post("/<int:session_id>/refresh")
def refresh(session_id: int):
    """Rebuild the proposed book from the account as it is now, and recalculate it."""
    session = _owned(session_id)
    on_invalid(ConfirmForm(), lambda: _page(session, TradeForm(formdata=None)))
    svc.refresh(session)
    return _after_change(session, "Rebuilt the proposal from the account as it is now.")


@bp.post("/<int:session_id>/save")
def save(session_id: int):
    """Save the proposed book as a new account (its name refused inline, 422)."""
    session = _owned(session_id)
    form = SaveForm()
    on_invalid(form, lambda: _page(session, TradeForm(formdata=None), save_form=form))
    saved = svc.save_as_portfolio(session, form.name.data or "")
    flash(f"Saved the proposal as the new account '{saved.name}'.", "success")
    _queue_book(saved.id)
    return redirect(url_for("portfolios.detail", portfolio_id=saved.id))


def _confirm_page(session: ModellingSession, form: ConfirmForm, action: str):
    return render_template(
        "modelling/confirm.html",
        session=session,
        form=form,
        action=action,
        trades=_trade_view(session),
        is_open=session.status == "open",
    )


@bp.route("/<int:session_id>/apply", methods=["GET", "POST"])
def apply(session_id: int):
    """GET asks for confirmation; POST books the trades on the account (all or none)."""
    session = _owned(session_id)
    form = ConfirmForm()
    on_invalid(form, lambda: _confirm_page(session, form, "apply"))
    if not form.validate_on_submit():
        return _confirm_page(session, form, "apply")
    rows = svc.apply_to_portfolio(session)
    flash(
        f"Booked {rows} ledger row{'s' if rows != 1 else ''} on '{session.portfolio.name}'.",
        "success",
    )
    _queue_book(session.portfolio_id)
    return redirect(url_for("portfolios.transactions", portfolio_id=session.portfolio_id))


@bp.route("/<int:session_id>/delete", methods=["GET", "POST"])
def delete(session_id: int):
    """GET asks for confirmation; POST discards the session and its proposed book."""
    session = _owned(session_id)
    form = ConfirmForm()
    if not form.validate_on_submit():
        return _confirm_page(session, form, "delete")
    name = session.name
    svc.delete_session(session)
    flash(f"Discarded '{name}'; the account is untouched.", "success")
    return redirect(url_for("modelling.index"))


def _export(session_id: int, fmt: str):
    session = _owned(session_id)
    return redirect(url_for("api.modelling_trades", session_id=session.id, format=fmt))


@bp.get("/<int:session_id>/trades.csv")
def export_csv(session_id: int):
    """The trade list with broker columns as CSV: the API's file (GETs take the browser
    session), so the page and the API download the same bytes."""
    return _export(session_id, "csv")


@bp.get("/<int:session_id>/trades.json")
def export_json(session_id: int):
    """The trade list with broker columns as JSON (the API's)."""
    return _export(session_id, "json")
