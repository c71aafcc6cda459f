"""Upload → preview (nothing stored) → confirm (all accepted rows in one transaction)."""
from __future__ import annotations

from flask import Response, flash, redirect, render_template, request, url_for
from flask_login import current_user, login_required

from webapp.imports import TEMPLATE_CSV
from webapp.onboarding import bp
from webapp.onboarding.forms import ConfirmImportForm, UploadForm
from webapp.queueing import enqueue_after_import
from webapp.services import imports as svc
from webapp.services import management as mgmt


@bp.before_request
@login_required
def require_login():
    """Uploads belong to a logged-in advisor."""


@bp.get("/template.csv")
def template():
    return Response(
        TEMPLATE_CSV,
        mimetype="text/csv",
        headers={"Content-Disposition": "attachment; filename=sigmasight_holdings_template.csv"},
    )


@bp.route("/new", methods=["GET", "POST"])
def upload():
    form = UploadForm()
    if not form.validate_on_submit():
        return render_template("imports/upload.html", form=form), (400 if request.method == "POST" else 200)
    portfolio_fields = {"name": form.name.data, "description": form.description.data, "cash": form.cash.data}
    try:
        mgmt.validate_portfolio(portfolio_fields, current_user.id)
    except mgmt.ValidationError as exc:
        for field, message in exc.errors.items():
            form[field].errors = [message]
        return render_template("imports/upload.html", form=form), 422
    upload = request.files.get("file")
    if upload is None or not upload.filename:
        form.file.errors = ["Choose a CSV file to upload."]
        return render_template("imports/upload.html", form=form), 422
    data = upload.read()
    report = svc.validate_upload(data, upload.filename)
    if report.file_error:
        return render_template("imports/upload.html", form=form, report=report), 422
    token = svc.stash_upload(current_user.id, upload.filename, data)
    confirm = ConfirmImportForm(token=token, **{k: "" if v is None else v for k, v in portfolio_fields.items()})
    return render_template("imports/preview.html", report=report, confirm=confirm,
                           filename=upload.filename, portfolio_fields=portfolio_fields)


@bp.post("/confirm")
def confirm():
    form = ConfirmImportForm()
    if not form.validate_on_submit():
        flash("The confirmation expired or was tampered with; upload the file again.", "error")
        return redirect(url_for("imports.upload"))
    pending = svc.load_upload(form.token.data, current_user.id)
    if pending is None:
        flash("This upload has expired (uploads wait one hour); please upload the file again.", "error")
        return redirect(url_for("imports.upload"))
    report = svc.validate_upload(pending.data, pending.filename)
    fields = {"name": form.name.data, "description": form.description.data, "cash": form.cash.data or None}
    try:
        portfolio = svc.commit_import(current_user.id, fields, report)
    except (mgmt.ValidationError, svc.ImportRefused) as exc:
        flash(f"Nothing was imported: {exc}", "error")
        return redirect(url_for("imports.upload"))
    svc.drop_upload(pending.token)
    enqueue_after_import(portfolio.id)
    flash(
        f"Imported {len(report.accepted)} positions into '{portfolio.name}'"
        + (f"; {len(report.rejected)} rejected rows were left out" if report.rejected else "")
        + ". Prices and analytics are being calculated.",
        "success",
    )
    return redirect(url_for("portfolios.detail", portfolio_id=portfolio.id))
