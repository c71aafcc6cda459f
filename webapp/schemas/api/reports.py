"""/export/reports: PDF client reports, templates and schedules."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field

from webapp.models.reports import MAX_DAY_OF_MONTH
from webapp.schemas.api.base import ApiModel, Id, IsoDate, Timestamp
from webapp.services import reports as svc


class Report(ApiModel):
    """A client PDF report: its status, progress (0-100), the section being built and, once built,
    its page count."""

    report_id: int
    portfolio_id: int
    portfolio_name: str
    template_id: int | None = None
    session_id: int | None = None
    status: Literal["queued", "running", "succeeded", "failed"]
    progress: int
    step: str | None = None
    error: str | None = None
    page_count: int | None = None
    as_of: IsoDate | None = None
    created_at: Timestamp
    finished_at: Timestamp | None = None


class ReportsGenerateBody(ApiModel):
    """The portfolio to report on, an optional template and a session (its proposal is added)."""

    portfolio_id: Id
    template_id: Id | None = None
    session_id: Id | None = None


class ReportsListResponse(ApiModel):
    """A page of the caller's reports, newest first."""

    reports: list[Report]
    total: int
    limit: int
    offset: int


class ReportTemplate(ApiModel):
    """A report template: its name, firm name, chosen sections and whether it has a logo."""

    template_id: int
    name: str
    firm_name: str
    sections: list[str]
    has_logo: bool
    created_at: Timestamp


class ReportsListTemplatesResponseSection(ApiModel):
    """A section a template may choose: its key and title."""

    key: str
    title: str


class ReportsListTemplatesResponse(ApiModel):
    """The caller's report templates and the sections a template may choose."""

    templates: list[ReportTemplate]
    total: int
    sections: list[ReportsListTemplatesResponseSection]


class ReportsCreateTemplateBody(ApiModel):
    """A template to create: name, firm name, sections and a PNG logo in base64 (<= 500 KB)."""

    name: Annotated[str, Field(max_length=svc.MAX_NAME)]
    firm_name: Annotated[str, Field(max_length=svc.MAX_FIRM)] | None = None
    sections: list[Literal[svc.OPTIONAL_SECTIONS]] = None
    logo_base64: str | None = None


class ReportSchedule(ApiModel):
    """A monthly report schedule: the portfolio, day of the month, next run date and last report."""

    schedule_id: int
    portfolio_id: int
    portfolio_name: str
    template_id: int | None = None
    frequency: str
    day_of_month: int
    next_run_date: IsoDate
    enabled: bool
    last_report_id: int | None = None
    created_at: Timestamp


class ReportsListSchedulesResponse(ApiModel):
    """The caller's report schedules, next due first."""

    schedules: list[ReportSchedule]
    total: int


class ReportsCreateScheduleBody(ApiModel):
    """A schedule to create: the portfolio, the day of the month (1-28) and an optional template."""

    portfolio_id: Id
    day_of_month: Annotated[int, Field(ge=1, le=MAX_DAY_OF_MONTH)]
    template_id: Id | None = None
    frequency: Literal["monthly"] = None
