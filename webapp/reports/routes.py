"""Report list, generation with progress, download, templates and schedules.

Every route reads its report, template, schedule or portfolio through ``services.reports`` or
``pages.owned`` (another advisor's id is 404). The forms only carry CSRF and render fields; a
refused template or schedule re-renders its page with 422 and the service's messages inline
(``on_invalid``, mapped once for the blueprint). Generating answers HTMX with the progress
fragment, which re-polls itself until the PDF is built and then offers the download.
"""

from __future__ import annotations

from flask import Response, flash, redirect, render_template, request, url_for
from flask_login import current_user
from wtforms.fields.choices import SelectChoice

from webapp.models import Portfolio, Report, ReportTemplate
from webapp.pages import is_htmx, on_invalid, owned, portfolio_page
from webapp.reports import bp
from webapp.reports.forms import ConfirmForm, GenerateForm, ScheduleForm, TemplateForm
from webapp.services import reports as svc
from webapp.services.modelling import user_sessions
from webapp.services.portfolios import user_portfolios

LIST_LIMIT = 50


def _report(report_id: int) -> Report:
    return svc.refresh_status(svc.owned_report(report_id, current_user.id))


def _template(template_id: int) -> ReportTemplate:
    return svc.owned_template(template_id, current_user.id)


def _template_choices() -> list[SelectChoice]:
    return [SelectChoice("", "Every section, no firm name")] + [
        SelectChoice(str(t.id), t.name) for t in svc.user_templates(current_user.id)
    ]


def _page(form, page_template: str, **context):
    """The form's page as a callable, declared as this request's answer to a refusal (422)."""

    def render() -> str:
        values = {k: v() if callable(v) else v for k, v in context.items()}
        return render_template(page_template, form=form, **values)

    on_invalid(form, render)
    return render


# ---------------------------------------------------------------- reports


def _schedule_form() -> ScheduleForm:
    form = ScheduleForm()
    form.portfolio_id.choices = [
        SelectChoice(str(p.id), p.name) for p in user_portfolios(current_user.id)
    ]
    form.template_id.choices = _template_choices()
    return form


@bp.get("/")
def index():
    """The advisor's reports (status, progress, downloads), templates and schedules."""
    reports, total = svc.user_reports(current_user.id, limit=LIST_LIMIT)
    for report in reports:
        svc.refresh_status(report)
    return _index_page(_schedule_form(), reports=reports, total=total)()


def _index_page(schedule_form: ScheduleForm, **context):
    return _page(
        schedule_form,
        "reports/index.html",
        schedule_form=schedule_form,
        templates=lambda: svc.user_templates(current_user.id),
        schedules=lambda: svc.user_schedules(current_user.id),
        portfolios=lambda: user_portfolios(current_user.id),
        section_titles=svc.SECTION_TITLES,
        **context,
    )


def _generate_form(portfolio: Portfolio) -> GenerateForm:
    form = GenerateForm()
    form.template_id.choices = _template_choices()
    sessions = [s for s in user_sessions(current_user.id) if s.portfolio_id == portfolio.id]
    form.session_id.choices = [SelectChoice("", "No proposal")] + [
        SelectChoice(str(s.id), s.name) for s in sessions
    ]
    return form


@bp.get("/portfolio/<int:portfolio_id>")
def portfolio(portfolio_id: int):
    """One account's report page: the form (template, proposal) and its recent reports."""
    book = owned(portfolio_id)
    reports = [
        r for r in svc.user_reports(current_user.id, limit=200)[0] if r.portfolio_id == book.id
    ]
    for report in reports[:10]:
        svc.refresh_status(report)
    return portfolio_page(
        "reports/portfolio.html",
        None,
        book,
        "Client report",
        form=_generate_form(book),
        reports=reports[:10],
    )


@bp.post("/portfolio/<int:portfolio_id>")
def generate(portfolio_id: int):
    """Queue the PDF report (or return the one already queued) and show its progress."""
    book = owned(portfolio_id)
    form = _generate_form(book)
    report = svc.request_report(
        book,
        current_user.id,
        template_id=form.template_id.data or None,
        session_id=form.session_id.data or None,
    )
    if is_htmx():
        return render_template("reports/_progress.html", report=report)
    flash("The report is being built; it appears below when it is ready.", "success")
    return redirect(url_for("reports.portfolio", portfolio_id=book.id))


