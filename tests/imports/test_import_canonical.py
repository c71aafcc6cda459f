"""The SigmaSight template format: row outcomes, error codes and duplicates.

Also line numbers and the report's shape.
"""

from __future__ import annotations

import csv
import datetime as dt
import json
from pathlib import Path

import pytest

from tests.imports.helpers_import import TODAY, codes, rejections, run, summary
from webapp.imports import TEMPLATE_CSV, AcceptedRow, ImportReport, RejectedRow

HEADER = "ticker,quantity,entry_price,entry_date,tags,strategy,notes\n"
DATASET = Path(__file__).resolve().parents[2] / "webapp" / "data" / "securities.csv"


def test_template_validates_with_zero_rejections_against_the_bundled_dataset():
    with DATASET.open(newline="") as fh:
        bundled = frozenset(row["symbol"] for row in csv.DictReader(fh))
    report = run(TEMPLATE_CSV, known=bundled)
    assert report.file_error is None
    assert report.rejected == []
    assert report.detected_format == "canonical"
    assert (
        TEMPLATE_CSV.splitlines()[0] == "ticker,quantity,entry_price,entry_date,tags,strategy,notes"
    )
    assert [a.position_type for a in report.accepted] == ["LONG", "LONG", "SHORT", "LC"]
    assert all(a.has_market_data for a in report.accepted)
    assert report.warnings == []


def test_accepted_row_fields_and_properties():
    report = run(
        HEADER + "AAPL,100,185.25,2024-03-15, core ; tech ;core,Growth,Long-term\n"
        "AAPL  270115P00200000,-3,4.10,03/01/2025,hedge,Collar,\n"
    )
    stock, option = report.accepted
    assert (
        stock.symbol,
        stock.asset_type,
        stock.position_type,
        stock.quantity,
        stock.entry_price,
    ) == ("AAPL", "stock", "LONG", 100.0, 185.25)
    assert stock.entry_date == dt.date(2024, 3, 15)
    assert stock.tags == ["core", "tech"]  # trimmed, case kept, each once
    assert (stock.strategy, stock.notes) == ("Growth", "Long-term")
    assert (
        stock.multiplier,
        stock.underlying_symbol,
        stock.strike_price,
        stock.expiration_date,
        stock.implied_vol,
    ) == (1.0, None, None, None, None)
    assert (option.symbol, option.asset_type, option.position_type, option.quantity) == (
        "AAPL270115P00200000",
        "option",
        "SP",
        -3.0,
    )
    assert (option.underlying, option.expiry, option.option_type, option.strike) == (
        "AAPL",
        dt.date(2027, 1, 15),
        "put",
        200.0,
    )
    assert (
        option.multiplier,
        option.underlying_symbol,
        option.strike_price,
        option.expiration_date,
    ) == (100.0, "AAPL", 200.0, dt.date(2027, 1, 15))
    assert option.entry_price == 4.10  # per-share premium, not x100
    assert isinstance(stock, AcceptedRow)


@pytest.mark.parametrize(
    ("ticker", "quantity", "symbol", "position_type"),
    [
        ("MSFT", "10", "MSFT", "LONG"),
        ("MSFT", "-10", "MSFT", "SHORT"),
        ("msft", "(10)", "MSFT", "SHORT"),
        ("AAPL270115C00250000", "2", "AAPL270115C00250000", "LC"),
        ("AAPL270115C00250000", "-2", "AAPL270115C00250000", "SC"),
        ("AAPL270115P00250000", "2", "AAPL270115P00250000", "LP"),
        ("AAPL270115P00250000", "-2", "AAPL270115P00250000", "SP"),
        ("-AAPL270115C250", "2", "AAPL270115C00250000", "LC"),  # Fidelity marker is not a short
        ("AAPL 01/15/2027 250.00 C", "-1", "AAPL270115C00250000", "SC"),
        ("SPY 31MAR27 570 C", "1", "SPY270331C00570000", "LC"),
        ("AAPL Jan 17 '30 $150 Put", "1", "AAPL300117P00150000", "LP"),
        ("RTX 3/20/2027 Call $185.00", "1", "RTX270320C00185000", "LC"),
        ("BRK.B", "5", "BRK-B", "LONG"),
        ("BRK/B", "5", "BRK-B", "LONG"),
        ("brk-b", "5", "BRK-B", "LONG"),
    ],
)
def test_position_types_and_symbols(ticker, quantity, symbol, position_type):
    report = run(HEADER + f'"{ticker}",{quantity},10,2024-01-02,,,\n')
    assert [(a.symbol, a.position_type) for a in report.accepted] == [(symbol, position_type)]


