"""Broker positions exports (CSV_IMPORT.md §2/§4), parsed from realistic fixture files."""

from __future__ import annotations

import datetime as dt

from tests.imports.helpers_import import FIXTURES, codes, fixture, rejections, summary


def test_schwab_2025_layout_single_account():
    # BOM, CRLF, every field quoted, padded title line, a row of empty quoted cells, Qty (Quantity).
    raw = (FIXTURES / "schwab_positions_2025.csv").read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf") and b"\r\n" in raw
    report = fixture("schwab_positions_2025.csv")
    assert report.detected_format == "schwab_positions"
    assert report.file_error is None
    as_of = dt.date(2025, 5, 4)  # "as of 12:33 PM ET, 2025/05/04"
    assert summary(report) == [
        (4, "AAPL", "LONG", 100.0, 185.25, as_of),  # $18,525.00 / 100
        (5, "MSFT", "SHORT", -10.0, 402.10, as_of),  # |-$4,021.00| / |-10|
        (6, "SPY", "LONG", 1250.5, 480.072395, as_of),  # "1,250.5" shares, total cost / qty, 6 dp
        (7, "AAPL270115C00250000", "LC", 2.0, 12.5, as_of),  # $2,500 / 2 contracts / 100
    ]
    option = report.accepted[3]
    assert (option.underlying, option.expiry, option.option_type, option.strike) == (
        "AAPL",
        dt.date(2027, 1, 15),
        "call",
        250.0,
    )
    assert rejections(report) == {
        8: [("ticker", "unsupported_security")],  # Security Type "Fixed Income"
        9: [("entry_price", "missing_value")],  # Cost Basis "N/A" is never guessed
    }
    assert report.skipped_lines == [
        1,
        2,
        3,
        10,
        11,
    ]  # title, empty row, header, cash, Account Total
    assert all(
        "entry_date_defaulted_to_statement_date" in codes(a.warnings) for a in report.accepted
    )
    assert "entry_date_defaulted_to_statement_date" in codes(report.warnings)
    assert "cash_rows_skipped" in codes(report.warnings)


def test_schwab_all_accounts_older_layout():
    # Title + header repeated per account, trailing commas, MM/DD/YYYY as-of date.
    report = fixture("schwab_all_accounts_2021.csv")
    assert report.detected_format == "schwab_positions"
    as_of = dt.date(2021, 9, 26)
    assert summary(report) == [
        (5, "SCHB", "LONG", 961.0, 105.0736, as_of),  # $100,975.73 / 961, six decimals
        (6, "VOO", "LONG", 10.0, 201.0, as_of),
        (12, "VOO", "LONG", 10.0, 201.0, as_of),  # same holding in the Roth IRA: not a duplicate
    ]
    # The same VOO line twice in one account is a duplicate; UVXY closed (qty 0, basis N/A).
    assert rejections(report) == {
        13: [("row", "duplicate_row")],
        14: [("quantity", "zero_quantity"), ("entry_price", "missing_value")],
    }
    assert report.rejected[0].duplicate_of_line == 12
    assert report.skipped_lines == [1, 2, 3, 4, 7, 8, 9, 10, 11, 15, 16, 17, 18, 19]


def test_fidelity_portfolio_positions():
    report = fixture("fidelity_portfolio_positions.csv")
    assert report.detected_format == "fidelity_positions"
    downloaded = dt.date(2025, 12, 5)  # footer "Date downloaded Dec-05-2025 at 1:02 p.m ET"
    assert summary(report) == [
        (3, "AAPL", "LONG", 50.0, 170.0, downloaded),
        (4, "VWO", "LONG", 900.0, 42.62, downloaded),
        # " -AAPL270115C250": the '-' marks the option; the short comes from Quantity -2 only.
        (5, "AAPL270115C00250000", "SC", -2.0, 13.5, downloaded),
        (8, "FXAIX", "LONG", 12.345, 150.0, downloaded),
        (9, "AAPL", "LONG", 50.0, 170.0, downloaded),  # other account: kept
    ]
    assert rejections(report) == {
        6: [("entry_price", "missing_value")],  # Average Cost Basis "--"
        10: [("ticker", "unsupported_security")],  # muni bond CUSIP
    }
    # SPAXX** (2), Pending Activity (7), CORE** (11), the two-line quoted disclaimer (13-14) and
    # the footer.
    assert report.skipped_lines == [1, 2, 7, 11, 12, 13, 14, 15, 16, 17, 18]


