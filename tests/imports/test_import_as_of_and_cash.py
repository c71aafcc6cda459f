"""Imports judged by the price date (not the wall clock), statement cash and the equity check.

The prices end on PRICE_DATE (2026-08-03) while the calendar says TODAY (2026-11-24): every date
rule must follow the prices when the caller passes them, and the wall clock only when it does not.
"""

from __future__ import annotations

import datetime as dt

import pytest

from tests.imports.helpers_import import (
    PRICE_DATE,
    TODAY,
    codes,
    fixture,
    rejections,
    run,
    summary,
)

HEADER = "ticker,quantity,entry_price,entry_date\n"


def _warning(report, code: str) -> dict[str, str]:
    (note,) = [w for w in report.warnings if w["code"] == code]
    return note


# --- the as-of date -------------------------------------------------------------------------


def test_the_report_says_which_date_it_judged_by():
    priced = run(HEADER + "AAPL,1,1,2024-01-02\n", as_of=PRICE_DATE)
    assert (priced.as_of, priced.as_of_source) == (PRICE_DATE, "price_date")
    unpriced = run(HEADER + "AAPL,1,1,2024-01-02\n")  # no prices stored: the (fixed) wall clock
    assert (unpriced.as_of, unpriced.as_of_source) == (TODAY, "today")


def test_entry_dates_after_the_price_date_are_rejected_naming_both_dates():
    report = run(
        HEADER + "AAPL,1,1,2026-08-03\nMSFT,1,1,2026-09-01\n",
        as_of=PRICE_DATE,
    )
    assert [a.line for a in report.accepted] == [2]  # the price date itself is fine
    assert rejections(report) == {3: [("entry_date", "future_date")]}
    message = report.rejected[0].errors[0]["message"]
    assert "2026-09-01" in message and "2026-08-03" in message
    assert "stored prices" in message


def test_without_prices_the_wall_clock_still_decides():
    # The same September date is in the past by the calendar: accepted when no prices exist.
    report = run(HEADER + "MSFT,1,1,2026-09-01\n")
    assert report.rejected == [] and report.accepted[0].entry_date == dt.date(2026, 9, 1)


def test_dateless_export_enters_on_the_price_date_with_a_warning():
    report = fixture("vanguard_ofxdownload.csv", as_of=PRICE_DATE)
    assert {a.entry_date for a in report.accepted} == {PRICE_DATE}
    note = _warning(report, "entry_date_defaulted_to_price_date")
    assert note["message"].startswith(
        "No acquisition date in the file: entry date set to the price date 2026-08-03"
    )
    assert all("entry_date_defaulted_to_price_date" in codes(a.warnings) for a in report.accepted)


def test_a_statement_newer_than_the_prices_enters_on_the_price_date():
    # "Position Statement ... on 8/14/26": after the last stored prices (2026-08-03).
    report = fixture("thinkorswim_cash_statement.csv", as_of=PRICE_DATE)
    assert {a.entry_date for a in report.accepted} == {PRICE_DATE}
    message = _warning(report, "entry_date_defaulted_to_price_date")["message"]
    assert "2026-08-03" in message and "statement date 2026-08-14" in message
    assert report.rejected == []  # no entry date lands after the prices


def test_the_original_thinkorswim_statement_no_longer_enters_in_november():
    report = fixture("thinkorswim_position_statement.csv", as_of=PRICE_DATE)
    assert {a.entry_date for a in report.accepted} == {PRICE_DATE}  # not 2026-11-20


def test_a_statement_older_than_the_prices_keeps_its_own_date():
    report = fixture("schwab_positions_cash.csv", as_of=PRICE_DATE)
    assert {a.entry_date for a in report.accepted} == {dt.date(2026, 7, 31)}
    assert "entry_date_defaulted_to_statement_date" in codes(report.warnings)


# --- option expiry ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("as_of", "expired"),
    [
        (PRICE_DATE, False),  # expires 2026-09-18: still open on the last price date
        (None, True),  # judged by the calendar (2026-11-24) it has expired
        (dt.date(2026, 9, 30), True),
    ],
)
def test_expiry_is_judged_against_the_as_of_date(as_of, expired):
    report = run(HEADER + "SPY260918C00560000,1,5,2026-07-01\n", as_of=as_of)
    assert report.rejected == []
    assert ("option_expired" in codes(report.accepted[0].warnings)) is expired


def test_options_expiring_between_the_price_date_and_today_are_not_expired_in_a_statement():
    report = fixture("thinkorswim_cash_statement.csv", as_of=PRICE_DATE)
    assert [a.expiry for a in report.accepted] == [
        dt.date(2026, 9, 18),
        dt.date(2026, 10, 16),
        dt.date(2027, 1, 15),
    ]
    assert not any("option_expired" in codes(a.warnings) for a in report.accepted)


# --- statement cash ---------------------------------------------------------------------------


def test_thinkorswim_prefers_the_explicit_cash_line_to_net_liq():
    report = fixture("thinkorswim_cash_statement.csv", as_of=PRICE_DATE)
    assert report.statement_cash == 52_280.0 and report.statement_cash_lines == [15]
    message = _warning(report, "statement_cash")["message"]
    assert "$52,280.00" in message and "Cash & Sweep Vehicle" in message and "line 15" in message
    # Net Liq $48,310.00 = cash $52,280.00 + the short options at Mark (-$3,970.00).
    assert report.estimated_equity == 48_310.0