def _rejected_codes(line: str) -> list[tuple[str, str]]:
    report = run(HEADER + line + "\n")
    assert report.accepted == []
    return rejections(report)[2]


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        (",100,10,2024-01-02", [("ticker", "missing_value")]),
        ("AAPL,,10,2024-01-02", [("quantity", "missing_value")]),
        ("AAPL,100,,2024-01-02", [("entry_price", "missing_value")]),
        ("AAPL,100,N/A,2024-01-02", [("entry_price", "missing_value")]),
        ("AAPL,100,10,", [("entry_date", "missing_value")]),
        ("AAPL,ten,10,2024-01-02", [("quantity", "invalid_number")]),
        ("AAPL,NaN,10,2024-01-02", [("quantity", "invalid_number")]),
        ("AAPL,100,Infinity,2024-01-02", [("entry_price", "invalid_number")]),
        ("AAPL,=1+2,10,2024-01-02", [("quantity", "invalid_number")]),
        ("AAPL,0,10,2024-01-02", [("quantity", "zero_quantity")]),
        ("AAPL,0.00,10,2024-01-02", [("quantity", "zero_quantity")]),
        ("AAPL,100,-10,2024-01-02", [("entry_price", "negative_price")]),
        ("AAPL,100,(10.00),2024-01-02", [("entry_price", "negative_price")]),
        ("AAPL,100,10,2024-02-30", [("entry_date", "invalid_date")]),
        ("AAPL,100,10,15/03/2024", [("entry_date", "invalid_date")]),
        ("AAPL,100,10,2026-11-25", [("entry_date", "future_date")]),
        ("AAPL INC,100,10,2024-01-02", [("ticker", "invalid_symbol")]),
        ("TOOLONGTICKER,100,10,2024-01-02", [("ticker", "invalid_symbol")]),
        ("AAPL270115C0025000,1,10,2024-01-02", [("ticker", "invalid_symbol")]),
        ("100 21 JAN 27 4795 PUT,1,10,2024-01-02", [("ticker", "invalid_symbol")]),
        ("912828YK0,10000,99.5,2024-01-02", [("ticker", "unsupported_security")]),
        (
            "AAPL270115C00250000,1.5,10,2024-01-02",
            [("quantity", "invalid_number")],
        ),  # whole contracts
    ],
)
def test_row_error_codes(line, expected):
    assert _rejected_codes(line) == expected


def test_every_field_error_of_a_line_is_reported():
    report = run(HEADER + "AAPL INC,0,-5,2099-01-01,,,\n")
    (rejected,) = report.rejected
    assert [(e["field"], e["code"]) for e in rejected.errors] == [
        ("ticker", "invalid_symbol"),
        ("quantity", "zero_quantity"),
        ("entry_price", "negative_price"),
        ("entry_date", "future_date"),
    ]
    assert all(
        set(e) == {"field", "code", "message", "value"} and e["message"] for e in rejected.errors
    )
    assert [e["value"] for e in rejected.errors] == ["AAPL INC", "0", "-5", "2099-01-01"]


def test_entry_date_today_is_accepted():
    report = run(HEADER + f"AAPL,1,1,{TODAY.isoformat()},,,\n")
    assert report.rejected == [] and report.accepted[0].entry_date == TODAY


def test_today_defaults_to_the_real_date():
    from webapp.imports import validate_holdings_file

    future = (dt.date.today() + dt.timedelta(days=3)).isoformat()
    report = validate_holdings_file(
        (HEADER + f"AAPL,1,1,{future},,,\n").encode(),
        filename="x.csv",
        known_symbols=set(),
        max_bytes=10_000,
        max_rows=10,
    )
    assert rejections(report) == {2: [("entry_date", "future_date")]}


def test_duplicates_are_rejected_with_the_first_line():
    report = run(
        HEADER
        + "AAPL,100,185.25,2024-03-15,,,\n"
        + "MSFT,10,400,2024-03-15,,,\n"
        + "aapl,100.00,$185.250,03/15/2024,other tag,,\n"  # same key once normalised
        + "AAPL,100,185.25,2024-03-16,,,\n"  # other date: a separate lot
        + "AAPL,100,185.25,2024-03-15,,,\n"
    )
    assert [a.line for a in report.accepted] == [2, 3, 5]
    assert [(r.line, r.duplicate_of_line) for r in report.rejected] == [(4, 2), (6, 2)]
    assert report.rejected[0].errors[0]["code"] == "duplicate_row"


