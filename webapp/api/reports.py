"""/export/reports: client PDF reports (generate, status, download, list), report templates and
monthly report schedules (the reference backlog's §3.0.5 / §3.3 paths).

The same service as the pages (``services.reports``), so the JSON is the service's dicts.
Generating answers 202 with the queued report (the same one while it is queued or running);
downloading answers 409 until the PDF is built. Field problems answer 422
``{"error": {"code": "validation_error", "details": {"fields": {...}}}}``; another advisor's
report, template, schedule, session or portfolio is 404; a queue that is down is 503.
"""

from __future__ import annotations

from flask import Response, g, jsonify

from webapp.api import bp
from webapp.api.apidoc import documented
from webapp.api.common import body_portfolio, json_body, query_params, require_auth
from webapp.schemas.api.reports import (
    Report,
    ReportSchedule,
    ReportsCreateScheduleBody,
    ReportsCreateTemplateBody,
    ReportsGenerateBody,
    ReportsListResponse,
    ReportsListSchedulesResponse,
    ReportsListTemplatesResponse,
    ReportTemplate,
)
from webapp.schemas.params import Page
from webapp.services import reports as svc


class ReportListParams(Page):
    """GET /export/reports: the caller's reports, newest first, one page."""


@bp.post("/export/reports/generate")
@require_auth
@documented(
    "export_reports_generate",
    "Queue a client PDF report (the same report while one is queued or running)",
    Report,
    ok_text="Queued",
    status=202,
    body=ReportsGenerateBody,
    errors=(404, 503),
)
def generate_report():
    """Queue a report {portfolio_id, template_id?, session_id?} → 202 {report_id, status, …}."""
    data = json_body()
    portfolio = body_portfolio(data)
    report = svc.request_report(
        portfolio, g.user.id, template_id=data.get("template_id"), session_id=data.get("session_id")
    )
    return jsonify(svc.report_dict(report)), 202


@bp.get("/export/reports/<int:report_id>/status")
@require_auth
@documented(
    "export_reports_status",
    "A report's status, progress (0-100) and the section being built",
    Report,
    ok_text="The report",
)
def report_status(report_id: int):
    """Status, progress (0-100), the section being built, pages and error of one report."""
    report = svc.refresh_status(svc.owned_report(report_id, g.user.id))
    return jsonify(svc.report_dict(report))


@bp.get("/export/reports/<int:report_id>/download")
@require_auth
@documented(
    "export_reports_download",
    "The report's PDF (409 until it is built)",
    ok_text="The PDF",
    files=("application/pdf",),
    errors=(409,),
)
def download_report(report_id: int):
    """The PDF (attachment); 409 while it is queued, running or failed."""
    report = svc.refresh_status(svc.owned_report(report_id, g.user.id))
    response = Response(svc.report_pdf(report), mimetype="application/pdf")
    response.headers["Content-Disposition"] = (
        f'attachment; filename="{svc.report_filename(report)}"'
    )
    return response


@bp.get("/export/reports")
@require_auth
@documented(
    "export_reports_list",
    "The caller's reports, newest first",
    ReportsListResponse,
    ok_text="Reports",
    query=ReportListParams,
)
def list_reports():
    """The caller's reports, newest first: {reports, total, limit, offset}."""
    params = query_params(ReportListParams)
    rows, total = svc.user_reports(g.user.id, limit=params.limit, offset=params.offset)
    return jsonify(
        {
            "reports": [svc.report_dict(r) for r in rows],
            "total": total,
            "limit": params.limit,
            "offset": params.offset,
        }
    )


@bp.get("/export/reports/templates")
@require_auth
@documented(
    "export_reports_list_templates",
    "The caller's report templates and the sections a template may choose",
    ReportsListTemplatesResponse,
    ok_text="Templates",
)
def list_templates():
    """The caller's report templates and the section keys a template may choose."""
    templates = svc.user_templates(g.user.id)
    return jsonify(
        {
            "templates": [svc.template_dict(t) for t in templates],
            "total": len(templates),
            "sections": [{"key": k, "title": svc.SECTION_TITLES[k]} for k in svc.OPTIONAL_SECTIONS],
        }
    )


@bp.post("/export/reports/templates")
@require_auth
@documented(
    "export_reports_create_template",
    "Create a report template (sections, firm name, PNG logo as base64, <= 500 KB)",
    ReportTemplate,
    ok_text="The template",
    status=201,
    body=ReportsCreateTemplateBody,
)
def create_template():
    """A template {name, firm_name?, sections?, logo_base64?} → 201."""
    template = svc.create_template(g.user.id, json_body())
    return jsonify(svc.template_dict(template)), 201


@bp.delete("/export/reports/templates/<int:template_id>")
@require_auth
@documented(
    "export_reports_delete_template",
    "Delete a report template",
    ok_text="Deleted",
    status=204,
)
def delete_template(template_id: int):
    """Delete the template (reports and schedules made with it keep going) → 204."""
    svc.delete_template(svc.owned_template(template_id, g.user.id))
    return "", 204


@bp.get("/export/reports/schedule")
@require_auth
@documented(
    "export_reports_list_schedules",
    "The caller's monthly report schedules",
    ReportsListSchedulesResponse,
    ok_text="Schedules",
)
def list_schedules():
    """The caller's monthly report schedules, next due first."""
    schedules = svc.user_schedules(g.user.id)
    return jsonify(
        {"schedules": [svc.schedule_dict(s) for s in schedules], "total": len(schedules)}
    )


@bp.post("/export/reports/schedule")
@require_auth
@documented(
    "export_reports_create_schedule",
    "Schedule a monthly report of a portfolio on a day of the month",
    ReportSchedule,
    ok_text="The schedule",
    status=201,
    body=ReportsCreateScheduleBody,
    errors=(404,),
)
def create_schedule():
    """A monthly report {portfolio_id, day_of_month (1-28), template_id?, frequency?} → 201."""
    data = json_body()
    schedule = svc.create_schedule(g.user.id, body_portfolio(data), data)
    return jsonify(svc.schedule_dict(schedule)), 201


@bp.delete("/export/reports/schedule/<int:schedule_id>")
@require_auth
@documented(
    "export_reports_delete_schedule",
    "Stop a monthly report schedule",
    ok_text="Deleted",
    status=204,
)
def delete_schedule(schedule_id: int):
    """Stop the schedule (its reports stay) → 204."""
    svc.delete_schedule(svc.owned_schedule(schedule_id, g.user.id))
    return "", 204
