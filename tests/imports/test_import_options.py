"""Option symbols: OSI and every broker notation of CSV_IMPORT.md §1."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from webapp.imports import ParsedOption, parse_option_symbol
from webapp.imports.options import parse_tos_option


@pytest.mark.parametrize(
    ("text", "underlying", "expiry", "kind", "strike", "osi"),
    [
        # OSI, padded (Schwab) and unpadded (APIs)
        (
            "AAPL  270115C00250000",
            "AAPL",
            dt.date(2027, 1, 15),
            "call",
            "250",
            "AAPL270115C00250000",
        ),
        ("AAPL270115C00250000", "AAPL", dt.date(2027, 1, 15), "call", "250", "AAPL270115C00250000"),
        ("SPY260825C00500000", "SPY", dt.date(2026, 8, 25), "call", "500", "SPY260825C00500000"),
        ("SPY   260825P00032500", "SPY", dt.date(2026, 8, 25), "put", "32.5", "SPY260825P00032500"),
        (
            "aapl  240119c00150000",
            "AAPL",
            dt.date(2024, 1, 19),
            "call",
            "150",
            "AAPL240119C00150000",
        ),
        (
            "AAPL1 270115C00250000",
            "AAPL1",
            dt.date(2027, 1, 15),
            "call",
            "250",
            "AAPL1270115C00250000",
        ),
        (
            "AAPL 260116C00250000",
            "AAPL",
            dt.date(2026, 1, 16),
            "call",
            "250",
            "AAPL260116C00250000",
        ),
        # Schwab
        (
            "AAPL 01/15/2027 250.00 C",
            "AAPL",
            dt.date(2027, 1, 15),
            "call",
            "250",
            "AAPL270115C00250000",
        ),
        (
            "SPY 3/20/2026 412.50 P",
            "SPY",
            dt.date(2026, 3, 20),
            "put",
            "412.5",
            "SPY260320P00412500",
        ),
        # Fidelity: the leading '-' marks an option (it is not a short); strike in dollars
        (" -AAPL270115C250", "AAPL", dt.date(2027, 1, 15), "call", "250", "AAPL270115C00250000"),
        ("-AMD251226P212.5", "AMD", dt.date(2025, 12, 26), "put", "212.5", "AMD251226P00212500"),
        # IBKR statement
        ("SPY 31MAR25 570 C", "SPY", dt.date(2025, 3, 31), "call", "570", "SPY250331C00570000"),
        (
            "AAPL 28MAR25 222.5 C",
            "AAPL",
            dt.date(2025, 3, 28),
            "call",
            "222.5",
            "AAPL250328C00222500",
        ),
        ("TQQQ 16OCT26 50 P", "TQQQ", dt.date(2026, 10, 16), "put", "50", "TQQQ261016P00050000"),
        # E*TRADE
        (
            "AAPL Jan 17 '30 $150 Put",
            "AAPL",
            dt.date(2030, 1, 17),
            "put",
            "150",
            "AAPL300117P00150000",
        ),
        (
            "QQQ Dec 31 '26 $600 Call",
            "QQQ",
            dt.date(2026, 12, 31),
            "call",
            "600",
            "QQQ261231C00600000",
        ),
        (
            "ARBE May 15 '26 $1.50 Call",
            "ARBE",
            dt.date(2026, 5, 15),
            "call",
            "1.5",
            "ARBE260515C00001500",
        ),
        # Robinhood activity description
        (
            "RTX 3/20/2026 Call $185.00",
            "RTX",
            dt.date(2026, 3, 20),
            "call",
            "185",
            "RTX260320C00185000",
        ),
        (
            "RTX 3/20/2026 Put $185.00",
            "RTX",
            dt.date(2026, 3, 20),
            "put",
            "185",
            "RTX260320P00185000",
        ),
        # legacy TD Ameritrade API (MMDDYY)
        ("SPY_081718C290", "SPY", dt.date(2018, 8, 17), "call", "290", "SPY180817C00290000"),
        ("SPY_081718P290.5", "SPY", dt.date(2018, 8, 17), "put", "290.5", "SPY180817P00290500"),
    ],
)
def test_notations(text, underlying, expiry, kind, strike, osi):
    parsed = parse_option_symbol(text)
    assert parsed == ParsedOption(underlying, expiry, kind, Decimal(strike))
    assert parsed.osi == osi


@pytest.mark.parametrize(
    "text",
    [
        "AAPL",  # a stock
        "BRK.B",
        "",
        "AAPL270115C0025000",  # strike 7 digits
        "AAPL270115X00250000",  # no C/P
        "AAPL271315C00250000",  # month 13
        "AAPL270230C00250000",  # 30 February
        "AAPL270115C00000000",  # strike 0
        "TOOLONGX270115C00250000",  # root over 6 characters
        "AAPL 13/15/2027 250.00 C",
        "AAPL 01/15/2027 250.0001 C",  # strike below 1/1000
        "SPY 31FOO25 570 C",
        "-AAPL270115C00250000",  # Fidelity strikes are dollars: $250,000 does not fit OSI
        "100 21 JAN 22 4795 PUT",  # thinkorswim needs its group row
        "912828YK0",
    ],
)
def test_not_options(text):
    assert parse_option_symbol(text) is None


@pytest.mark.parametrize(
    ("text", "multiplier", "expiry", "kind", "strike"),
    [
        ("100 21 JAN 22 4795 PUT", 100, dt.date(2022, 1, 21), "put", "4795"),
        ("100 (Weeklys) 2 JUL 26 460 CALL", 100, dt.date(2026, 7, 2), "call", "460"),
        ("100 (Quarterlys) 31 MAR 27 412.5 PUT", 100, dt.date(2027, 3, 31), "put", "412.5"),
        ("10 (Mini) 18 DEC 26 200 CALL", 10, dt.date(2026, 12, 18), "call", "200"),
    ],
)
def test_thinkorswim_rows(text, multiplier, expiry, kind, strike):
    assert parse_tos_option(text) == (multiplier, expiry, kind, Decimal(strike))


def test_thinkorswim_rejects_other_text():
    assert parse_tos_option("AAPL") is None
    assert parse_tos_option("100 31 FEB 26 460 CALL") is None