def test_line_numbers_are_physical_lines():
    text = (
        "Holdings export for J. Smith\n"  # preamble line 1
        "\n"  # 2
        "ticker,quantity,entry_price,entry_date,notes\n"  # header 3
        'AAPL,1,1,2024-01-02,"first line\nsecond line"\n'  # 4-5: a quoted two-line note
        "   \n"  # 6: whitespace only
        "MSFT,0,1,2024-01-02,\n"  # 7: rejected
        ",,,,\n"  # 8: empty cells
        "SPY,2,1,2024-01-02,\n"  # 9
    )
    report = run(text)
    assert [a.line for a in report.accepted] == [4, 9]
    assert [r.line for r in report.rejected] == [7]
    assert report.skipped_lines == [1, 2, 3, 6, 8]
    assert report.accepted[0].notes == "first line\nsecond line"


def test_crlf_bom_quoting_trailing_cells_and_any_column_order():
    text = (
        '"Entry Date","Symbol","Qty","Avg Cost","Tags"\r\n'
        '"2024-03-15","AAPL","1,000","$185.25","core",,,\r\n'
        '"03/01/2024","MSFT","(5)","$400.00","",\r\n'
    )
    report = run(b"\xef\xbb\xbf" + text.encode())
    assert report.detected_format == "canonical"
    assert summary(report) == [
        (2, "AAPL", "LONG", 1000.0, 185.25, dt.date(2024, 3, 15)),
        (3, "MSFT", "SHORT", -5.0, 400.0, dt.date(2024, 3, 1)),
    ]
    assert report.accepted[0].warnings == []  # extra empty cells are tolerated silently


@pytest.mark.parametrize(
    "header",
    [
        "Symbol,Shares,Price,Date",
        "TICKER,QTY,Cost Per Share,Purchase Date",
        "ticker,quantity,Cost Basis Per Share,Open Date",
        "ticker,quantity,Average Cost,Trade Date",
        "ticker,quantity,Price Paid,Date Acquired",
        "Ticker , Quantity , Entry Price , Entry-Date",
    ],
)
def test_header_aliases(header):
    report = run(header + "\nAAPL,10,150,2024-01-02\n")
    assert summary(report) == [(2, "AAPL", "LONG", 10.0, 150.0, dt.date(2024, 1, 2))]


def test_extra_cells_beyond_the_header_are_flagged():
    report = run("ticker,quantity,entry_price,entry_date\nAAPL,1,000,185.25,2024-01-02\n")
    # An unquoted thousands comma shifts the columns: the date column now holds 185.25.
    assert rejections(report) == {2: [("entry_date", "invalid_date")]}
    report = run("ticker,quantity,entry_price,entry_date\nAAPL,1,185.25,2024-01-02,oops\n")
    assert codes(report.accepted[0].warnings) == ["extra_cells_ignored"]


def test_cash_and_total_rows_are_skipped_not_rejected():
    report = run(HEADER + "AAPL,1,1,2024-01-02,,,\nCASH,5000,1,2024-01-02,,,\nTotal,,,,,,\n")
    assert [a.line for a in report.accepted] == [2]
    assert report.rejected == []
    assert report.skipped_lines == [1, 3, 4]
    assert "cash_rows_skipped" in codes(report.warnings)


def test_cp1252_files_are_decoded_with_a_warning():
    text = HEADER + "AAPL,1,1,2024-01-02,caf\xe9,,R\xe9sum\xe9 \u2013 note\n"
    report = run(text.encode("cp1252"))
    assert report.file_error is None
    assert report.accepted[0].tags == ["caf\xe9"]
    assert report.accepted[0].notes == "R\xe9sum\xe9 \u2013 note"
    assert "encoding_fallback" in codes(report.warnings)


def test_utf16_excel_unicode_text_is_read():
    text = "ticker\tquantity\tentry_price\tentry_date\r\nAAPL\t1\t1\t2024-01-02\r\n"
    report = run(text.encode("utf-16"))
    assert report.file_error is None
    assert summary(report) == [(2, "AAPL", "LONG", 1.0, 1.0, dt.date(2024, 1, 2))]


