"""/management/alerts and alert rules."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field

from webapp.analytics.alert_rules import RULE_KINDS
from webapp.schemas.api.base import ApiModel, Id, IsoDate, Timestamp
from webapp.services import alerts as svc


class Alert(ApiModel):
    """An alert a rule raised on a book: the figure and the threshold in the rule's unit, its status
    and when it was raised, last seen and cleared."""

    id: int
    portfolio_id: int
    portfolio_name: str
    rule_id: int
    rule_summary: str
    kind: str
    label: str
    unit: str | None = None
    key: str
    subject: str | None = None
    status: Literal["new", "seen", "acknowledged", "cleared"]
    acknowledged: bool
    value: float | None = None
    threshold: float | None = None
    comparison: str
    message: str
    as_of: IsoDate | None = None
    batch_run_id: int | None = None
    raised_at: Timestamp
    last_seen_at: Timestamp
    cleared_at: Timestamp | None = None


class AlertList(ApiModel):
    """A page of alerts; value and threshold are in the rule's unit (percentage points for '% of
    equity', 2.1 = 2.1%)."""

    alerts: list[Alert]
    total: int
    limit: int
    offset: int
    status: str


class AlertEvent(ApiModel):
    """One step of an alert's audit trail: status set, note, who (null = automatic) and when."""

    id: int
    status: str
    note: str
    user_id: int | None = None
    user_email: str | None = None
    at: Timestamp


class AlertWithEvents(Alert):
    """An alert with its audit trail, oldest event first."""

    events: list[AlertEvent]


class AcknowledgeAlertBody(ApiModel):
    """An acknowledgement: the note recorded on the alert's trail."""

    note: Annotated[str, Field(max_length=svc.MAX_NOTE)]


class AlertRule(ApiModel):
    """A book's alert rule: its kind, threshold in the kind's unit, comparison and last check."""

    id: int
    portfolio_id: int
    kind: str
    label: str
    unit: str | None = None
    threshold: float | None = None
    param: str | None = None
    comparison: str
    enabled: bool
    summary: str
    created_at: Timestamp
    last_checked_at: Timestamp | None = None
    last_unavailable: str | None = None
    state: str
    open_alerts: int


class AlertRuleList(ApiModel):
    """The caller's alert rules and how many there are."""

    rules: list[AlertRule]
    total: int


class CreateAlertRuleBody(ApiModel):
    """A rule to add to a book: its kind, threshold in the kind's unit (none: the client's loss
    limit), parameter (factor, scenario id or 'any') and comparison."""

    portfolio_id: Id
    kind: Literal[RULE_KINDS]  # type: ignore[valid-type]
    threshold: float | str | None = None
    param: str | None = None
    comparison: Literal["above", "below"] | None = None


class UpdateAlertRuleBody(ApiModel):
    """Whether the rule is enabled."""

    enabled: bool
