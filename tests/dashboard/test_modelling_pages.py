"""Modelling pages: start a session, propose trades over HTMX (the work area re-rendered, the
proposed book's batch queued, the panel polling until the impacts show), refusals inline with
422, save, apply, discard and the trade list export with broker columns."""

from __future__ import annotations

import csv
import io
import re

import pytest
from sqlalchemy import select

from tests.factories import PortfolioFactory, PositionFactory
from webapp.extensions import db
from webapp.formatting import money, number, pct
from webapp.modelling import routes
from webapp.models import ModellingSession, Portfolio, Position, Transaction
from webapp.services import modelling
from webapp.services.batch import run_portfolio_batch
from webapp.services.impacts import Impacts, Line, impacts
from webapp.services.queueing import QueueUnavailable, get_queue
from webapp.services.runs import recent_runs
from webapp.services.trades import TRADE_COLUMNS

HX = {"HX-Request": "true"}
HOLDINGS = (("AAPL", 100, 150.0), ("MSFT", 20, 300.0), ("XOM", 50, 100.0))


@pytest.fixture(autouse=True)
def empty_queue(ctx):
    """No worker runs here: leave no queued batch behind for another module's worker."""
    yield
    get_queue().empty()


@pytest.fixture()
def account(factory, auth):
    """A logged-in advisor's account (three stocks and cash)."""
    user = factory.user()
    book = PortfolioFactory(owner=user, cash=50_000.0)
    for symbol, qty, price in HOLDINGS:
        PositionFactory(portfolio=book, symbol=symbol, quantity=qty, entry_price=price)
    db.session.commit()
    assert auth.login(user.email).status_code == 302
    return book


@pytest.fixture()
def queue_down(monkeypatch):
    """Redis unreachable for the modelling pages' enqueues."""

    def down(*args, **kwargs):
        raise QueueUnavailable()

    monkeypatch.setattr(routes, "enqueue_portfolio_batch", down)


def _start(client, account, name="Trim tech") -> int:
    resp = client.post("/modelling/new", data={"portfolio_id": str(account.id), "name": name})
    assert resp.status_code == 302, resp.get_data(as_text=True)[:500]
    match = re.fullmatch(r"/modelling/(\d+)", resp.headers["Location"])
    assert match, resp.headers["Location"]
    return int(match.group(1))


def _session(session_id: int) -> ModellingSession:
    db.session.expire_all()
    return db.session.get(ModellingSession, session_id)


def _add(client, session_id, headers=HX, **fields):
    return client.post(f"/modelling/{session_id}/trades", data=fields, headers=headers)


def test_the_list_offers_only_accounts_and_shows_the_sessions(client, account, factory):
    page = client.get("/modelling/").get_data(as_text=True)
    assert "No modelling sessions yet" in page
    assert f'<option value="{account.id}">{account.name}</option>' in page
    session_id = _start(client, account)
    page = client.get("/modelling/").get_data(as_text=True)
    row = re.search(rf'<tr data-session="{session_id}".*?</tr>', page, re.S).group(0)
    assert "Trim tech" in row and account.name in row and "open" in row
    # The proposed book is not an account to model on.
    proposal_id = _session(session_id).proposal_id
    assert f'<option value="{proposal_id}"' not in page


def test_start_on_someone_elses_account_is_404_and_junk_is_refused_inline(client, account):
    other = PortfolioFactory()
    db.session.commit()
    assert client.post("/modelling/new", data={"portfolio_id": str(other.id)}).status_code == 404
    resp = client.post("/modelling/new", data={"portfolio_id": "x"})
    assert resp.status_code == 422
    assert 'data-field="portfolio_id">Choose one of your accounts.' in resp.get_data(as_text=True)
    resp = client.post("/modelling/new", data={"portfolio_id": str(account.id), "name": "n" * 200})
    assert resp.status_code == 422 and 'data-field="name">At most 120' in resp.get_data(
        as_text=True
    )


