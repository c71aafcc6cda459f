"""Number formatting for people: $1,234,567, 12.3%, negatives marked, no '-0.00'."""

import math

from webapp.formatting import money, number, pct, signed_class


def test_money_pct_number():
    assert money(1234567.4) == "$1,234,567"
    assert money(-1234.56, 2) == "-$1,234.56"
    assert pct(0.1234) == "12.3%" and pct(12.34, ratio=False) == "12.3%"
    assert number(1234.567) == "1,234.57"


def test_values_that_round_to_zero_carry_no_minus_sign():
    assert number(-0.0001) == "0.00" and money(-0.2) == "$0" and pct(-0.00001) == "0.0%"


def test_missing_values_are_a_dash_and_negatives_red():
    assert money(None) == pct(math.nan) == number(None) == "—"
    assert signed_class(-1) == "neg" and signed_class(2) == "pos" and signed_class(None) == "muted"
