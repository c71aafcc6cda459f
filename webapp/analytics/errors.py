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
    reason = "no_positions"


class NoPrices(AnalyticsError):
    reason = "no_prices"


class InsufficientHistory(AnalyticsError):
    reason = "insufficient_history"


class InsufficientOverlap(AnalyticsError):
    reason = "insufficient_overlap"


class InsufficientSymbols(AnalyticsError):
    """Fewer than two symbols: no pairwise statistic (correlations, diversification score)."""

    reason = "insufficient_symbols"


class NonPositiveEquity(AnalyticsError):
    """Equity ≤ 0: returns and betas relative to equity are undefined."""

    reason = "non_positive_equity"