def test_a_new_session_page_queues_the_proposed_books_batch(client, account):
    session_id = _start(client, account)
    session = _session(session_id)
    (run,) = recent_runs(session.proposal_id, limit=5)
    assert run.status == "queued" and run.job_id
    # The account, never calculated, is queued too (the current side of the impacts).
    assert recent_runs(account.id, limit=1)[0].status == "queued"
    page = client.get(f"/modelling/{session_id}").get_data(as_text=True)
    assert "No trades proposed yet" in page
    # The panel polls itself, showing the Recalculate progress card with its own polling off.
    panel = re.search(r'<section class="card" id="impact-panel".*?>', page, re.S).group(0)
    assert f'hx-get="/modelling/{session_id}/impacts"' in panel
    assert 'hx-trigger="load delay:1s"' in panel
    assert f'id="run-{run.id}"' in page and "<div hx-disable>" in page
    assert f'href="/portfolios/{session.proposal_id}/overview"' in page


def test_adding_a_trade_returns_the_work_area_then_the_impacts_after_the_batch(client, account):
    session_id = _start(client, account)
    resp = _add(client, session_id, kind="buy", symbol="NVDA", quantity="30")
    assert resp.status_code == 200 and "HX-Request" in resp.headers["Vary"]
    body = resp.get_data(as_text=True)
    assert body.lstrip().startswith('<div id="session-work">') and "<html" not in body
    row = re.search(r'<tr data-trade="\d+">.*?</tr>', body, re.S).group(0)
    close = modelling.last_close("NVDA")
    assert "Buy shares" in row and "NVDA" in row and money(close, 2) in row
    assert money(-30 * close, 2) in row  # the cash it moves
    assert f'hx-get="/modelling/{session_id}/impacts"' in body  # polling the queued batch

    # Calculated in the request (the page's "Calculate now"), the panel shows the impacts.
    resp = client.post(f"/modelling/{session_id}/calculate", data={"now": "1"}, headers=HX)
    assert resp.status_code == 200
    panel = resp.get_data(as_text=True)
    assert 'hx-trigger="load' not in panel  # done: no more polling
    session = _session(session_id)
    result = impacts(session)
    assert result.calculated and result.up_to_date
    assert f"Proposed figures as of {result.as_of}" in panel
    lines = {(g, line.key): line for g, ls in result.groups.items() for line in ls}
    equity = lines["exposures", "equity"]
    cells = re.search(r'<tr data-key="equity".*?</tr>', panel, re.S).group(0)
    assert money(equity.current) in cells and money(equity.proposed) in cells
    beta = lines["risk", "beta"]
    cells = re.search(r'<tr data-key="beta".*?</tr>', panel, re.S).group(0)
    assert number(beta.current) in cells and number(beta.proposed) in cells
    var = lines["risk", "var"]
    cells = re.search(r'<tr data-key="var".*?</tr>', panel, re.S).group(0)
    assert pct(var.current) in cells and pct(var.proposed) in cells
    for group in ("exposures", "risk", "factors", "contributions", "sectors", "stress"):
        assert f'id="impact-{group}"' in panel
    assert 'data-key="market_down_10"' in panel
    assert "<strong>Beta " in panel and routes.headline(result) in panel.replace("&#39;", "'")
    # The full page shows the same panel, and the polled fragment too.
    assert 'id="stale-notice"' not in client.get(f"/modelling/{session_id}").get_data(as_text=True)
    fragment = client.get(f"/modelling/{session_id}/impacts").get_data(as_text=True)
    assert 'id="impact-stress"' in fragment


def test_a_refused_trade_comes_back_inline_with_422_and_changes_nothing(client, account):
    session_id = _start(client, account)
    resp = _add(client, session_id, kind="sell", symbol="MSFT", quantity="500", price="300")
    assert resp.status_code == 422
    body = resp.get_data(as_text=True)
    assert body.lstrip().startswith('<div id="session-work">')
    assert re.search(r'class="field-error" data-field="quantity">Trade 1 \(sell\):', body)
    assert 'value="500"' in body  # the form keeps what was typed
    assert _session(session_id).trades == []
    # Without HTMX: the whole page, 422, the message by the field.
    resp = _add(client, session_id, headers={}, kind="buy", symbol="ZZZZZ", quantity="1", price="9")
    assert resp.status_code == 422 and "<html" in resp.get_data(as_text=True)
    assert 'data-field="symbol">Trade 1 (buy): No market data for ZZZZZ' in resp.get_data(
        as_text=True
    )
    # And the detail page's own htmx config swaps a 422 in.
    page = client.get(f"/modelling/{session_id}").get_data(as_text=True)
    assert '{"code":"422","swap":true}' in page