@bp.get("/<int:report_id>/progress")
def progress(report_id: int):
    """The polled progress fragment: the step being built, then the download link."""
    return render_template("reports/_progress.html", report=_report(report_id))


@bp.get("/<int:report_id>/download")
def download(report_id: int):
    """The PDF as an attachment (409 while it is not built)."""
    report = _report(report_id)
    if report.status != "succeeded":
        flash("That report is not ready to download yet.", "error")
        return redirect(url_for("reports.index")), 303
    response = Response(svc.report_pdf(report), mimetype="application/pdf")
    response.headers["Content-Disposition"] = (
        f'attachment; filename="{svc.report_filename(report)}"'
    )
    return response


# ---------------------------------------------------------------- templates


def _template_form(template: ReportTemplate | None) -> TemplateForm:
    if template is None:
        form = TemplateForm(data={"sections": list(svc.OPTIONAL_SECTIONS)})
    else:
        form = TemplateForm(
            data={
                "name": template.name,
                "firm_name": template.firm_name,
                "sections": list(template.sections or []),
            }
        )
    form.sections.choices = [SelectChoice(k, svc.SECTION_TITLES[k]) for k in svc.OPTIONAL_SECTIONS]
    return form


def _template_data(form: TemplateForm) -> dict:
    """The submitted fields as the service takes them (the logo as bytes, when a file came)."""
    upload = form.logo.data
    logo = upload.read() if upload is not None and getattr(upload, "filename", "") else None
    return {
        "name": form.name.data,
        "firm_name": form.firm_name.data,
        "sections": request.form.getlist("sections"),
        "logo": logo,
        "remove_logo": form.remove_logo.data,
    }


@bp.route("/templates/new", methods=["GET", "POST"])
def create_template():
    """A new template: its name, firm name, logo and sections."""
    form = _template_form(None)
    page = _page(form, "reports/template_form.html", template=None)
    if not form.validate_on_submit():
        return page()
    template = svc.create_template(current_user.id, _template_data(form))
    flash(f"Saved the report template '{template.name}'.", "success")
    return redirect(url_for("reports.index"))


@bp.route("/templates/<int:template_id>/edit", methods=["GET", "POST"])
def edit_template(template_id: int):
    """Change the template (its logo stays unless a new one is sent or removed)."""
    template = _template(template_id)
    form = _template_form(template)
    page = _page(form, "reports/template_form.html", template=template)
    if not form.validate_on_submit():
        return page()
    svc.update_template(template, _template_data(form))
    flash("Template saved.", "success")
    return redirect(url_for("reports.index"))


@bp.route("/templates/<int:template_id>/delete", methods=["GET", "POST"])
def delete_template(template_id: int):
    """GET asks for confirmation; POST deletes the template (its reports stay)."""
    template = _template(template_id)
    form = ConfirmForm()
    if form.validate_on_submit():
        name = template.name
        svc.delete_template(template)
        flash(f"Deleted the template '{name}'; the reports made with it stay.", "success")
        return redirect(url_for("reports.index"))
    return render_template("reports/confirm_delete.html", form=form, what=template.name)


# ---------------------------------------------------------------- schedules


@bp.post("/schedules")
def create_schedule():
    """A monthly report of one of the advisor's accounts (re-rendered with 422 if refused)."""
    form = _schedule_form()
    reports, total = svc.user_reports(current_user.id, limit=LIST_LIMIT)
    page = _index_page(form, reports=reports, total=total)
    if not form.validate_on_submit():
        return page()
    book = owned(_int(form.portfolio_id.data))
    schedule = svc.create_schedule(current_user.id, book, form.data)
    flash(
        f"A report of {book.name} will be made on day {schedule.day_of_month} of every month, "
        f"first on {schedule.next_run_date.isoformat()}.",
        "success",
    )
    return redirect(url_for("reports.index"))


def _int(value) -> int:
    """A form's id (0, which no record has, when it is not one)."""
    text = str(value or "").strip()
    return int(text) if text.isdigit() and len(text) < 12 else 0


@bp.post("/schedules/<int:schedule_id>/delete")
def delete_schedule(schedule_id: int):
    """Stop the schedule (the reports it made stay)."""
    schedule = svc.owned_schedule(schedule_id, current_user.id)
    svc.delete_schedule(schedule)
    flash("Schedule deleted.", "success")
    return redirect(url_for("reports.index"))
