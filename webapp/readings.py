"""Jinja helpers for the plain-language readings beside the analytics pages' formulas.

The pages never show a reason code or a parameter name: ``reason_words`` turns the codes the
services return (``insufficient_history``, ``stale_price``, …) into words, and ``about_money``
rounds a dollar amount the way a sentence says it ("about $93,000").
"""

from __future__ import annotations

import math
import re

from flask import Flask
from jinja2 import Undefined

#: Reason codes of results, left-out holdings and unavailable figures, in words.
REASONS = {
    "no_results": "not calculated yet",
    "no_positions": "no open positions with current prices",
    "no_prices": "no prices in the window",
    "no_prices_in_episode": "no price over the episode",
    "stale_price": "its last price is too old",
    "stale_prices": "their last prices are too old",
    "unknown_symbol": "the symbol is not in the price dataset",
    "unknown_symbols": "the symbols are not in the price dataset",
    "missing_prices": "prices are missing",
    "missing_symbols": "symbols are missing",
    "no_underlying_price": "no price for the underlying",
    "no_option_inputs": "the option's strike, expiry or volatility is missing",
    "no_market_value": "no market value",
    "no_greeks": "no option sensitivities",
    "no_scenario_vol": "no volatility for the scenario",
    "no_factor_betas": "no factor betas (too little history for the factor model)",
    "unknown_position_type": "an unknown position type",
    "insufficient_history": "not enough price history",
    "insufficient_overlap": "too few days with prices for every holding",
    "insufficient_symbols": "fewer than two holdings with enough history",
    "non_positive_equity": "the book's equity is not positive",
    "irr_undefined": "the money-weighted return is not defined for these flows",
    "no_benchmark_data": "no benchmark prices",
    "calculation_failed": "the calculation failed",
    "analytics_error": "the calculation could not be done",
}

_CODE = re.compile(r"^[a-z][a-z0-9]*(_[a-z0-9]+)+$")


def reason_words(code) -> str:
    """A reason code in words; unknown codes with their underscores as spaces (never raw)."""
    if code is None or isinstance(code, Undefined):
        return ""
    text = str(code)
    if text in REASONS:
        return REASONS[text]
    if _CODE.match(text):
        return text.replace("_", " ")
    return code  # a sentence already (Markup stays Markup)


def about_money(value, figures: int | None = None) -> str:
    """A dollar amount rounded as a sentence says it: 93,484 -> "$93,000", 119,032 -> "$119,000".

    ``figures`` significant figures; by default 2 below $100,000 and 3 from there, so two
    amounts a table tells apart are not read out as the same.
    """
    if value is None or isinstance(value, Undefined):
        return "—"
    value = float(value)
    if math.isnan(value):
        return "—"
    if value == 0:
        return "$0"
    magnitude = int(math.floor(math.log10(abs(value))))
    if figures is None:
        figures = 2 if magnitude < 5 else 3
    digits = figures - 1 - magnitude
    rounded = round(value, min(digits, 0))
    sign = "-" if rounded < 0 else ""
    return f"{sign}${abs(rounded):,.0f}"


def register(app: Flask) -> None:
    """Install the reading filters."""
    app.jinja_env.filters.update(reason_words=reason_words, about_money=about_money)


__all__ = ["REASONS", "about_money", "reason_words", "register"]
