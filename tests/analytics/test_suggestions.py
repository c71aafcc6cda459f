"""Trade suggestions by closed form: hand-worked sizes, signs, rounding toward the target,
and the linear rule that predicts the figure after the trade."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from webapp.analytics import suggestions as sg


def test_beta_hedge_by_hand():
    # V = $1,000,000 at beta 1.25 to 0.80 with SPY at $500: (0.80 - 1.25) x 1e6 / 500 = -900.
    s = sg.hedge_beta(beta=1.25, target=0.80, equity=1_000_000, index_price=500.0)
    assert (s.kind, s.symbol, s.quantity) == ("short", "SPY", 900.0)
    assert s.expected == pytest.approx(0.80)
    assert "-900.00 SPY shares" in s.method


def test_beta_hedge_sells_a_long_index_position_before_shorting_and_buys_to_raise_beta():
    assert (
        sg.hedge_beta(beta=1.2, target=1.0, equity=1e6, index_price=500, index_held=300).kind
        == "sell"
    )
    up = sg.hedge_beta(beta=0.5, target=0.9, equity=1e6, index_price=500, index_held=-100)
    assert (up.kind, up.quantity) == ("cover", 800.0)


@given(
    beta=st.floats(-2, 3),
    target=st.floats(-1, 2),
    equity=st.floats(1e4, 1e8),
    price=st.floats(10, 2_000),
)
def test_whole_shares_land_within_one_share_of_the_target_beta(beta, target, equity, price):
    s = sg.hedge_beta(beta=beta, target=target, equity=equity, index_price=price)
    assert abs(s.expected - target) <= price / equity + 1e-12
    # Rounded toward the target: never past it.
    assert (s.expected - target) * (beta - target) >= -1e-12


def test_net_exposure_hedge_by_hand():
    # N = $1.3M on V = $1M to 50% net with SPY at $400: (0.5e6 - 1.3e6) / 400 = -2,000.
    s = sg.hedge_net_exposure(net_exposure=1.3e6, target=0.5, equity=1e6, index_price=400)
    assert (s.kind, s.quantity, s.expected) == ("short", 2_000.0, pytest.approx(0.5))


def test_trim_to_a_weight_by_hand_and_never_past_the_shares_held():
    # NVDA $300k of $1M to 10%: sell (300k - 100k) / 150 = 1,333.3 -> 1,334 shares.
    s = sg.trim_weight(symbol="NVDA", exposure=300_000, shares_held=2_000, target=0.10,
                       equity=1e6, price=150.0)  # fmt: skip
    assert (s.kind, s.quantity) == ("sell", 1_334.0)
    assert s.expected == pytest.approx((300_000 - 1_334 * 150) / 1e6)
    # Exposure held through options too: the trim stops at the shares actually held.
    capped = sg.trim_weight(symbol="NVDA", exposure=300_000, shares_held=500, target=0.0,
                            equity=1e6, price=150.0)  # fmt: skip
    assert capped.quantity == 500.0
    add = sg.trim_weight(symbol="JNJ", exposure=20_000, shares_held=100, target=0.05, equity=1e6,
                         price=150.0)  # fmt: skip
    assert (add.kind, add.quantity) == ("buy", 200.0)


def test_scenario_hedge_by_hand_and_none_when_within_the_target():
    # Loss -$250k on $1M to -10%: the hedge must earn $150k; a SPY short gains 0.3 x 500 = $150
    # a share in "market down 30%": 1,000 shares.
    s = sg.hedge_scenario(scenario="market_down_30", loss=-250_000, target=-0.10, equity=1e6,
                          hedge_pnl_per_unit=150.0, symbol="SPY", price=500.0)  # fmt: skip
    assert (s.kind, s.quantity, s.expected) == ("short", 1_000.0, pytest.approx(-0.10))
    within = sg.hedge_scenario(scenario="x", loss=-50_000, target=-0.10, equity=1e6,
                               hedge_pnl_per_unit=150.0, symbol="SPY", price=500.0)  # fmt: skip
    assert within is None
    with pytest.raises(ValueError, match="must gain"):
        sg.hedge_scenario(scenario="x", loss=-250_000, target=-0.10, equity=1e6,
                          hedge_pnl_per_unit=-5.0, symbol="SPY", price=500.0)  # fmt: skip


def test_rounding_up_meets_the_scenario_target():
    s = sg.hedge_scenario(scenario="x", loss=-123_456, target=-0.05, equity=1e6,
                          hedge_pnl_per_unit=777.0, symbol="SPY 250919P00500000", price=12.0,
                          kind="option_open", position_type="LP")  # fmt: skip
    assert s.quantity == 95.0  # ceil(73,456 / 777) = ceil(94.5)
    assert s.expected >= -0.05


@pytest.mark.parametrize("bad", [0.0, -1.0, float("nan"), float("inf")])
def test_non_positive_equity_or_price_is_refused(bad):
    with pytest.raises(ValueError, match="must be positive"):
        sg.hedge_beta(beta=1.0, target=0.5, equity=bad, index_price=500)
    with pytest.raises(ValueError, match="must be positive"):
        sg.trim_weight(symbol="A", exposure=1.0, shares_held=1, target=0.1, equity=1e6, price=bad)


def test_trade_fields_are_what_a_session_books():
    s = sg.hedge_beta(beta=1.25, target=0.80, equity=1e6, index_price=500.0)
    assert s.trade_fields() == {"kind": "short", "symbol": "SPY", "quantity": 900.0, "price": 500.0}


def _sample(n=500, beta=1.3, seed=3):
    rng = np.random.default_rng(seed)
    index = rng.normal(0.0004, 0.012, n)
    return beta * index + rng.normal(0, 0.006, n), index


def test_var_hedge_meets_the_target_with_the_fewest_whole_shares():
    r, ri = _sample()
    equity, price = 1e6, 500.0
    now = sg.historical_var_es(r, 0.95)[0]
    s = sg.hedge_var(
        returns=r, index_returns=ri, target=0.8 * now, equity=equity, index_price=price
    )
    assert s.kind == "short"

    def var(n):
        return sg.historical_var_es(r - n * price / equity * ri, 0.95)[0]

    assert var(s.quantity) <= 0.8 * now + 1e-12
    assert var(s.quantity - 1) > 0.8 * now  # one share fewer misses it
    assert s.expected == pytest.approx(var(s.quantity))


def test_an_unattainable_var_target_gives_the_minimum_variance_hedge():
    r, ri = _sample()
    s = sg.hedge_var(returns=r, index_returns=ri, target=1e-6, equity=1e6, index_price=500.0)
    n_min = np.cov(r, ri)[0, 1] / np.var(ri, ddof=1) * 1e6 / 500.0
    assert s.quantity == pytest.approx(round(n_min), abs=1)
    assert "below the minimum-variance hedge" in s.method
    assert (
        sg.hedge_var(returns=r, index_returns=ri, target=1.0, equity=1e6, index_price=500) is None
    )
