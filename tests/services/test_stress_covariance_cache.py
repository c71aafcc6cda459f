"""The scenario factor covariance is computed once per market-data version, not per book."""

from __future__ import annotations

import datetime as dt

import numpy as np

from webapp.services import queries, stress_tests, valuation


def test_one_covariance_per_price_version_and_a_new_one_after_a_new_close(app, new_bar):
    as_of = queries.latest_price_date()
    valuation._CACHE.clear()
    first = stress_tests.factor_covariance(as_of)
    assert stress_tests.factor_covariance(as_of) is first  # the second book reuses it
    # Equal to a fresh computation from the stored closes.
    fresh = stress_tests._factor_covariance(as_of, 0.25)
    np.testing.assert_allclose(first.matrix.to_numpy(), fresh.matrix.to_numpy(), rtol=0, atol=0)
    new_bar("SPY", as_of + dt.timedelta(days=1), 1.0)
    later = stress_tests.factor_covariance(as_of + dt.timedelta(days=1))
    assert later is not first
    before = app.config.get("STRESS_COVARIANCE_BLEND")
    app.config["STRESS_COVARIANCE_BLEND"] = 0.5
    try:
        blended = stress_tests.factor_covariance(as_of)
        assert blended is not first and blended.to_dict()["blend"] == 0.5
    finally:
        if before is None:
            app.config.pop("STRESS_COVARIANCE_BLEND")
        else:
            app.config["STRESS_COVARIANCE_BLEND"] = before
        valuation._CACHE.clear()
