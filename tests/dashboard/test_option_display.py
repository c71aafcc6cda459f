"""Options readable everywhere: names and types in words, terms visible, model prices marked,
Greeks with units and summed per underlying (issue 17, point 3)."""

from __future__ import annotations

import datetime as dt
import html as htmllib
import re

import pytest

from webapp.analytics.options import option_greeks, realized_vol
from webapp.extensions import db
from webapp.formatting import money, number, pct
from webapp.models import Portfolio
from webapp.services import overview as overview_svc
from webapp.services import positions as positions_svc
from webapp.services import queries
from webapp.services import stress_tests as stress_svc
from webapp.services.batch import run_portfolio_batch
from webapp.services.positions import GREEK_KEYS

HF = "demo_hedgefundstyle@sigmasight.com"
CODES = ("realized_60d", ">LC<", ">LP<", ">SC<", ">SP<")


def visible(page: str) -> str:
    """The text a reader sees: no tags, attributes or scripts, entities decoded."""
    page = re.sub(r"<(script|style)\b.*?</\1>", " ", page, flags=re.S)
    page = re.sub(r"<[^>]+>", " ", page)
    return re.sub(r"\s+", " ", htmllib.unescape(page))


def _option(underlying, expiry, strike, contracts, right, **extra):
    kind = ("L" if contracts > 0 else "S") + right
    osi = f"{underlying}{expiry:%y%m%d}{right}{int(strike * 1000):08d}"
    return dict(
        symbol=osi,
        position_type=kind,
        quantity=float(contracts),
        entry_price=5.0,
        underlying_symbol=underlying,
        strike_price=strike,
        expiration_date=expiry,
        multiplier=100.0,
        **extra,
    )


@pytest.fixture()
def book(client, auth, factory):
    """1,250.5 AAPL shares, a long call (realized vol), a short put at an implied vol, an
    expired call; batch run, advisor logged in."""
    user = factory.user()
    as_of = queries.latest_price_date()
    portfolio = factory.portfolio(
        user,
        positions=[
            dict(symbol="AAPL", quantity=1250.5, entry_price=150.0),
            _option("AAPL", dt.date(2026, 9, 18), 200.0, 3, "C"),
            _option("AAPL", dt.date(2026, 10, 16), 322.5, -2, "P", implied_vol=0.3),
            _option("AAPL", as_of - dt.timedelta(days=10), 180.0, 1, "C"),
        ],
        cash=500_000.0,
    )
    run_portfolio_batch(portfolio.id)
    auth.login(user.email)
    return portfolio.id, as_of


@pytest.fixture()
def hf_client(client, hf_book):
    client.post("/login", data={"email": HF, "password": "demo12345"})
    return client


def _rows(portfolio_id: int) -> dict[str, dict]:
    view = positions_svc.positions_view(db.session.get(Portfolio, portfolio_id))
    return {r["symbol"]: r for r in view.rows}


def test_positions_page_names_options_in_words_and_shows_their_terms(ctx, client, book):
    portfolio_id, as_of = book
    page = client.get(f"/portfolios/{portfolio_id}?per_page=25").get_data(as_text=True)
    text = visible(page)
    for name in ("AAPL Sep 18 '26 200 Call", "AAPL Oct 16 '26 322.5 Put"):
        assert name in text
    assert "Long call" in text and "Short put" in text and "Long" in text
    assert "1,250.5" in text  # the exact quantity, not 1,250 or 1,251
    call_days = (dt.date(2026, 9, 18) - as_of).days
    assert f"({call_days} days left)" in text
    assert "(expired)" in text and "-10 days" not in text
    assert "realized 60-day volatility of AAPL" in text
    assert "implied volatility entered with the position" in text and "vol 30.0%" in text
    spot = float(queries.load_prices(["AAPL"], as_of, as_of)["AAPL"].iloc[-1])
    assert f"AAPL {money(spot, 2)}" in text and "Strike $322.50" in text
    assert text.count(" model ") >= 3  # each option's price is marked as a model value
    for code in CODES:
        assert code not in page
    assert "AAPL260918C00200000" not in text  # the OSI symbol is only a tooltip