def test_vanguard_holdings_block_only():
    report = fixture("vanguard_ofxdownload.csv")
    assert report.detected_format == "vanguard_positions"
    today = dt.date(2026, 11, 24)
    assert summary(report) == [
        (2, "VT", "LONG", 10.0, 74.81, today),
        (3, "VOO", "LONG", 100.1, 109.6, today),
        (5, "VMFXX", "LONG", 543.21, 1.0, today),  # a money-market fund is a normal position
    ]
    assert rejections(report) == {4: [("ticker", "unsupported_security")]}  # bond: empty Symbol
    assert report.skipped_lines == [1, *range(6, 14)]  # header, blank lines, the transactions table
    for row in report.accepted:
        assert codes(row.warnings) == [
            "entry_date_defaulted_to_import_date",
            "entry_price_defaulted_to_market_price",
        ]


def test_ibkr_activity_statement_open_positions():
    report = fixture("ibkr_activity_statement.csv")
    assert report.detected_format == "ibkr_activity"
    end = dt.date(2026, 3, 31)  # Period "January 1, 2026 - March 31, 2026"
    assert summary(report) == [
        (14, "AAPL", "LONG", 100.0, 175.5, end),
        (15, "GOOG", "SHORT", -50.0, 140.0, end),
        (17, "XEQT", "LONG", 205.2935, 32.403637665, end),
        (19, "SPY270331C00570000", "LC", 1.0, 8.315665, end),
        (20, "AAPL270115P00200000", "SP", -3.0, 4.1, end),
    ]
    assert "non_usd_currency" in codes(report.accepted[2].warnings)
    assert rejections(report) == {22: [("ticker", "unsupported_security")]}  # Forex
    # Statement/Account/NAV sections, headers, Total and Notes rows, and the Trades section.
    assert report.skipped_lines == [*range(1, 14), 16, 18, 21, 23, 24, 25, 26]


def test_etrade_portfolio_download():
    report = fixture("etrade_portfolio_download.csv")
    assert report.detected_format == "etrade_positions"
    generated = dt.date(2026, 11, 20)  # "Generated at Nov 20 2026 11:42 AM ET"
    assert summary(report) == [
        (11, "LCTX", "LONG", 965.0, 1.74, generated),
        (12, "MSFT", "LONG", 10.0, 350.25, generated),
        (15, "QQQ261231P00600000", "LP", 1.0, 50.35, generated),
        (16, "AAPL300117P00150000", "SP", -1.0, 2.75, generated),
        (18, "VMFXX", "LONG", 50000.0, 1.0, generated),
    ]
    assert rejections(report) == {17: [("ticker", "unsupported_security")]}  # a bank CD
    # The "Filters applied" decoy header (line 8), lot rows (13-14), CASH, TOTAL and the footer
    # are skipped.
    assert report.skipped_lines == [*range(1, 11), 13, 14, 19, 20, 21, 22]


def test_thinkorswim_position_statement():
    report = fixture("thinkorswim_position_statement.csv")
    assert report.detected_format == "thinkorswim_positions"
    on = dt.date(2026, 11, 20)  # "on 11/20/26 22:14:27"
    assert summary(report) == [
        (5, "DRAM", "LONG", 200.0, 69.3705, on),
        # option rows take the underlying of the preceding bare-ticker group row
        (7, "GOOGL261218C00365000", "SC", -1.0, 2.05, on),
        (8, "GOOGL270115C00330000", "LC", 1.0, 100.8, on),
        (10, "MSFT270617C00480000", "SC", -3.0, 66.98, on),
        (11, "MSFT270702C00460000", "LC", 1.0, 9.62, on),  # "(Weeklys)"
    ]
    assert rejections(report) == {12: [("quantity", "zero_quantity")]}
    # Group rows (6, 9), totals, and the whole Profits and Losses / Account Summary tail are
    # skipped.
    assert report.skipped_lines == [1, 2, 3, 4, 6, 9, *range(13, 25)]


def test_robinhood_activity_is_refused():
    report = fixture("robinhood_activity.csv")
    assert report.file_error["code"] == "unsupported_format"
    assert "positions" in report.file_error["message"].lower()
    assert "template" in report.file_error["message"]
    assert report.accepted == [] and report.rejected == []


def test_broker_rows_flag_market_data_per_price_symbol():
    report = fixture("thinkorswim_position_statement.csv")
    flags = {a.symbol: a.has_market_data for a in report.accepted}
    assert flags["DRAM"] is False  # accepted anyway
    assert flags["GOOGL261218C00365000"] is True  # options are priced by their underlying
    assert any(w["code"] == "no_market_data" and "DRAM" in w["message"] for w in report.warnings)