def test_free_text_is_neutralised_against_csv_injection():
    report = run(
        HEADER
        + 'AAPL,1,1,2024-01-02,"=HYPERLINK(""x"");+evil;@cmd;-x;ok","-2+3","=cmd|\' /C calc\'!A0"\n'
    )
    row = report.accepted[0]
    assert row.tags == ['\'=HYPERLINK("x")', "'+evil", "'@cmd", "'-x", "ok"]
    assert row.strategy == "'-2+3"
    assert row.notes.startswith("'=cmd")


def test_optional_implied_vol_column():
    head = "ticker,quantity,entry_price,entry_date,implied_vol\n"
    report = run(
        head + "AAPL270115C00250000,1,10,2024-01-02,0.25\n"
        "AAPL270115C00260000,1,10,2024-01-02,30%\n"
        "AAPL270115C00270000,1,10,2024-01-02,\n"
        "AAPL270115C00280000,1,10,2024-01-02,abc\n"
        "AAPL270115C00290000,1,10,2024-01-02,25\n"
    )
    assert [a.implied_vol for a in report.accepted] == [0.25, 0.3, None]
    assert rejections(report) == {
        5: [("implied_vol", "invalid_number")],
        6: [("implied_vol", "invalid_number")],
    }


def test_long_tags_and_strategy_are_cut_to_the_database_sizes():
    report = run(HEADER + f"AAPL,1,1,2024-01-02,{'t' * 70},{'s' * 130},\n")
    row = report.accepted[0]
    assert row.tags == ["t" * 60] and row.strategy == "s" * 120
    assert codes(row.warnings) == ["value_truncated", "value_truncated"]


def test_expired_options_are_accepted_with_a_warning():
    report = run(HEADER + "SPY250321C00570000,1,5,2024-12-02,,,\n")
    assert report.rejected == []
    assert codes(report.accepted[0].warnings) == ["option_expired"]


def test_rows_without_market_data_are_kept_and_flagged():
    report = run(
        HEADER
        + "AAPL,1,1,2024-01-02,,,\nZZZZ,1,1,2024-01-02,,,\nZZZZ270115C00010000,1,1,2024-01-02,,,\n",
        known={"AAPL"},
    )
    assert [(a.symbol, a.has_market_data) for a in report.accepted] == [
        ("AAPL", True),
        ("ZZZZ", False),
        ("ZZZZ270115C00010000", False),
    ]
    (note,) = [w for w in report.warnings if w["code"] == "no_market_data"]
    assert "ZZZZ" in note["message"] and note["message"].count("ZZZZ") == 1
    assert run(HEADER + "BRK.B,1,1,2024-01-02,,,\n").accepted[0].has_market_data  # stored as BRK-B


def test_to_dict_has_exactly_the_section_5_shape():
    report = run(
        HEADER + "AAPL,100,185.25,2024-03-15,core,,\n"
        "AAPL270115C00250000,-2,12.5,2024-03-15,,,\nMSFT,0,1,2024-01-02,,,\n"
    )
    body = report.to_dict()
    json.dumps(body)  # serialisable as is
    assert set(body) == {
        "detected_format",
        "file_error",
        "accepted",
        "rejected",
        "skipped_lines",
        "warnings",
        "portfolio_id",
    }
    assert body["detected_format"] == "canonical" and body["file_error"] is None
    assert body["portfolio_id"] is None and body["skipped_lines"] == [1]
    assert body["accepted"][0] == {
        "line": 2,
        "symbol": "AAPL",
        "asset_type": "stock",
        "position_type": "LONG",
        "quantity": 100.0,
        "entry_price": 185.25,
        "entry_date": "2024-03-15",
        "tags": ["core"],
        "underlying": None,
        "expiry": None,
        "option_type": None,
        "strike": None,
        "has_market_data": True,
        "warnings": [],
    }
    option = body["accepted"][1]
    assert (option["underlying"], option["expiry"], option["option_type"], option["strike"]) == (
        "AAPL",
        "2027-01-15",
        "call",
        250.0,
    )
    assert isinstance(option["quantity"], float) and option["position_type"] == "SC"
    assert body["rejected"] == [
        {
            "line": 4,
            "errors": [
                {
                    "field": "quantity",
                    "code": "zero_quantity",
                    "message": "The quantity is zero; only open positions can be imported.",
                    "value": "0",
                }
            ],
            "duplicate_of_line": None,
        }
    ]
    assert isinstance(report, ImportReport) and isinstance(report.rejected[0], RejectedRow)
    assert report.rejected[0].to_dict() == body["rejected"][0]
