"""Client reports: PDF generation by the worker, templates, schedules and downloads."""

from webapp.pages import advisor_blueprint, form_errors

bp = advisor_blueprint("reports", __name__, "/reports")
form_errors(bp)

from webapp.reports import routes  # noqa: E402,F401