def test_remove_a_trade_and_a_removal_a_later_trade_needs_is_refused(client, account, queue_down):
    session_id = _start(client, account)
    assert _add(client, session_id, kind="buy", symbol="NVDA", quantity="10").status_code == 200
    assert _add(client, session_id, kind="sell", symbol="NVDA", quantity="10").status_code == 200
    buy, sell = (t.id for t in _session(session_id).trades)
    resp = client.post(f"/modelling/{session_id}/trades/{buy}/remove", headers=HX)
    assert resp.status_code == 422
    assert "Trade 1 (sell)" in resp.get_data(as_text=True)  # said in the work area
    assert len(_session(session_id).trades) == 2
    resp = client.post(f"/modelling/{session_id}/trades/{sell}/remove", headers=HX)
    assert resp.status_code == 200
    assert f'data-trade="{sell}"' not in resp.get_data(as_text=True)
    assert [t.id for t in _session(session_id).trades] == [buy]
    assert client.post(f"/modelling/{session_id}/trades/{sell}/remove").status_code == 404


def test_with_the_queue_down_the_panel_says_so_and_offers_calculate_now(
    client, account, queue_down
):
    session_id = _start(client, account)
    resp = _add(client, session_id, kind="short", symbol="SPY", quantity="20")
    body = resp.get_data(as_text=True)
    assert resp.status_code == 200 and QueueUnavailable.message in body.replace("&#39;", "'")
    assert 'id="calculate-now"' in body and 'name="now" value="1"' in body
    resp = client.post(f"/modelling/{session_id}/calculate", headers=HX)
    assert 'id="calculate-now"' in resp.get_data(as_text=True)
    resp = client.post(f"/modelling/{session_id}/calculate", data={"now": "1"}, headers=HX)
    assert 'id="impact-risk"' in resp.get_data(as_text=True)
    # A later change leaves the figures stale, said on the panel.
    _add(client, session_id, kind="deposit", amount="1000")
    page = client.get(f"/modelling/{session_id}").get_data(as_text=True)
    assert 'id="stale-notice"' in page and 'data-up-to-date="false"' in page


def test_calculate_now_is_refused_for_a_book_too_large_to_wait_for(
    client, account, queue_down, monkeypatch
):
    session_id = _start(client, account)
    monkeypatch.setattr(routes, "MAX_SYNC_POSITIONS", 2)
    resp = client.post(f"/modelling/{session_id}/calculate", data={"now": "1"}, headers=HX)
    assert "too many to calculate while you wait" in resp.get_data(as_text=True)
    assert recent_runs(_session(session_id).proposal_id, limit=1) == []


def test_save_as_a_new_account(client, account, queue_down):
    session_id = _start(client, account)
    _add(client, session_id, kind="buy", symbol="NVDA", quantity="10")
    resp = client.post(f"/modelling/{session_id}/save", data={"name": ""})
    assert resp.status_code == 422 and 'data-field="name">' in resp.get_data(as_text=True)
    resp = client.post(f"/modelling/{session_id}/save", data={"name": account.name})
    assert resp.status_code == 422 and "already have a portfolio" in resp.get_data(as_text=True)
    resp = client.post(f"/modelling/{session_id}/save", data={"name": "With NVDA"})
    assert resp.status_code == 302
    saved_id = int(resp.headers["Location"].rstrip("/").split("/")[-1])
    saved = db.session.get(Portfolio, saved_id)
    assert saved.name == "With NVDA" and saved.kind == "account"
    assert "NVDA" in {p.symbol for p in saved.positions if p.is_open}
    assert _session(session_id).status == "saved"
    page = client.get(f"/modelling/{session_id}").get_data(as_text=True)
    assert 'id="closed-notice"' in page and 'id="trade-form"' not in page