def test_row_greeks_are_black_scholes_times_contracts_in_stated_units(ctx, client, book):
    """Independent recomputation: mibian per share × contracts × 100, $ delta per 1% move."""
    portfolio_id, as_of = book
    rows = _rows(portfolio_id)
    rate = overview_svc.overview(db.session.get(Portfolio, portfolio_id)).data["risk_free_rate_pct"]
    history = queries.load_prices(["AAPL"], as_of - dt.timedelta(days=200), as_of)["AAPL"]
    spot = float(history.dropna().iloc[-1])
    call = rows["AAPL260918C00200000"]
    vol = realized_vol(history)
    days = (dt.date(2026, 9, 18) - as_of).days
    per_share = option_greeks(spot, 200.0, rate, vol, days, call=True)
    assert call["vol"] == pytest.approx(vol) and call["days_to_expiry"] == days
    assert call["delta_shares"] == pytest.approx(per_share.delta * 300)
    assert call["delta_dollars_per_pct"] == pytest.approx(per_share.delta * 300 * spot * 0.01)
    assert call["gamma_per_dollar"] == pytest.approx(per_share.gamma * 300)
    assert call["theta_per_day"] == pytest.approx(per_share.theta * 300)
    assert call["vega_per_vol_point"] == pytest.approx(per_share.vega * 300)
    put = rows["AAPL261016P00322500"]
    put_share = option_greeks(
        spot, 322.5, rate, 0.3, (dt.date(2026, 10, 16) - as_of).days, call=False
    )
    assert put["vol_source"] == "implied"
    assert put["theta_per_day"] == pytest.approx(put_share.theta * -200)  # short: signed
    assert put["display_name"] == "AAPL Oct 16 '26 322.5 Put" and put["type_label"] == "Short put"
    assert rows["AAPL"]["price_basis"] == "close" and put["price_basis"] == "model"

    page = visible(client.get(f"/portfolios/{portfolio_id}").get_data(as_text=True))
    assert f"Θ {money(call['theta_per_day'])}/day" in page
    assert f"vega {money(call['vega_per_vol_point'])} per vol point" in page
    assert f"Δ {number(call['delta_shares'], 1)} share-equiv." in page
    assert f"({money(call['delta_dollars_per_pct'])} per 1% move of AAPL)" in page


def test_position_detail_shows_terms_model_price_greeks_with_units_and_book_totals(
    ctx, client, book
):
    portfolio_id, as_of = book
    rows = _rows(portfolio_id)
    put = rows["AAPL261016P00322500"]
    page = client.get(f"/portfolios/{portfolio_id}/positions/{put['id']}").get_data(as_text=True)
    text = visible(page)
    assert "AAPL Oct 16 '26 322.5 Put" in text and "Short put" in text
    assert f"Model price (Black–Scholes) {money(put['price'], 2)} per share" in text
    assert f"Days left {(dt.date(2026, 10, 16) - as_of).days} days" in text
    assert "Volatility used 30.0%" in text
    assert "Volatility source implied volatility entered with the position" in text
    assert f"AAPL price {money(put['underlying_price'], 2)}" in text
    assert "Position AAPL Oct 16 '26 322.5 Put" in text  # the page's title names the contract
    assert "Position AAPL261016P00322500" not in text
    greeks = visible(page.split('id="greeks-table"')[1].split("</table>")[0])
    for greek, unit in (
        ("delta", "shares of AAPL (share-equivalents)"),
        ("delta_dollars", "$ per 1% move of AAPL"),
        ("gamma", "share-equivalents per $1 move"),
        ("theta", "$ per calendar day"),
        ("vega", "$ per vol point (1%)"),
    ):
        assert unit in greeks, greek
    assert money(put["theta_per_day"]) in text and money(put["vega_per_vol_point"]) in text
    # All options on AAPL: the sums of the three option rows, and the shares held beside them.
    options = [r for r in rows.values() if r["position_type"] != "LONG"]
    section = visible(page.split('id="underlying-greeks"')[1])
    shown = {
        "delta_shares": lambda v: number(v, 1),
        "delta_dollars_per_pct": money,
        "gamma_per_dollar": lambda v: number(v, 2),
        "theta_per_day": money,
        "vega_per_vol_point": money,
    }
    for key in GREEK_KEYS:
        assert shown[key](sum(r[key] for r in options)) in section, key
    assert "1,250.5" in section  # shares held directly
    expired = rows[next(s for s in rows if s.startswith("AAPL") and s.endswith("C00180000"))]
    detail = visible(
        client.get(f"/portfolios/{portfolio_id}/positions/{expired['id']}").get_data(as_text=True)
    )
    assert "Days left expired" in detail