def test_thinkorswim_older_layout_and_unreadable_option_rows():
    from tests.imports.helpers_import import run

    text = (
        "Position Statement for 123456789 (Individual) on 11/20/26 22:14:27\n"
        "Instrument,Qty,Days,Trade Price,Mark\n"
        "AAPL,,,,\n"
        "APPLE INC COM,+100,,150.25,230.00\n"  # older statements: shares named by description
        "100/32 15 JAN 27 330 CALL,+1,56,10.80,9.55\n"  # unreadable option: never shares
        "10 (Mini) 15 JAN 27 200 CALL,+1,56,1.80,2.55\n"
        "/ES,,,,\n"
        "E-mini S&P 500 Futures,+1,,5900,5950\n"
        "100 16 JAN 27 250 PUT,-1,56,3.10,3.00\n"
    )
    report = run(text)
    assert summary(report) == [(4, "AAPL", "LONG", 100.0, 150.25, dt.date(2026, 11, 20))]
    assert rejections(report) == {
        5: [("ticker", "invalid_symbol")],
        6: [("ticker", "unsupported_security")],  # 10-share contracts
        8: [("ticker", "unsupported_security")],  # futures
        9: [("ticker", "unsupported_security")],  # an option under the futures group
    }


def test_thinkorswim_option_without_group_row():
    from tests.imports.helpers_import import run

    report = run("Instrument,Qty,Days,Trade Price\n100 16 JAN 27 250 PUT,-1,56,3.10\n")
    assert report.detected_format == "thinkorswim_positions"
    assert rejections(report) == {2: [("ticker", "invalid_symbol")]}
    assert "underlying" in report.rejected[0].errors[0]["message"]


def test_schwab_short_option_price_uses_absolute_cost_basis():
    from tests.imports.helpers_import import run

    report = run(
        '"Positions for account Individual ...123 as of 12:33 PM ET, 2025/05/04"\n\n'
        '"Symbol","Description","Qty (Quantity)","Price","Mkt Val (Market Value)",'
        '"Cost Basis","Security Type"\n'
        '"SPY 06/18/2027 500.00 P","PUT SPDR S&P500 $500 EXP 06/18/27","-1","$4.10",'
        '"-$410.00","-$500.00","Option"\n'
    )
    assert summary(report) == [(4, "SPY270618P00500000", "SP", -1.0, 5.0, dt.date(2025, 5, 4))]


def test_ibkr_older_statement_lots_and_multipliers():
    from tests.imports.helpers_import import run

    text = (
        "Statement,Header,Field Name,Field Value\n"
        'Statement,Data,Period,"July 25, 2026"\n'
        "Long Open Positions,Header,DataDiscriminator,Asset Category,Currency,Symbol,Open,"
        "Quantity,Mult,Cost Price,Cost Basis,Close Price,Value,Unrealized P/L,% of NAV,Code\n"
        "Long Open Positions,Data,Summary,Stocks,USD,AAPL,-,30,1,"
        "51.83,1555.0,49.35,1480.5,-74.5,4.65,\n"
        'Long Open Positions,Data,Lot,Stocks,USD,AAPL,"2026-07-07, 15:39:46",15,,'
        "48.50,727.56,49.35,740.25,12.68,,ST\n"
        'Long Open Positions,Data,Lot,Stocks,USD,AAPL,"2026-02-10, 15:10:44",15,,'
        "55.17,827.56,49.35,740.25,-87.3,,ST\n"
        "Long Open Positions,Data,Summary,Equity and Index Options,USD,SPY 31MAR27 570 C,-,1,10,"
        "8.3,83.0,9.1,91,8,,\n"
    )
    report = run(text)
    assert summary(report) == [(4, "AAPL", "LONG", 30.0, 51.83, dt.date(2026, 7, 25))]
    assert rejections(report) == {7: [("ticker", "unsupported_security")]}  # multiplier 10
    assert report.skipped_lines == [1, 2, 3, 5, 6]


def test_dateless_exports_fall_back_to_the_import_date():
    from tests.imports.helpers_import import TODAY, run

    report = run(
        "Symbol,Last Price $,Change $,Change %,Quantity,Price Paid $,Day's Gain $,Total Gain $,"
        "Total Gain %,Value $\nMSFT,420.00,1.00,0.24,10.0000,350.25,10.00,697.50,19.91,4200.00\n"
    )
    assert report.detected_format == "etrade_positions"
    assert summary(report) == [(2, "MSFT", "LONG", 10.0, 350.25, TODAY)]
    assert codes(report.accepted[0].warnings) == ["entry_date_defaulted_to_import_date"]
