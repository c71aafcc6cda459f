"""Upload → preview (nothing stored) → confirm (all accepted rows in one transaction)."""

from __future__ import annotations

from flask import Response, flash, redirect, render_template, request, url_for
from flask_login import current_user

from webapp.imports import TEMPLATE_CSV
from webapp.imports.layouts.canonical import FIELDS, REQUIRED
from webapp.imports.report import file_error_title, format_name
from webapp.onboarding import bp
from webapp.onboarding.forms import ConfirmImportForm, UploadForm
from webapp.services import imports as svc
from webapp.services import management as mgmt
from webapp.services.queueing import QueueUnavailable, enqueue_after_import


@bp.context_processor
def _wording() -> dict:
    """The import pages name layouts and refusals in words; the codes stay in data- attributes."""
    return {"format_name": format_name, "file_error_title": file_error_title}


@bp.errorhandler(mgmt.ValidationError)
def _invalid(exc: mgmt.ValidationError):
    """The import was refused as a whole (the portfolio's fields): nothing stored, say why."""
    flash("Nothing was imported: " + " ".join(exc.errors.values()), "error")
    return redirect(url_for("imports.upload"))


@bp.errorhandler(svc.ImportRefused)
def _refused(exc: svc.ImportRefused):
    """The import was refused as a whole (the file's rows): nothing stored, say why."""
    flash(f"Nothing was imported: {exc}", "error")
    return redirect(url_for("imports.upload"))


@bp.get("/template.csv")
def template():
    """The canonical holdings template as a CSV download."""
    return Response(
        TEMPLATE_CSV,
        mimetype="text/csv",
        headers={"Content-Disposition": "attachment; filename=sigmasight_holdings_template.csv"},
    )


def _upload_page(form: UploadForm, status: int = 200, report=None):
    # The column table is rendered from the parser's own alias list, so the docs cannot drift.
    return render_template(
        "imports/upload.html", form=form, report=report, fields=FIELDS, required=REQUIRED
    ), status


def _portfolio_fields(form) -> dict:
    return {
        "name": form.name.data or "",
        "description": form.description.data or "",
        "cash": form.cash.data or "",
    }


@bp.route("/new", methods=["GET", "POST"])
def upload():
    """The upload form; a valid POST answers with the preview of what would be imported."""
    form = UploadForm()
    if not form.validate_on_submit():
        return _upload_page(form)
    fields = _portfolio_fields(form)
    errors = mgmt.portfolio_errors(fields, current_user.id)
    upload = request.files.get("file")
    if upload is None or not upload.filename:
        errors["file"] = "Choose a CSV file to upload."
    if errors:
        for field, message in errors.items():
            form[field].errors = [message]
        return _upload_page(form, 422)
    data = upload.read()
    report = svc.validate_upload(data, upload.filename)
    if report.file_error:
        return _upload_page(form, 422, report)
    token = svc.stash_upload(current_user.id, upload.filename, data)
    # formdata=None: the hidden fields take these values, not the upload form's POST body.
    confirm = ConfirmImportForm(formdata=None, token=token, **fields)
    return render_template(
        "imports/preview.html",
        report=report,
        confirm=confirm,
        filename=upload.filename,
        portfolio_fields=fields,
    )


@bp.post("/confirm")
def confirm():
    """Import the stashed file's accepted rows into a new portfolio.

    Then queue the price refresh and the batch.
    """
    form = ConfirmImportForm()  # its CSRF token was checked app-wide before this view ran
    pending = svc.load_upload(form.token.data, current_user.id)
    if pending is None:
        flash(
            "This upload has expired (uploads wait one hour) or is not yours; nothing was "
            "imported. Please upload the file again.",
            "error",
        )
        return redirect(url_for("imports.upload"))
    report = svc.validate_upload(pending.data, pending.filename)
    fields = {"name": form.name.data, "description": form.description.data, "cash": form.cash.data}
    portfolio = svc.commit_import(current_user.id, fields, report)
    svc.drop_upload(pending.token)
    rejected = f"; {len(report.rejected)} rejected rows were left out" if report.rejected else ""
    try:
        enqueue_after_import(portfolio.id)
    except QueueUnavailable:
        # The import is stored; only the follow-up work could not be queued.
        flash("The job queue is unavailable: press Recalculate once it is back.", "error")
        queued = ""
    else:
        queued = " Prices and analytics are being calculated."
    flash(
        f"Imported {len(report.accepted)} positions into '{portfolio.name}'{rejected}.{queued}",
        "success",
    )
    return redirect(url_for("portfolios.detail", portfolio_id=portfolio.id))
