"""SQLAlchemy models, one module per domain; imported here so Alembic sees every table."""

from webapp.models.alerts import Alert, AlertEvent, AlertRule
from webapp.models.clients import Client, Household, HouseholdAccount, RiskProfile
from webapp.models.jobs import BatchRun
from webapp.models.ledger import Transaction
from webapp.models.market import FactorDefinition, PriceBar, RiskFreeRate, Security
from webapp.models.modelling import ModellingSession, ProposedTrade
from webapp.models.portfolios import Portfolio, Position, Tag, position_tags
from webapp.models.reports import Report, ReportSchedule, ReportTemplate
from webapp.models.results import AnalyticsResult, PortfolioSnapshot
from webapp.models.users import ApiToken, User, UserSession

__all__ = [
    "Alert",
    "AlertEvent",
    "AlertRule",
    "Client",
    "Household",
    "HouseholdAccount",
    "RiskProfile",
    "ApiToken",
    "AnalyticsResult",
    "BatchRun",
    "FactorDefinition",
    "ModellingSession",
    "Portfolio",
    "PortfolioSnapshot",
    "Position",
    "PriceBar",
    "ProposedTrade",
    "Report",
    "ReportSchedule",
    "ReportTemplate",
    "RiskFreeRate",
    "Security",
    "Tag",
    "Transaction",
    "User",
    "UserSession",
    "position_tags",
]
