"""Model validation: the stress models scored out of sample on the stored price history.

One call feeds the page and the JSON. The harness (``analytics.validation``) is deterministic
in the prices, so its result is kept per price version: bars are insert-only, and a new bar is
the only thing that can change it.
"""

from __future__ import annotations

import threading

from cachetools import LRUCache
from sqlalchemy import select

from webapp.analytics.errors import AnalyticsError
from webapp.analytics.validation import (
    BASELINE_MODEL,
    MARKET_ONLY_MODELS,
    SHIPPED_ALL_FACTORS,
    SHIPPED_MODEL,
    validate_models,
)
from webapp.extensions import db
from webapp.models import PriceBar
from webapp.services import queries

#: Plain names of the models, for the page and the JSON.
MODEL_LABELS = {
    "raw_capm": "Raw CAPM beta (baseline)",
    "blume": "Blume-adjusted CAPM beta",
    "blume_fitted": "Blume with coefficients fitted on prior history",
    "vasicek": "Vasicek-shrunk CAPM beta",
    "multi_factor": "Multi-factor betas, every factor's actual move",
    "multi_factor_vasicek": "Vasicek-shrunk multi-factor betas, every factor's actual move",
    "conditional_vasicek": "Vasicek multi-factor, other factors implied (calm covariance)",
    SHIPPED_MODEL: "Shipped stress model, market move only",
    SHIPPED_ALL_FACTORS: "Shipped stress model, every factor's actual move",
}

_CACHE: LRUCache = LRUCache(maxsize=2)
_LOCK = threading.Lock()


def _prices():
    symbols = db.session.scalars(select(PriceBar.symbol).distinct()).all()
    return queries.load_prices(symbols)


def model_validation() -> dict:
    """The validation of every model on every historical episode, or why there is none.

    Returns ``{available: True, as_of, price_version, labels, shipped, ...to_dict()}`` where
    ``shipped`` summarises the shipped model's gains over raw CAPM; or ``{available: False,
    reason, message}`` when the stored history cannot support a fit before any episode.
    """
    version = queries.price_version()
    with _LOCK:
        cached = _CACHE.get(version)
    if cached is not None:
        return cached
    try:
        result = validate_models(_prices())
    except AnalyticsError as exc:
        return {"available": False, "reason": exc.reason, "message": exc.message}
    payload = {
        "available": True,
        "as_of": queries.latest_price_date(),
        "price_version": version,
        "labels": {m: MODEL_LABELS.get(m, m) for m in result.models},
        "market_only_models": list(MARKET_ONLY_MODELS),
        "shipped": {
            "market_only": SHIPPED_MODEL,
            "all_factors": SHIPPED_ALL_FACTORS,
            "improvement_market_only": result.improvement(SHIPPED_MODEL),
            "improvement_all_factors": result.improvement(SHIPPED_ALL_FACTORS),
            "baseline": BASELINE_MODEL,
        },
        **result.to_dict(),
    }
    with _LOCK:
        _CACHE[version] = payload
    return payload