def test_thinkorswim_cash_is_net_liq_minus_the_positions_at_mark():
    report = fixture("thinkorswim_position_statement.csv")
    # Net Liquidating Value $201,000.00 (line 23) minus Qty x Mark x 100 of every row:
    # 200 x 61.11 - 1.935 x 100 + 69.55 x 100 - 3 x 73.00 x 100 + 12.40 x 100 = -$1,676.50.
    assert report.statement_cash == pytest.approx(202_676.5)
    assert report.statement_cash_lines == [23]
    message = _warning(report, "statement_cash")["message"]
    assert "Net Liquidating Value $201,000.00 (line 23)" in message and "Mark" in message
    assert report.estimated_equity == pytest.approx(201_000.0)


def test_thinkorswim_net_liq_is_not_split_without_marks():
    report = run(
        "Position Statement for 123456789 (Individual) on 7/30/26 16:00:00\n"
        "Instrument,Qty,Days,Trade Price\n"
        "AAPL,+10,,150.00\n"
        "\n"
        "Account Summary\n"
        'Net Liquidating Value,"$5,000.00"\n',
        as_of=PRICE_DATE,
    )
    assert report.statement_cash is None
    assert "line(s) 3" in _warning(report, "statement_cash_not_derived")["message"]


def test_schwab_cash_and_cash_investments_becomes_the_cash():
    report = fixture("schwab_positions_cash.csv", as_of=PRICE_DATE)
    assert report.statement_cash == 15_402.18 and report.statement_cash_lines == [7]
    message = _warning(report, "statement_cash")["message"]
    assert "'Cash & Cash Investments', line 7" in message and "$15,402.18" in message
    assert 7 in report.skipped_lines  # still not a position
    # Mkt Val of the rows plus the cash: the statement's own Account Total.
    assert report.estimated_equity == 67_169.32


def test_schwab_all_accounts_sums_the_cash_of_every_account_but_not_futures_cash():
    report = fixture("schwab_all_accounts_2021.csv")
    assert report.statement_cash == pytest.approx(42.82 + 500.21)
    assert report.statement_cash_lines == [7, 16]  # line 15 "Futures Cash" is not counted


def test_fidelity_core_money_market_rows_become_the_cash():
    report = fixture("fidelity_positions_core.csv", as_of=PRICE_DATE)
    assert report.statement_cash == pytest.approx(3_250.75 + 1_180.40)
    assert report.statement_cash_lines == [2, 5]
    message = _warning(report, "statement_cash")["message"]
    assert "'SPAXX**' on line 2: $3,250.75" in message
    assert "'FDRXX**' on line 5: $1,180.40" in message
    assert [a.symbol for a in report.accepted] == ["AAPL", "AAPL260918C00230000", "VOO"]
    assert report.estimated_equity == pytest.approx(23_936.99)


def test_fidelity_pending_activity_counts_as_cash():
    report = fixture("fidelity_portfolio_positions.csv")
    assert report.statement_cash == pytest.approx(1_234.56 - 125.00 + 500.00)
    assert report.statement_cash_lines == [2, 7, 11]


def test_the_template_has_no_statement_cash():
    report = run(HEADER + "AAPL,1,1,2024-01-02\nCASH,5000,1,2024-01-02\n", as_of=PRICE_DATE)
    assert report.statement_cash is None and report.statement_cash_lines == []
    assert "statement_cash" not in codes(report.warnings)
    assert "cash_rows_skipped" in codes(report.warnings)


# --- the equity check -------------------------------------------------------------------------

SHORT_PUTS = (
    "Position Statement for 123456789 (Individual) on 7/30/26 16:00:00\n"
    "Instrument,Qty,Days,Trade Price,Mark\n"
    "SPY,,,,\n"
    "100 18 SEP 26 560 PUT,-2,50,6.40,4.10\n"
)


def test_a_book_of_short_options_without_cash_is_warned():
    report = run(SHORT_PUTS, as_of=PRICE_DATE)
    assert report.estimated_equity == -820.0  # -2 x 4.10 x 100 at the statement's Mark
    message = _warning(report, "non_positive_equity")["message"]
    assert "-$820.00" in message
    assert "Risk and performance" in message and "cash" in message and "long positions" in message


def test_the_cash_line_clears_the_equity_warning():
    report = run(SHORT_PUTS + "\nAccount Summary\nCash & Sweep Vehicle,$25000.00\n")
    assert report.statement_cash == 25_000.0 and report.estimated_equity == 24_180.0
    assert "non_positive_equity" not in codes(report.warnings)


def test_without_market_values_equity_is_entry_price_times_quantity():
    report = run(HEADER + "AAPL,10,100,2024-01-02\nSPY260918C00560000,-1,12.5,2024-01-02\n")
    assert report.estimated_equity == 1_000.0 - 1_250.0
    message = _warning(report, "non_positive_equity")["message"]
    assert "entry price x quantity" in message and "no cash" in message


def test_no_equity_estimate_without_accepted_rows():
    report = run(HEADER + "AAPL,0,1,2024-01-02\n")
    assert report.estimated_equity is None
    assert "non_positive_equity" not in codes(report.warnings)


def test_the_json_report_keeps_its_keys_and_carries_the_new_warnings():
    report = fixture("schwab_positions_cash.csv", as_of=PRICE_DATE)
    body = report.to_dict()
    assert set(body) == {
        "detected_format",
        "file_error",
        "accepted",
        "rejected",
        "skipped_lines",
        "warnings",
        "portfolio_id",
    }
    assert "statement_cash" in [w["code"] for w in body["warnings"]]
    assert summary(report)[0] == (4, "MSFT", "LONG", 100.0, 418.1, dt.date(2026, 7, 31))
