"""File-level outcomes: refused uploads, size and row limits, speed, and the package's purity."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from tests.imports.helpers_import import run

HEADER = "ticker,quantity,entry_price,entry_date\n"
PACKAGE = Path(__file__).resolve().parents[2] / "webapp" / "imports"


def _error(report) -> str:
    assert report.accepted == [] and report.rejected == []
    return report.file_error["code"]


@pytest.mark.parametrize(
    "data", [b"", b"\n\n\r\n", b"   ", b"\xef\xbb\xbf", b",,,\n,,,\n", b'"",""\n']
)
def test_empty_files(data):
    assert _error(run(data)) == "empty_file"


@pytest.mark.parametrize(
    "data",
    [
        b"ticker,quantity\nAAPL\x00,1\n",
        b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR",
        b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n",
        b"PK\x03\x04\x14\x00\x06\x00",  # .xlsx is a ZIP
        b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1\x00\x00",  # legacy .xls (OLE)
    ],
)
def test_binary_files_are_invalid(data):
    report = run(data)
    assert _error(report) == "invalid_file"
    assert report.file_error["message"]


def test_xlsx_message_says_save_as_csv():
    assert "CSV" in run(b"PK\x03\x04rest").file_error["message"]


def test_non_utf8_is_not_invalid():
    report = run((HEADER + "AAPL,1,1,2024-01-02\n").encode("cp1252") + b"\xff\n")
    assert report.file_error is None


@pytest.mark.parametrize(
    "text",
    [
        '"Activity Date","Process Date","Settle Date","Instrument","Description","Trans Code",'
        '"Quantity","Price","Amount"\n'
        '"11/18/2026","11/18/2026","11/19/2026","AAPL","Apple","Buy","10","$228.02","($2,280.20)"\n',
        '"Transactions  for account XXXX-1234 as of 09/26/2021 22:00:26 ET"\n'
        '"Date","Action","Symbol","Description","Quantity","Price","Fees & Comm","Amount"\n'
        '"09/24/2021","Buy","AAPL","APPLE INC","10","$146.92","","-$1,469.20"\n',
        "TransactionDate,TransactionType,SecurityType,Symbol,Quantity,Amount,Price,Commission,Description\n"
        "11/18/26,Bought,EQ,AAPL,10,-2280.2,228.02,0,APPLE INC\n",
        "Run Date,Action,Symbol,Description,Type,Quantity,Price ($),Amount ($),Settlement Date\n"
        "11/18/2026,YOU BOUGHT APPLE INC (AAPL),AAPL,APPLE INC,Cash,10,228.02,-2280.2,11/19/2026\n",
        "ticker,quantity,entry_price,entry_date,action\nAAPL,1,1,2024-01-02,buy\n",
    ],
)
def test_transaction_exports_are_unsupported(text):
    report = run(text)
    assert _error(report) == "unsupported_format"
    message = report.file_error["message"]
    assert "Positions" in message and "template" in message


def test_missing_required_columns_are_named_with_the_columns_found():
    report = run("ticker,quantity,price\nAAPL,1,1\n")
    assert _error(report) == "missing_required_column"
    assert report.detected_format == "canonical"
    assert "entry_date" in report.file_error["message"]
    assert report.file_error["columns"] == ["ticker", "quantity", "price"]


def test_no_header_at_all():
    report = run("AAPL,100,185.25,2024-03-15\nMSFT,1,1,2024-01-02\n")
    assert _error(report) == "missing_required_column"
    assert report.detected_format == "unknown"
    assert report.file_error["columns"] == ["AAPL", "100", "185.25", "2024-03-15"]


def test_broker_export_without_a_needed_column():
    report = run(
        '"Positions for account Individual ...123 as of 12:33 PM ET, 2025/05/04"\n\n'
        '"Symbol","Description","Qty (Quantity)","Price","Mkt Val (Market Value)","Security Type"\n'
        '"AAPL","APPLE INC","100","$205.35","$20,535.00","Equity"\n'
    )
    assert _error(report) == "missing_required_column"
    assert report.detected_format == "schwab_positions"
    assert "Cost Basis" in report.file_error["message"]


@pytest.mark.parametrize(
    "text",
    [
        HEADER,
        HEADER + "\n\n,,,\n",
        '"Positions for account X as of 12:33 PM ET, 2025/05/04"\n\n'
        '"Symbol","Quantity","Cost Basis","Security Type","Market Value"\n'
        '"Cash & Cash Investments","--","--","Cash and Money Market","$5.00"\n'
        '"Account Total","--","--","--","$5.00"\n',
    ],
)
def test_no_data_rows(text):
    report = run(text)
    assert _error(report) == "no_data_rows"


def test_file_too_large_gives_the_limit_in_mb():
    data = (HEADER + "AAPL,1,1,2024-01-02\n" * 200).encode()
    report = run(data, max_bytes=2 * 1024 * 1024)
    assert report.file_error is None
    report = run(data, max_bytes=1024)
    assert _error(report) == "file_too_large"
    report = run(b"x" * (6 * 1024 * 1024), max_bytes=5 * 1024 * 1024)
    assert "5 MB" in report.file_error["message"]


def test_too_many_rows_gives_the_limit():
    rows = "".join(f"AAPL,{i + 1},1,2024-01-02\n" for i in range(11))
    assert run(HEADER + rows, max_rows=11).file_error is None
    report = run(HEADER + rows, max_rows=10)
    assert _error(report) == "too_many_rows"
    assert "10" in report.file_error["message"]


def test_unbalanced_quote_is_reported():
    report = run(HEADER + 'AAPL,1,1,2024-01-02\n"MSFT,1,1,2024-01-02\nSPY,1,1,2024-01-02\n')
    assert any(w["code"] == "unbalanced_quote" for w in report.warnings)


def test_ten_thousand_rows_are_all_accepted():
    # The time this takes is measured in bench/imports.py, not asserted here.
    rows = "".join(
        f"SYM{i % 500},{i + 1},{100 + i % 97}.25,"
        f"2024-{1 + i % 12:02d}-{1 + i % 28:02d},core;tech,,note\n"
        for i in range(10_000)
    )
    report = run(HEADER.strip() + ",tags,strategy,notes\n" + rows)
    assert len(report.accepted) == 10_000 and report.rejected == []


def test_package_imports_neither_flask_nor_sqlalchemy():
    for path in PACKAGE.rglob("*.py"):
        tree = ast.parse(path.read_text(), filename=str(path))
        for node in ast.walk(tree):
            names = []
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom):
                names = [node.module or ""]
            for name in names:
                root = name.split(".")[0]
                assert root not in {"flask", "sqlalchemy", "flask_sqlalchemy", "pandas"}, (
                    f"{path}: {name}"
                )


def test_a_stray_quote_inside_a_cell_is_not_reported():
    report = run('ticker,quantity,entry_price,entry_date,notes\nAAPL,1,1,2024-01-02,12" screen\n')
    assert report.rejected == [] and report.warnings == []


def test_ambiguous_columns_are_reported():
    report = run("ticker,quantity,price,avg cost,entry_date\nAAPL,1,230,150,2024-01-02\n")
    assert (
        report.accepted[0].entry_price == 230.0
    )  # "price" outranks "avg cost" in §3's alias order
    assert [w["code"] for w in report.warnings] == ["ambiguous_column"]
