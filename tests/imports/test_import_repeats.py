"""A file repeats its cells; each line still gets its own outcome, errors and warnings.

Validation checks a distinct ticker, date, tag list or strategy once per file and reuses the
outcome (webapp/imports/rows.py): these tests pin that reuse changes nothing a line reports.
"""

from __future__ import annotations

from tests.imports.helpers_import import codes, rejections, run

HEADER = "ticker,quantity,entry_price,entry_date,tags,strategy\n"
LONG_TAG = "t" * 70


def test_a_repeated_bad_line_is_rejected_on_every_line_with_its_own_errors():
    report = run(HEADER + "NOT A TICKER,1,2,2024-13-01,,\n" * 3)
    expected = [("ticker", "invalid_symbol"), ("entry_date", "invalid_date")]
    assert rejections(report) == {2: expected, 3: expected, 4: expected}
    first, second, third = (row.errors for row in report.rejected)
    assert first == second == third
    assert all(a is not b for a, b in zip(first, second, strict=True))
    first[0]["message"] = "changed"  # one line's report is not another's
    assert second[0]["message"] != "changed"


def test_repeated_cells_give_every_accepted_row_its_own_values_and_warnings():
    strategy = "=SUM(A1)" + "s" * 130
    lines = "".join(f"AAPL,{q},2,2024-01-02,core;{LONG_TAG},{strategy}\n" for q in (1, 2, 3))
    report = run(HEADER + lines)
    assert [row.line for row in report.accepted] == [2, 3, 4] and report.rejected == []
    for row in report.accepted:
        assert row.tags == ["core", "t" * 60]
        assert row.strategy == ("'" + strategy)[:120]  # neutralised, then cut
        assert codes(row.warnings) == ["value_truncated", "value_truncated"]
    a, b, _ = report.accepted
    assert a.tags is not b.tags and a.warnings[0] is not b.warnings[0]
    a.tags.append("mine")
    assert b.tags == ["core", "t" * 60]


def test_the_same_date_cell_is_judged_on_every_line():
    report = run(HEADER + "AAPL,1,2,2099-01-02,,\nMSFT,1,2,2099-01-02,,\nSPY,1,2,2024-01-02,,\n")
    assert rejections(report) == {
        2: [("entry_date", "future_date")],
        3: [("entry_date", "future_date")],
    }
    assert [row.symbol for row in report.accepted] == ["SPY"]


def test_twenty_thousand_lines_keep_their_own_line_numbers_and_values():
    rows = "".join(
        f"{('AAPL', 'MSFT', 'SPY')[i % 3]},{i + 1},{10 + i % 7}.5,2024-01-{1 + i % 28:02d},"
        f"lot{i % 5},\n"
        for i in range(20_000)
    )
    report = run(HEADER + rows)
    assert report.rejected == [] and len(report.accepted) == 20_000
    assert [
        (row.line, row.symbol, row.quantity, row.entry_price, row.entry_date.day, row.tags)
        for row in report.accepted
    ] == [
        (
            i + 2,
            ("AAPL", "MSFT", "SPY")[i % 3],
            i + 1.0,
            10 + i % 7 + 0.5,
            1 + i % 28,
            [f"lot{i % 5}"],
        )
        for i in range(20_000)
    ]