def test_apply_asks_then_books_the_trades_on_the_account(client, account, queue_down):
    session_id = _start(client, account)
    _add(client, session_id, kind="buy", symbol="NVDA", quantity="10")
    page = client.get(f"/modelling/{session_id}/apply").get_data(as_text=True)
    assert "Yes, book the trades" in page and "NVDA" in page
    before = db.session.scalar(
        select(db.func.count())
        .select_from(Transaction)
        .where(Transaction.portfolio_id == account.id)
    )
    resp = client.post(f"/modelling/{session_id}/apply", follow_redirects=True)
    assert resp.request.path == f"/portfolios/{account.id}/transactions"
    assert "Booked 1 ledger row on" in resp.get_data(as_text=True)
    db.session.expire_all()
    after = db.session.scalar(
        select(db.func.count())
        .select_from(Transaction)
        .where(Transaction.portfolio_id == account.id)
    )
    assert after == before + 1
    nvda = db.session.scalars(
        select(Position).where(Position.portfolio_id == account.id, Position.symbol == "NVDA")
    ).all()
    assert [p.quantity for p in nvda] == [10.0]
    # The session is closed: a change is refused where it was asked (422), not a redirect.
    resp = _add(client, session_id, kind="buy", symbol="AAPL", quantity="1")
    assert resp.status_code == 422 and "This session was applied" in resp.get_data(as_text=True)
    resp = client.post(f"/modelling/{session_id}/apply")
    assert resp.status_code == 422 and "This session was applied" in resp.get_data(as_text=True)


def test_refresh_rebuilds_from_the_account(client, account, queue_down):
    session_id = _start(client, account)
    _add(client, session_id, kind="buy", symbol="NVDA", quantity="10")
    resp = client.post(f"/modelling/{session_id}/refresh", follow_redirects=True)
    assert "Rebuilt the proposal" in resp.get_data(as_text=True)
    assert len(_session(session_id).trades) == 1


def test_discard_asks_then_deletes_the_session_and_its_book(client, account, queue_down):
    session_id = _start(client, account)
    proposal_id = _session(session_id).proposal_id
    assert "Yes, discard" in client.get(f"/modelling/{session_id}/delete").get_data(as_text=True)
    resp = client.post(f"/modelling/{session_id}/delete")
    assert resp.status_code == 302 and resp.headers["Location"] == "/modelling/"
    db.session.expire_all()
    assert db.session.get(ModellingSession, session_id) is None
    assert db.session.get(Portfolio, proposal_id) is None
    assert db.session.get(Portfolio, account.id) is not None
    assert client.get(f"/modelling/{session_id}").status_code == 404


def test_the_trade_list_exports_with_broker_columns(client, account, queue_down):
    session_id = _start(client, account)
    _add(client, session_id, kind="buy", symbol="NVDA", quantity="10")
    _add(client, session_id, kind="sell", symbol="AAPL", quantity="40", price="200")
    _add(client, session_id, kind="short", symbol="SPY", quantity="5")
    _add(client, session_id, kind="deposit", amount="1000")
    expiry = "2026-12-18"
    resp = _add(
        client,
        session_id,
        kind="option_open",
        position_type="LP",
        underlying_symbol="SPY",
        strike_price="500",
        expiration_date=expiry,
        quantity="2",
        price="12.5",
    )
    assert resp.status_code == 200, re.findall(r"field-error[^<]*<", resp.get_data(as_text=True))
    resp = client.get(f"/modelling/{session_id}/trades.csv")
    assert resp.status_code == 302  # the API's file: one rendering for both
    resp = client.get(f"/modelling/{session_id}/trades.csv", follow_redirects=True)
    assert resp.mimetype == "text/csv" and "attachment" in resp.headers["Content-Disposition"]
    rows = list(csv.reader(io.StringIO(resp.get_data(as_text=True))))
    assert tuple(rows[0]) == TRADE_COLUMNS
    nvda = modelling.last_close("NVDA")
    spy = modelling.last_close("SPY")
    assert [r[:4] for r in rows[1:]] == [
        ["BUY", "NVDA", "10", "MARKET"],
        ["SELL", "AAPL", "40", "MARKET"],
        ["SELL_SHORT", "SPY", "5", "MARKET"],
        ["BUY_TO_OPEN", "SPY261218P00500000", "2", "MARKET"],
    ]  # the deposit is not an order
    assert float(rows[1][5]) == pytest.approx(10 * nvda, abs=0.01)
    assert float(rows[3][5]) == pytest.approx(5 * spy, abs=0.01)
    assert float(rows[4][4]) == 12.5 and float(rows[4][5]) == pytest.approx(2 * 12.5 * 100)
    body = client.get(f"/modelling/{session_id}/trades.json", follow_redirects=True).get_json()
    assert body["columns"] == list(TRADE_COLUMNS) and body["count"] == 4
    assert body["trades"][1] == {
        "Action": "SELL",
        "Symbol": "AAPL",
        "Quantity": 40.0,
        "Order Type": "MARKET",
        "Est. Price": 200.0,
        "Est. Value": 8000.0,
    }
    # The page's trade list names the option in words.
    page = client.get(f"/modelling/{session_id}").get_data(as_text=True)
    assert "SPY Dec 18 &#39;26 500 Put" in page or "SPY Dec 18 '26 500 Put" in page


