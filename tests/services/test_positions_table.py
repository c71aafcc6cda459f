"""The positions table: built column by column once per book version (equal to the per-row
build it replaced), paginated and sorted on the server, rebuilt after every change."""

from __future__ import annotations

import datetime as dt
import math
import threading
import time

import pytest

from tests.factories import OptionPositionFactory
from webapp.analytics.constants import OPTION_TYPES
from webapp.extensions import db
from webapp.services import management, option_labels, positions, queries, valuation
from webapp.services.jsonable import jsonable

AS_OF = dt.date(2026, 8, 3)


def _mixed_book(factory, cash: float = 50_000.0):
    """Longs, a short, long and short options, a stale symbol (UNH) and an unknown one."""
    user = factory.user()
    book = factory.portfolio(
        user,
        positions=[
            dict(symbol="AAPL", quantity=10, entry_price=150.0, strategy="Core"),
            dict(symbol="MSFT", quantity=10, entry_price=300.0, strategy="Core"),
            dict(symbol="XOM", quantity=10, entry_price=90.0),
            dict(symbol="TSLA", quantity=-5, entry_price=300.0, strategy="Hedges"),
            dict(symbol="UNH", quantity=3, entry_price=500.0),  # history ends 2023-10-27
            dict(symbol="NOSUCH", quantity=7, entry_price=10.0),  # no prices at all
        ],
        cash=cash,
    )
    OptionPositionFactory(portfolio=book, quantity=2, strategy="Hedges")
    OptionPositionFactory(portfolio=book, right="P", quantity=-3, strike_price=180.0)
    db.session.refresh(book)
    by_symbol = {p.symbol: p for p in book.positions}
    management.set_position_tags(by_symbol["AAPL"], "growth, tech")
    management.set_position_tags(by_symbol["TSLA"], "tech")
    return user, book


def _per_row_view(portfolio) -> positions.PositionsView:
    """The table as it was built before: one dict per row from ``to_dict('index')``."""
    holdings = queries.open_positions(portfolio.id)
    valuation_ = valuation.value_positions(holdings, portfolio.cash)
    view = positions.PositionsView(portfolio_id=portfolio.id, as_of=valuation_.as_of)
    valued = valuation_.valued
    info = queries.security_info(valued["underlying"].unique())
    by_id = {p.id: p for p in holdings}
    gross = float(valued["market_value"].abs().sum(skipna=True))
    for pid, rec in valued.to_dict("index").items():
        row = {k: jsonable(rec.get(k)) for k in positions.ROW_FIELDS}
        security = info.get(rec["underlying"])
        row["id"] = int(pid)
        row["name"] = security.name if security else None
        row["sector"] = security.sector if security else None
        row["strategy"] = by_id[pid].strategy
        row["tags"] = [t.name for t in by_id[pid].tags]
        mv = row["market_value"]
        row["weight"] = (mv / gross) if (mv is not None and gross) else None
        _per_row_option_fields(row, rec)
        row["price_date"] = jsonable(rec.get("price_date"))
        view.rows.append(row)
        if rec["status"] != "ok":
            view.left_out.append(
                {
                    "id": int(pid),
                    "symbol": rec["symbol"],
                    "reason": rec["status"],
                    "detail": jsonable(rec.get("reason_detail")),
                }
            )
    view.totals = valuation_.summary.to_dict()
    return view


