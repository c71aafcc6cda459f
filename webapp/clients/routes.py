"""Client list, client page, risk questionnaire, households.

Every route reads its client or household through ``services.clients`` (another advisor's id is
404). The forms only carry CSRF and render fields; a refused submission re-renders its page with
422 and the service's messages inline (``on_invalid``, mapped once for the blueprint).
"""

from __future__ import annotations

from flask import flash, redirect, render_template, request, url_for
from flask_login import current_user
from wtforms.fields.choices import SelectChoice

from webapp.analytics import questionnaire
from webapp.clients import bp
from webapp.clients.forms import (
    AssignForm,
    ClientForm,
    ConfirmForm,
    HouseholdForm,
    QuestionnaireForm,
)
from webapp.models import Client, Portfolio
from webapp.pages import PORTFOLIO_NAV, on_invalid
from webapp.services import clients as svc
from webapp.services.queries import latest_price_date
from webapp.services.risk_profile import risk_score


def _form_data(form) -> dict:
    """The submitted values, as the service takes them."""
    return {k: v for k, v in form.data.items() if k not in ("csrf_token", "submit")}


def _page(form, template: str, **context):
    """The form's page as a callable, declared as this request's answer to a refusal (422)."""

    def render() -> str:
        values = {k: v() if callable(v) else v for k, v in context.items()}
        return render_template(template, form=form, **values)

    on_invalid(form, render)
    return render


def _client(client_id: int) -> Client:
    return svc.owned_client(client_id, current_user.id)


def _household(portfolio_id: int) -> Portfolio:
    return svc.owned_household(portfolio_id, current_user.id)


# ---------------------------------------------------------------- clients


@bp.get("/")
def index():
    """The advisor's clients (tolerance, date answered, accounts) and households."""
    return render_template(
        "clients/index.html",
        clients=svc.user_clients(current_user.id),
        households=svc.user_households(current_user.id),
        accounts=svc.client_accounts,
    )


@bp.route("/new", methods=["GET", "POST"])
def create():
    """A new client."""
    form = ClientForm()
    page = _page(form, "clients/client_form.html", client=None)
    if not form.validate_on_submit():
        return page()
    client = svc.create_client(current_user.id, _form_data(form))
    flash(f"Added client '{client.name}'. Assign accounts or take the questionnaire.", "success")
    return redirect(url_for("clients.detail", client_id=client.id))


@bp.route("/<int:client_id>/edit", methods=["GET", "POST"])
def edit(client_id: int):
    """Change the client's name, e-mail or notes."""
    client = _client(client_id)
    form = ClientForm(data={"name": client.name, "email": client.email, "notes": client.notes})
    page = _page(form, "clients/client_form.html", client=client)
    if not form.validate_on_submit():
        return page()
    svc.update_client(client, _form_data(form))
    flash("Client saved.", "success")
    return redirect(url_for("clients.detail", client_id=client.id))


@bp.route("/<int:client_id>/delete", methods=["GET", "POST"])
def delete(client_id: int):
    """GET asks for confirmation; POST deletes the client (their accounts stay, unlinked)."""
    client = _client(client_id)
    form = ConfirmForm()
    if form.validate_on_submit():
        name = client.name
        svc.delete_client(client)
        flash(f"Deleted client '{name}' and their questionnaires; their accounts stay.", "success")
        return redirect(url_for("clients.index"))
    return render_template("clients/confirm_delete.html", form=form, client=client)


def _assign_form(client: Client) -> AssignForm:
    # The template lists the checkboxes itself (with each portfolio's kind and current client).
    return AssignForm(data={"portfolio_ids": [str(p.id) for p in client.portfolios]})


def _detail_page(client: Client, assign: AssignForm):
    """The client page as a callable (also the answer to a refused assignment)."""
    profile = client.profile
    accounts, households = svc.client_accounts(client), svc.client_households(client)
    return _page(
        assign,
        "clients/detail.html",
        client=client,
        accounts=accounts,
        households=households,
        risk={p.id: risk_score(p) for p in accounts + households},
        profile=profile,
        reading=svc.describe_profile(profile) if profile else None,
        history=lambda: svc.profile_history(client),
        choices=lambda: _choices(client),
    )