def test_another_advisors_session_is_404_on_every_page(client, account, factory, auth):
    session_id = _start(client, account)
    trade = modelling.add_trade(
        _session(session_id), {"kind": "buy", "symbol": "NVDA", "quantity": 1}
    )
    auth.logout()
    assert auth.login(factory.user().email).status_code == 302
    for method, url in (
        ("GET", f"/modelling/{session_id}"),
        ("GET", f"/modelling/{session_id}/impacts"),
        ("GET", f"/modelling/{session_id}/trades.csv"),
        ("GET", f"/modelling/{session_id}/apply"),
        ("POST", f"/modelling/{session_id}/trades"),
        ("POST", f"/modelling/{session_id}/trades/{trade.id}/remove"),
        ("POST", f"/modelling/{session_id}/calculate"),
        ("POST", f"/modelling/{session_id}/save"),
        ("POST", f"/modelling/{session_id}/delete"),
    ):
        resp = client.open(url, method=method, data={"name": "x", "kind": "buy"})
        assert resp.status_code == 404, (method, url)
    assert "Trim tech" not in client.get("/modelling/").get_data(as_text=True)


def _line(key, current, proposed, unit="number", label=None):
    return Line(key, label or key, unit, current, proposed)


def test_the_headline_reads_the_main_changes():
    result = Impacts(
        session_id=1,
        calculated=True,
        up_to_date=True,
        as_of="2026-08-03",
        groups={
            "risk": [
                _line("beta", 1.2134, 0.9512),
                _line("var", 0.021, 0.017, "fraction"),
            ],
            "stress": [
                _line("market_down_10", -20_500.0, -16_000.0, "$"),
                _line("market_down_20", -41_234.0, -33_912.0, "$"),
            ],
        },
    )
    assert routes.headline(result) == (
        "Beta falls from 1.21 to 0.95; 1-day VaR falls from 2.1% to 1.7% of equity; "
        "the worst scenario loss shrinks from \u2212$41,200 to \u2212$33,900."
    )
    same = Impacts(1, True, True, None, {"risk": [_line("beta", 1.0, 1.001)]})
    assert routes.headline(same) == "Beta stays at 1.00."
    assert routes.headline(Impacts(1, False, False, None, {})) is None


def test_suggest_adds_the_sized_trade_and_refuses_junk_inline(client, account, queue_down):
    session_id = _start(client, account)
    session = _session(session_id)
    for book_id in (session.portfolio_id, session.proposal_id):
        run_portfolio_batch(book_id)
    page = client.get(f"/modelling/{session_id}").get_data(as_text=True)
    assert 'id="suggest-form"' in page and 'value="market_down_10"' in page
    resp = client.post(
        f"/modelling/{session_id}/suggest",
        data={"target": "weight", "value": "10", "symbol": "AAPL"},
        headers=HX,
    )
    assert resp.status_code == 200
    trade = _session(session_id).trades[-1]
    assert (trade.kind, trade.fields["symbol"]) == ("sell", "AAPL")
    # $15,000 of AAPL in ~$71,000 of equity to 10%: about 53 shares.
    assert 0 < trade.fields["quantity"] < 100
    junk = client.post(
        f"/modelling/{session_id}/suggest", data={"target": "beta", "value": "lots"}, headers=HX
    )
    assert junk.status_code == 422 and "Give the target as a number" in junk.get_data(as_text=True)
    assert len(_session(session_id).trades) == 1