def _per_row_option_fields(row: dict, rec: dict) -> None:
    """The words and Greeks added after the table went columnar, one row at a time."""
    option = rec["position_type"] in OPTION_TYPES
    for k in positions.OPTION_VALUE_FIELDS:
        row[k] = jsonable(rec.get(k))
    days = row["days_to_expiry"]
    row["days_to_expiry"] = int(days) if option and days is not None else None
    row["display_name"] = option_labels.position_name(row)
    row["type_label"] = option_labels.type_words(rec["position_type"])
    row["vol_source_label"] = (
        option_labels.vol_source_words(rec["vol_source"], rec["underlying"]) if option else None
    )
    row["price_basis"] = "model" if option else "close"
    scale = float(rec["quantity"]) * float(rec["multiplier"] or 1.0)
    delta = rec["delta"] * scale
    row["delta_shares"] = jsonable(delta)
    row["delta_dollars_per_pct"] = jsonable(delta * rec["underlying_price"] * 0.01)
    row["gamma_per_dollar"] = jsonable(rec["gamma"] * scale)
    row["theta_per_day"] = jsonable(rec["theta"] * scale)
    row["vega_per_vol_point"] = jsonable(rec["vega"] * scale)


def _per_row_page(rows, sort, direction, per_page, page):
    """The old page: Python filter, sorted() with missing values last, then the slice."""
    reverse = direction != "asc"
    present = [r for r in rows if r.get(sort) is not None]
    absent = [r for r in rows if r.get(sort) is None]
    key = (lambda r: abs(r[sort])) if sort == "weight" else (lambda r: r[sort])
    ordered = sorted(present, key=key, reverse=reverse) + absent
    pages = max(1, math.ceil(len(ordered) / per_page))
    page = min(max(1, page), pages)
    return ordered[(page - 1) * per_page : page * per_page]


# --- vectorised rows ------------------------------------------------------------------------


def test_vectorised_rows_equal_the_per_row_calculation(factory):
    _, book = _mixed_book(factory)
    view = positions.positions_view(book)
    expected = _per_row_view(book)
    assert view.rows == expected.rows
    assert [list(r) for r in view.rows] == [list(r) for r in expected.rows]  # key order too
    assert view.left_out == expected.left_out
    assert view.totals == expected.totals
    assert view.as_of == expected.as_of == AS_OF
    statuses = {r["symbol"]: r["status"] for r in view.rows}
    assert statuses["AAPL"] == "ok" and statuses["UNH"] != "ok" and statuses["NOSUCH"] != "ok"
    assert {r["position_type"] for r in view.rows} == {"LONG", "SHORT", "LC", "SP"}
    by_symbol = {r["symbol"]: r for r in view.rows}
    assert by_symbol["AAPL"]["tags"] == ["growth", "tech"] and by_symbol["XOM"]["tags"] == []
    assert by_symbol["NOSUCH"]["weight"] is None and by_symbol["NOSUCH"]["name"] is None
    assert sum(abs(r["weight"] or 0.0) for r in view.rows) == pytest.approx(1.0, rel=1e-12)


def test_strategy_subtotals_are_those_of_the_rows(factory):
    _, book = _mixed_book(factory)
    view = positions.positions_view(book)
    core = next(g for g in view.strategies if g["strategy"] == "Core")
    rows = [r for r in view.rows if r["strategy"] == "Core"]
    assert core["positions"] == 2
    assert core["market_value"] == sum(r["market_value"] for r in rows)
    assert {g["strategy"] for g in view.strategies} == {"Core", "Hedges", "Unassigned"}


@pytest.mark.parametrize("sort", positions.SORTABLE)
@pytest.mark.parametrize("direction", ["asc", "desc"])
def test_every_sort_pages_like_the_per_row_sort(factory, sort, direction):
    _, book = _mixed_book(factory)
    rows = _per_row_view(book).rows
    for page in (1, 2, 3, 4):
        got = positions.positions_page(book, sort=sort, direction=direction, per_page=3, page=page)
        assert got.rows == _per_row_page(rows, sort, direction, 3, page), (sort, page)


# --- pagination -----------------------------------------------------------------------------


