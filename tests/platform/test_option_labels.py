"""Quantities exactly as stored and options in words (the Jinja filters and their module)."""

import datetime as dt
import math

import pytest

from webapp.formatting import quantity
from webapp.services.option_labels import (
    days_left_words,
    option_name,
    position_name,
    type_words,
    vif_flag,
    vol_source_words,
)


@pytest.mark.parametrize(
    ("value", "shown"),
    [
        (1250.5, "1,250.5"),
        (1250.0, "1,250"),
        (-1250.0, "-1,250"),
        (0.125, "0.125"),
        (1234567.125, "1,234,567.125"),
        (0.1 + 0.2, "0.3"),  # float noise past 8 decimals is not precision
        (1e-7, "0.0000001"),
        (-0.0, "0"),
        (None, "—"),
        (math.nan, "—"),
    ],
)
def test_quantities_keep_their_decimals_without_trailing_zeros(value, shown):
    assert quantity(value) == shown


def test_option_names_in_words():
    assert option_name("AAPL", dt.date(2026, 10, 16), 320.0, "LC") == "AAPL Oct 16 '26 320 Call"
    assert option_name("SPY", "2027-01-15", 322.5, "SP") == "SPY Jan 15 '27 322.5 Put"
    # A row with only its OSI symbol (the stress rows carry no expiry) reads the same.
    row = {"symbol": "AAPL261016C00320000", "position_type": "SC", "underlying": "AAPL"}
    assert position_name({**row, "strike": 320.0}) == "AAPL Oct 16 '26 320 Call"
    assert position_name(row) == "AAPL Oct 16 '26 320 Call"
    assert position_name({"symbol": "MSFT", "position_type": "LONG"}) == "MSFT"
    # An option symbol that cannot be read stays as it is rather than being guessed.
    assert position_name({"symbol": "WEIRD", "position_type": "LP"}) == "WEIRD"


def test_types_sources_and_days_in_words():
    assert [type_words(t) for t in ("LC", "LP", "SC", "SP", "LONG", "SHORT")] == [
        "Long call",
        "Long put",
        "Short call",
        "Short put",
        "Long",
        "Short",
    ]
    assert vol_source_words("realized_60d", "AAPL") == "realized 60-day volatility of AAPL"
    assert vol_source_words("implied") == "implied volatility entered with the position"
    assert "_" not in vol_source_words("some_new_code")
    assert days_left_words(74) == "74 days" and days_left_words(1) == "1 day"
    assert days_left_words(0) == days_left_words(-12) == "expired"


def test_vif_flags_above_5_and_10():
    assert vif_flag(14.4) == ("vif-collinear", "VIF 14 — collinear")
    assert vif_flag(math.inf) == ("vif-collinear", "VIF ∞ — collinear")
    assert vif_flag(6.23) == ("vif-elevated", "VIF 6.2 — elevated")
    assert vif_flag(10.0) == ("vif-elevated", "VIF 10 — elevated")
    assert vif_flag(4.9) is None and vif_flag(None) is None