def test_book_totals_per_underlying_equal_the_sum_of_the_position_greeks(ctx, hf_client, hf_book):
    """Per underlying: the page's totals = Σ rows' Greeks = Σ the stored Greeks result's."""
    portfolio = db.session.get(Portfolio, hf_book)
    view = positions_svc.positions_view(portfolio)
    stored = overview_svc.greeks(portfolio).data["options"]
    groups = {g["underlying"]: g for g in view.greeks_by_underlying}
    underlyings = {r["underlying"] for r in view.rows if r["price_basis"] == "model"}
    assert set(groups) == underlyings and len(groups) == 10
    for u, g in groups.items():
        options = [r for r in view.rows if r["underlying"] == u and r["price_basis"] == "model"]
        assert g["options"] == len(options)
        for key in GREEK_KEYS:
            assert g[key] == pytest.approx(sum(r[key] for r in options)), (u, key)
        batch = [o for o in stored if o["underlying"] == u]
        assert g["delta_shares"] == pytest.approx(sum(o["position"]["delta"] for o in batch))
        assert g["theta_per_day"] == pytest.approx(sum(o["position"]["theta"] for o in batch))
        assert g["vega_per_vol_point"] == pytest.approx(sum(o["position"]["vega"] for o in batch))
        assert g["delta_dollars_per_pct"] == pytest.approx(
            sum(o["delta_dollars"] for o in batch) / 100
        )
        shares = sum(r["quantity"] for r in view.rows if r["symbol"] == u)
        assert g["net_delta_shares"] == pytest.approx(g["delta_shares"] + shares)
    page = hf_client.get(f"/portfolios/{hf_book}/overview").get_data(as_text=True)
    section = page.split('id="option-greeks"')[1].split("</section>")[0]
    for u, g in groups.items():
        row = section.split(f'data-underlying="{u}"')[1].split("</tr>")[0]
        assert money(g["theta_per_day"]) in row and number(g["delta_shares"], 1) in row
        assert money(g["vega_per_vol_point"]) in row and money(g["delta_dollars_per_pct"]) in row


def test_overview_table_shows_option_names_words_and_no_codes(ctx, hf_client, hf_book):
    html = hf_client.get(
        f"/portfolios/{hf_book}/overview?type=SC",
        headers={"HX-Request": "true", "HX-Target": "positions-table"},
    ).get_data(as_text=True)
    text = visible(html)
    portfolio = db.session.get(Portfolio, hf_book)
    short_calls = [p for p in portfolio.positions if p.position_type == "SC" and p.is_open]
    assert short_calls
    for p in short_calls:
        e = p.expiration_date
        name = f"{p.underlying_symbol} {e:%b} {e.day} '{e:%y} {p.strike_price:g} Call"
        assert name in text
        assert p.symbol not in text
    assert html.count('<span class="badge badge-sc">Short call</span>') == len(short_calls)
    assert '<option value="SC" selected>Short call</option>' in html  # the filter in words
    for code in CODES:
        assert code not in html


def test_stress_detail_names_options_and_days_in_words(ctx, hf_client, hf_book):
    detail = hf_client.get(
        f"/portfolios/{hf_book}/stress?scenario=covid_crash",
        headers={"HX-Request": "true", "HX-Target": "scenario-detail"},
    ).get_data(as_text=True)
    text = visible(detail)
    portfolio = db.session.get(Portfolio, hf_book)
    covid = next(
        s
        for s in stress_svc.stress_test(portfolio, positions=True).data["scenarios"]
        if s["scenario_id"] == "covid_crash"
    )
    options = [p for p in covid["positions"] if "strike" in p]
    assert options
    by_id = {p.id: p for p in portfolio.positions}
    for o in options:
        assert o["symbol"] not in text  # OSI only as a tooltip
        pos = by_id[o["position_id"]]
        e = pos.expiration_date
        assert f"{pos.underlying_symbol} {e:%b} {e.day} '{e:%y} {pos.strike_price:g}" in text
    assert "Short put" in text or "Long put" in text
    for code in CODES:
        assert code not in detail


def test_vol_shown_is_the_valuation_vol(ctx, client, book):
    portfolio_id, _ = book
    call = _rows(portfolio_id)["AAPL260918C00200000"]
    text = visible(client.get(f"/portfolios/{portfolio_id}").get_data(as_text=True))
    assert f"vol {pct(call['vol'])} (realized 60-day volatility of AAPL)" in text


def test_json_twin_carries_the_words_and_greeks(ctx, client, book):
    portfolio_id, _ = book
    hx = client.get(
        f"/portfolios/{portfolio_id}/overview?per_page=25",
        headers={"HX-Request": "true", "HX-Target": "positions-table"},
    ).get_data(as_text=True)
    page = positions_svc.positions_page(db.session.get(Portfolio, portfolio_id), per_page=25)
    data = page.to_dict()
    assert [g["underlying"] for g in data["greeks_by_underlying"]] == ["AAPL"]
    for r in data["positions"]:
        assert r["display_name"] in visible(hx)
        assert r["type_label"] in visible(hx)