@pytest.fixture()
def tied_book(factory):
    """23 stocks, the quantities tied in threes, and one without prices: ties and gaps."""
    user = factory.user()
    symbols = ["AAPL", "MSFT", "XOM", "KO", "JPM", "NVDA", "AMZN", "GOOGL"]
    specs = [
        dict(symbol=symbols[i % len(symbols)], quantity=float(1 + i // 3), entry_price=10.0)
        for i in range(23)
    ]
    return factory.portfolio(user, positions=[*specs, dict(symbol="NOSUCH", quantity=99)])


def test_pages_split_the_sorted_rows_without_gaps_or_repeats(tied_book):
    first = positions.positions_page(tied_book, sort="quantity", direction="desc", per_page=5)
    assert (first.total_rows, first.pages, first.position_count) == (24, 5, 24)
    pages = [
        positions.positions_page(tied_book, sort="quantity", direction="desc", per_page=5, page=n)
        for n in range(1, 6)
    ]
    assert [len(p.rows) for p in pages] == [5, 5, 5, 5, 4]
    assert [p.first_row for p in pages] == [1, 6, 11, 16, 21]
    ids = [r["id"] for p in pages for r in p.rows]
    assert sorted(ids) == sorted(r["id"] for r in positions.positions_view(tied_book).rows)
    quantities = [r["quantity"] for p in pages for r in p.rows]
    assert quantities == sorted(quantities, reverse=True)


def test_ties_keep_position_order_on_every_page_and_every_request(tied_book):
    ordered = [
        r
        for n in range(1, 9)
        for r in positions.positions_page(
            tied_book, sort="quantity", direction="asc", per_page=3, page=n
        ).rows
    ]
    for a, b in zip(ordered, ordered[1:]):
        if a["quantity"] == b["quantity"]:
            assert a["id"] < b["id"]
    again = positions.positions_page(
        tied_book, sort="quantity", direction="asc", per_page=3, page=4
    )
    assert again.rows == ordered[9:12]


def test_missing_values_come_last_in_both_directions(tied_book):
    for direction in ("asc", "desc"):
        last = positions.positions_page(
            tied_book, sort="market_value", direction=direction, per_page=5, page=5
        )
        assert last.rows[-1]["symbol"] == "NOSUCH" and last.rows[-1]["market_value"] is None


def test_a_page_past_the_end_shows_the_last_page(tied_book):
    past = positions.positions_page(tied_book, per_page=10, page=99)
    last = positions.positions_page(tied_book, per_page=10, page=3)
    assert (past.page, past.pages, past.first_row) == (3, 3, 21)
    assert past.rows == last.rows and len(past.rows) == 4


def test_filters_count_and_page_only_their_rows(factory):
    _, book = _mixed_book(factory)
    tech = positions.positions_page(book, tag="tech", sort="symbol", direction="asc")
    assert [r["symbol"] for r in tech.rows] == ["AAPL", "TSLA"] and tech.total_rows == 2
    core = positions.positions_page(book, strategy="Core", per_page=1, page=2)
    assert core.total_rows == 2 and core.pages == 2 and core.rows[0]["strategy"] == "Core"
    shorts = positions.positions_page(book, position_type="SHORT")
    assert [r["symbol"] for r in shorts.rows] == ["TSLA"]
    none = positions.positions_page(book, tag="no-such-tag")
    assert (none.rows, none.total_rows, none.page, none.pages) == ([], 0, 1, 1)
    assert tech.choices == {
        "position_type": ["LC", "LONG", "SHORT", "SP"],
        "tag": ["growth", "tech"],
        "strategy": ["Core", "Hedges"],
    }


def test_an_empty_book_has_one_empty_page(factory):
    book = factory.portfolio(factory.user(), cash=123.0)
    page = positions.positions_page(book, page=5)
    assert (page.rows, page.total_rows, page.page, page.pages) == ([], 0, 1, 1)
    assert page.totals == {"cash": 123.0, "equity": 123.0, "position_count": 0}


def test_handed_out_rows_are_copies(factory):
    _, book = _mixed_book(factory)
    page = positions.positions_page(book, sort="symbol", direction="asc")
    page.rows[0]["market_value"] = -1.0
    page.rows[0]["tags"].append("mutated")
    page.totals["equity"] = 0.0
    again = positions.positions_page(book, sort="symbol", direction="asc")
    assert again.rows[0]["market_value"] != -1.0 and "mutated" not in again.rows[0]["tags"]
    assert again.totals["equity"] != 0.0


# --- the table's cache ----------------------------------------------------------------------


@pytest.fixture()
def builds(monkeypatch):
    """How many times the positions table was built."""
    count = []
    real = positions._build_table
    monkeypatch.setattr(positions, "_build_table", lambda p: count.append(1) or real(p))
    return count


def test_the_table_is_built_once_per_book_version(factory, builds):
    _, book = _mixed_book(factory)
    first = positions.positions_view(book)
    positions.positions_page(book, sort="symbol", page=2, per_page=2)
    positions.position_detail(book, first.rows[0]["id"])
    assert positions.positions_view(book).rows == first.rows
    assert len(builds) == 1


def test_a_position_edit_rebuilds_the_table(factory, builds):
    _, book = _mixed_book(factory)
    before = {r["symbol"]: r for r in positions.positions_view(book).rows}
    aapl = next(p for p in book.positions if p.symbol == "AAPL")
    management.update_position(aapl, {"quantity": 20}, partial=True)
    db.session.commit()
    after = {r["symbol"]: r for r in positions.positions_view(book).rows}
    assert after["AAPL"]["market_value"] == pytest.approx(2 * before["AAPL"]["market_value"])
    assert len(builds) == 2
    assert after == {r["symbol"]: r for r in _per_row_view(book).rows}


def test_a_tag_change_and_a_close_rebuild_the_table(factory, builds):
    _, book = _mixed_book(factory)
    positions.positions_view(book)
    xom = next(p for p in book.positions if p.symbol == "XOM")
    management.set_position_tags(xom, "energy")
    rows = {r["symbol"]: r for r in positions.positions_view(book).rows}
    assert rows["XOM"]["tags"] == ["energy"] and len(builds) == 2
    management.close_position(xom, {"exit_date": "2026-08-03", "exit_price": "100"})
    db.session.commit()
    assert "XOM" not in {r["symbol"] for r in positions.positions_view(book).rows}
    assert len(builds) == 3


def test_new_prices_rebuild_the_table(factory, builds, new_bar):
    _, book = _mixed_book(factory)
    stale = {r["symbol"]: r for r in positions.positions_view(book).rows}["UNH"]
    assert stale["status"] != "ok" and stale["market_value"] is None
    new_bar("UNH", AS_OF, 512.5)
    fresh = {r["symbol"]: r for r in positions.positions_view(book).rows}["UNH"]
    assert fresh["status"] == "ok" and fresh["market_value"] == pytest.approx(3 * 512.5)
    assert len(builds) == 2


def test_the_book_key_follows_every_input(factory):
    _, book = _mixed_book(factory)
    key = valuation.book_key(book)
    assert key == valuation.book_key(book)
    assert key[3] == queries.latest_price_date() and key[5] == queries.price_version()
    assert key[4] == queries.risk_free_on(key[3])
    book.cash += 1.0
    db.session.commit()
    assert valuation.book_key(book) != key


def test_one_calculation_for_many_threads_asking_at_once():
    calls = []

    def slow():
        calls.append(1)
        time.sleep(0.05)
        return object()

    key = ("test_one_calculation", time.monotonic())
    out = []
    threads = [
        threading.Thread(target=lambda: out.append(valuation.memo(key, slow))) for _ in range(8)
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(calls) == 1 and len({id(o) for o in out}) == 1 and len(out) == 8
    assert key not in valuation._COMPUTING


def test_a_failed_calculation_is_not_remembered():
    key = ("test_failed_calculation", time.monotonic())

    def boom():
        raise RuntimeError("no")

    with pytest.raises(RuntimeError):
        valuation.memo(key, boom)
    assert valuation.memo(key, lambda: 42) == 42
    assert key not in valuation._COMPUTING
