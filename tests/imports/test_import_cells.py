"""Number, date and free-text cells of holdings files."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from webapp.imports import neutralize
from webapp.imports.cells import CellError, norm_header, parse_date, parse_decimal


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("100", Decimal("100")),
        ("  200.5 ", Decimal("200.5")),
        ("$1,234.56", Decimal("1234.56")),
        ('"$1,821.09"'.strip('"'), Decimal("1821.09")),
        ("(123.45)", Decimal("-123.45")),
        ("($180.00)", Decimal("-180.00")),
        ("-$6,070.00", Decimal("-6070.00")),
        ("$-6,070.00", Decimal("-6070.00")),
        ("+4.12", Decimal("4.12")),
        ("+$0.16", Decimal("0.16")),
        ("+2", Decimal("2")),
        ("-2", Decimal("-2")),
        (".00", Decimal("0")),
        ("-.0066", Decimal("-0.0066")),
        ("1,250.5", Decimal("1250.5")),
        ("9,999,999.99", Decimal("9999999.99")),
        ("1.5E+3", Decimal("1500")),
        ("\u2212250", Decimal("-250")),
        ("\ufeff42", Decimal("42")),
    ],
)
def test_numbers_in_broker_notations(text, expected):
    assert parse_decimal(text) == expected


@pytest.mark.parametrize("text", ["", "   ", "--", "N/A", "n/a", "-"])
def test_placeholders_are_missing(text):
    assert parse_decimal(text) is None
    assert parse_date(text) is None


@pytest.mark.parametrize(
    "text",
    [
        "NaN",
        "nan",
        "Infinity",
        "-inf",
        "=1+2",
        "=SUM(A1:A3)",
        "@SUM(A1)",
        "+A1",
        "abc",
        "12abc",
        "1,5",
        "12,34.5",
        "(-5)",
        "--5",
        "1e999",
        "$",
        "1.2.3",
        "4.12%",
    ],
)
def test_invalid_numbers(text):
    with pytest.raises(CellError) as exc:
        parse_decimal(text)
    assert exc.value.code == "invalid_number"


def test_formula_message_says_formulas_are_not_evaluated():
    with pytest.raises(CellError, match="formula"):
        parse_decimal('=HYPERLINK("http://x")')


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2024-03-15", dt.date(2024, 3, 15)),
        ("2024/03/15", dt.date(2024, 3, 15)),
        ("03/15/2024", dt.date(2024, 3, 15)),
        ("3/5/2024", dt.date(2024, 3, 5)),
        ("3/5/24", dt.date(2024, 3, 5)),
        ("12/31/99", dt.date(1999, 12, 31)),
        ("Dec-05-2025", dt.date(2025, 12, 5)),
        ("dec-5-2025", dt.date(2025, 12, 5)),
        ("15-Mar-2024", dt.date(2024, 3, 15)),
        ("2024-03-15 00:00:00", dt.date(2024, 3, 15)),
        ("2024-03-15T00:00:00", dt.date(2024, 3, 15)),
        ("3/15/2024 0:00", dt.date(2024, 3, 15)),
    ],
)
def test_dates(text, expected):
    assert parse_date(text) == expected


@pytest.mark.parametrize(
    "text",
    [
        "2024-02-30",
        "13/01/2024",
        "15/03/2024",
        "20240315",
        "45366",
        "March 15",
        "2024-3",
        "yesterday",
    ],
)
def test_invalid_dates(text):
    with pytest.raises(CellError) as exc:
        parse_date(text)
    assert exc.value.code == "invalid_date"


def test_slash_dates_are_month_first_and_say_so():
    assert parse_date("02/03/2024") == dt.date(2024, 2, 3)  # never 2 March
    with pytest.raises(CellError, match="month-first"):
        parse_date("25/12/2024")


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("=1+2", "'=1+2"),
        ("+SUM(A1)", "'+SUM(A1)"),
        ("-2+3", "'-2+3"),
        ("@cmd", "'@cmd"),
        ("\tx", "'\tx"),
        ("\rx", "'\rx"),
        ("plain text", "plain text"),
        ("", ""),
        ("a=b", "a=b"),
    ],
)
def test_neutralize(text, expected):
    assert neutralize(text) == expected


def test_header_names_ignore_case_spaces_and_punctuation():
    assert (
        norm_header(" Entry_Price ")
        == norm_header("entry price")
        == norm_header("ENTRY-PRICE")
        == "entryprice"
    )
    assert norm_header("Qty (Quantity)") == "qtyquantity"
    assert norm_header("Price Paid $") == "pricepaid"


@settings(max_examples=400, deadline=None)
@given(st.from_regex(r"\A-?\$?[0-9,]{1,22}(\.[0-9]{0,3})?\Z"))
def test_the_money_fast_path_reads_as_the_general_path(text):
    """ "$1,234.50"-style cells skip the clean/replace chain; the value (or the error) is the
    one the general path gives."""
    import re

    from webapp.imports import cells

    def read(pattern):
        saved, cells._PLAIN_MONEY_RE = cells._PLAIN_MONEY_RE, pattern
        try:
            return cells.parse_decimal(text)
        except cells.CellError as exc:
            return exc.code
        finally:
            cells._PLAIN_MONEY_RE = saved

    assert read(cells._PLAIN_MONEY_RE) == read(re.compile(r"(?!)"))