def _choices(client: Client) -> list[dict]:
    """Each of the advisor's portfolios for the assignment form: kind and current client."""
    others = {p.id: c for c in svc.user_clients(current_user.id) for p in c.portfolios}
    books = svc.user_accounts(current_user.id) + [
        h.book for h in svc.user_households(current_user.id)
    ]
    return [
        {
            "id": str(p.id),
            "name": p.name,
            "household": p.is_household,
            "other": others[p.id].name if p.id in others and others[p.id].id != client.id else None,
        }
        for p in books
    ]


@bp.get("/<int:client_id>")
def detail(client_id: int):
    """The client page: details, accounts, households, questionnaire result and history."""
    client = _client(client_id)
    return _detail_page(client, _assign_form(client))()


@bp.post("/<int:client_id>/accounts")
def assign(client_id: int):
    """Make the checked accounts and households the client's (moving them from another)."""
    client = _client(client_id)
    form = _assign_form(client)
    page = _detail_page(client, form)
    if not form.validate_on_submit():
        return page()
    chosen = svc.assign_portfolios(client, form.portfolio_ids.data or [])
    flash(f"{client.name} now has {len(chosen)} account(s) and household(s).", "success")
    return redirect(url_for("clients.detail", client_id=client.id))


@bp.route("/<int:client_id>/questionnaire", methods=["GET", "POST"])
def take_questionnaire(client_id: int):
    """The ten questions as radio groups; the result is stored as a new profile."""
    client = _client(client_id)
    last = client.profile
    # Retaking starts from the last answers; a submission is only what was sent (a question
    # left unanswered is an error, never the previous answer).
    same = last is not None and last.version == questionnaire.VERSION
    form = QuestionnaireForm(data=last.answers if same and request.method == "GET" else None)
    page = _page(
        form,
        "clients/questionnaire.html",
        client=client,
        questions=questionnaire.QUESTIONS,
        method=questionnaire.MAPPING_TEXT,
        version=questionnaire.VERSION,
    )
    if not form.validate_on_submit():
        return page()
    answers = {q.key: form[q.key].data for q in questionnaire.QUESTIONS}
    profile = svc.record_questionnaire(client, answers)
    flash(f"Questionnaire recorded. Risk tolerance: {svc.describe_profile(profile)}", "success")
    return redirect(url_for("clients.detail", client_id=client.id))


# ---------------------------------------------------------------- households


def _household_form(data: dict | None = None) -> HouseholdForm:
    form = HouseholdForm(data=data)
    form.account_ids.choices = [
        SelectChoice(str(p.id), p.name) for p in svc.user_accounts(current_user.id)
    ]
    form.client_id.choices = [SelectChoice("", "No client")] + [
        SelectChoice(str(c.id), c.name) for c in svc.user_clients(current_user.id)
    ]
    return form


def _household_page(form: HouseholdForm, book: Portfolio | None):
    return _page(
        form,
        "clients/household_form.html",
        book=book,
        memberships=lambda: svc.household_memberships(current_user.id),
    )


@bp.route("/households/new", methods=["GET", "POST"])
def create_household():
    """A household of the advisor's accounts, optionally for one client."""
    form = _household_form()
    page = _household_page(form, None)
    if not form.validate_on_submit():
        return page()
    book = svc.create_household(current_user.id, _form_data(form))
    flash(f"Created household '{book.name}' from its accounts' positions.", "success")
    return redirect(url_for("clients.household", portfolio_id=book.id))


@bp.route("/households/<int:portfolio_id>/edit", methods=["GET", "POST"])
def edit_household(portfolio_id: int):
    """Rename the household, change its accounts (the combined book is re-copied) or client."""
    book = _household(portfolio_id)
    form = _household_form(
        {
            "name": book.name,
            "account_ids": [str(p.id) for p in svc.household_view(book).members],
            "client_id": str(book.client_id or ""),
        }
    )
    page = _household_page(form, book)
    if not form.validate_on_submit():
        return page()
    svc.update_household(book, _form_data(form))
    flash("Household saved; its combined book now mirrors the chosen accounts.", "success")
    return redirect(url_for("clients.household", portfolio_id=book.id))


@bp.get("/households/<int:portfolio_id>")
def household(portfolio_id: int):
    """The household page: its accounts' and the combined book's equity, links to analytics."""
    book = _household(portfolio_id)
    return render_template(
        "clients/household.html",
        book=book,
        summary=svc.household_summary(book),
        pages=PORTFOLIO_NAV,
        as_of=latest_price_date(),
    )
