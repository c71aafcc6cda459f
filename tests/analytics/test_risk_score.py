"""Risk score: anchors, monotonicity, clamps, the inverse, gap sentences, and the score of a
simulated forward range."""

from __future__ import annotations

import json
import math

import numpy as np
import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st

from webapp.analytics.forward_range import simulate
from webapp.analytics.risk_score import (
    DOWNSIDE_ANCHORS,
    GAP_TOLERANCE,
    MAPPING_TEXT,
    from_forward_range,
    gap_words,
    loss_for_score,
    score_for_loss,
)

EXPECTED_ANCHORS = [(0, 1), (2, 10), (5, 20), (10, 38), (15, 52), (20, 64), (30, 80), (45, 95)]
EXPECTED_ANCHORS += [(60, 99)]

losses = st.floats(min_value=-50, max_value=200, allow_nan=False)


def test_anchors_are_hit_exactly():
    assert [(int(d), s) for d, s in DOWNSIDE_ANCHORS] == EXPECTED_ANCHORS
    for d, s in EXPECTED_ANCHORS:
        assert score_for_loss(d) == s
        assert loss_for_score(s) == pytest.approx(d, abs=1e-12)
        assert f"{d}% -> {s}" in MAPPING_TEXT


def test_interpolates_linearly_between_anchors():
    assert score_for_loss(7.5) == 29  # halfway between 5 -> 20 and 10 -> 38
    assert score_for_loss(1.0) == 6  # 5.5 rounds half up
    assert score_for_loss(25.0) == 72
    assert loss_for_score(29) == pytest.approx(7.5)
    assert loss_for_score(87.5) == pytest.approx(37.5)


def test_monotone_on_a_fine_grid_and_clamped():
    grid = np.linspace(-10, 120, 130_001)
    scores = np.array([score_for_loss(x) for x in grid])
    assert np.all(np.diff(scores) >= 0)
    assert scores.min() == 1 and scores.max() == 99
    assert set(range(1, 100)) <= set(scores.tolist())  # every score is reached
    assert score_for_loss(-5) == 1 and score_for_loss(1e9) == 99 and score_for_loss(60.0) == 99
    assert loss_for_score(0) == 0 and loss_for_score(-3) == 0
    assert loss_for_score(100) == 60 and loss_for_score(1e6) == 60
    with pytest.raises(ValueError):
        score_for_loss(float("nan"))
    with pytest.raises(ValueError):
        loss_for_score(float("nan"))


@given(losses, losses)
def test_monotone_property(a, b):
    lo, hi = min(a, b), max(a, b)
    assert 1 <= score_for_loss(lo) <= score_for_loss(hi) <= 99


def test_score_to_loss_to_score_is_identity_for_every_integer():
    for s in range(1, 100):
        assert score_for_loss(loss_for_score(s)) == s
    values = [loss_for_score(s) for s in range(1, 100)]
    assert values == sorted(values)


@given(st.floats(min_value=0, max_value=60, allow_nan=False))
def test_loss_to_score_to_loss_within_rounding(d):
    s = score_for_loss(d)
    back = loss_for_score(s)
    assert score_for_loss(back) == s
    # Half a score point, converted to loss with the steeper of the two neighbouring slopes.
    slopes = np.diff([a[0] for a in DOWNSIDE_ANCHORS]) / np.diff([a[1] for a in DOWNSIDE_ANCHORS])
    assert abs(back - d) <= 0.5 * slopes.max() + 1e-9
    local = max(loss_for_score(s + 0.5) - back, back - loss_for_score(s - 0.5))
    assert abs(back - d) <= local + 1e-9


