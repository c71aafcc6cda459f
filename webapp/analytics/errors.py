"""Domain errors. Each carries a machine-readable ``reason`` that pages and the API show."""

from __future__ import annotations


class AnalyticsError(Exception):
    """Base class: an engine could not produce a result, and says why."""

    reason = "analytics_error"

    def __init__(self, message: str, **details: object) -> None:
        super().__init__(message)
        self.message = message
        self.details = details

    def to_dict(self) -> dict:
        """The missing-result shape: ``{"available": False, "reason", "message", "details"}``."""
        return {
            "available": False,
            "reason": self.reason,
            "message": self.message,
            "details": self.details,
        }


class NoPositions(AnalyticsError):
    """No positions to work on: none open, none valued, or every exposure zero."""

    reason = "no_positions"


class NoPrices(AnalyticsError):
    """Prices or returns the engine needs are missing (e.g. a factor ETF, or the whole window)."""

    reason = "no_prices"


class InsufficientHistory(AnalyticsError):
    """Too few observations for the statistic (vol, regression window, covariance)."""

    reason = "insufficient_history"


class InsufficientOverlap(AnalyticsError):
    """Too few dates on which two series both have returns (benchmark stats, correlation pairs)."""

    reason = "insufficient_overlap"


class InsufficientSymbols(AnalyticsError):
    """Fewer than two symbols: no pairwise statistic (correlations, diversification score)."""

    reason = "insufficient_symbols"


class NonPositiveEquity(AnalyticsError):
    """Equity ≤ 0: returns and betas relative to equity are undefined."""

    reason = "non_positive_equity"


class IRRUndefined(AnalyticsError):
    """No money-weighted return: the flows have no root (e.g. all one sign) or it is unbounded."""

    reason = "irr_undefined"