def test_gap_verdicts_and_words():
    riskier = gap_words(72, 55, "Maria")
    assert riskier.verdict == "riskier" and riskier.difference == 17
    assert (
        riskier.words == "This account is riskier than Maria's stated tolerance (score 72 vs 55)."
    )
    cons = gap_words(30, 55, "Maria")
    assert cons.verdict == "more_conservative" and cons.difference == -25
    assert cons.words == (
        "This account is more conservative than Maria's stated tolerance (score 30 vs 55)."
    )
    inline = gap_words(57, 55, "Maria")
    assert inline.verdict == "in_line"
    assert inline.words == "This account is in line with Maria's stated tolerance (score 57 vs 55)."
    none = gap_words(57, None, "Maria")
    assert none.verdict == "no_tolerance" and none.difference is None
    assert none.words.startswith("No risk questionnaire on file for Maria")
    assert "57" in none.words
    anonymous = gap_words(80, 40, None)
    assert "the client's stated tolerance" in anonymous.words
    assert gap_words(80, None).words.startswith("No risk questionnaire on file for this client")
    assert json.loads(json.dumps(riskier.to_dict()))["verdict"] == "riskier"


def test_gap_boundary_is_inclusive():
    assert gap_words(55 + GAP_TOLERANCE, 55).verdict == "in_line"
    assert gap_words(55 - GAP_TOLERANCE, 55).verdict == "in_line"
    assert gap_words(56 + GAP_TOLERANCE, 55).verdict == "riskier"
    assert gap_words(54 - GAP_TOLERANCE, 55).verdict == "more_conservative"


def test_gap_rejects_scores_off_the_scale():
    for bad in (0, 100, 50.5, True):
        with pytest.raises(ValueError):
            gap_words(bad, 50)
        with pytest.raises(ValueError):
            gap_words(50, bad)


def _one_stock_book(exposure):
    return pd.DataFrame(
        [
            {
                "position_id": 1,
                "symbol": "AAA",
                "underlying": "AAA",
                "position_type": "LONG",
                "quantity": exposure / 100.0,
                "multiplier": 1.0,
                "price": 100.0,
                "underlying_price": 100.0,
                "market_value": exposure,
                "exposure": exposure,
                "delta": 1.0,
                "gamma": 0.0,
                "status": "ok",
            }
        ]
    ).set_index("position_id")


@pytest.mark.parametrize("sigma", [0.005, 0.015, 0.03])
def test_from_forward_range_scores_the_six_month_p5(sigma):
    rng = np.random.default_rng(1)
    returns = pd.DataFrame(
        {"AAA": np.expm1(rng.normal(0.0, sigma, 500))},
        index=pd.bdate_range("2020-01-01", periods=500),
    )
    fr = simulate(_one_stock_book(100_000.0), returns, 100_000.0, paths=500, seed=3)
    rs = from_forward_range(fr)
    p5 = fr.band(126).pct[5]
    assert rs.downside_pct == pytest.approx(max(-p5, 0.0))
    assert rs.upside_pct == fr.band(126).pct[95]
    assert rs.score == score_for_loss(-p5)
    assert rs.horizon_days == 126 and rs.simulation == "bootstrap"
    # sqrt(126) sigma: 5.6%, 16.8%, 33.7% half-year vol; a 1-in-20 loss grows with it.
    d = rs.to_dict()
    assert d["method"] == MAPPING_TEXT and json.dumps(d)
    assert 1 <= rs.score <= 99 and math.isfinite(rs.downside_pct)


def test_riskier_book_scores_higher_and_needs_the_six_month_band():
    rng = np.random.default_rng(2)
    returns = pd.DataFrame(
        {"AAA": np.expm1(rng.normal(0.0, 0.02, 500))},
        index=pd.bdate_range("2020-01-01", periods=500),
    )
    small = from_forward_range(simulate(_one_stock_book(20_000.0), returns, 100_000.0, paths=500))
    big = from_forward_range(simulate(_one_stock_book(100_000.0), returns, 100_000.0, paths=500))
    assert big.downside_pct > small.downside_pct > 0
    assert big.score > small.score
    year_only = simulate(_one_stock_book(1.0), returns, 100_000.0, horizons=(252,), paths=100)
    with pytest.raises(ValueError):
        from_forward_range(year_only)
