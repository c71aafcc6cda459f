"""Tables say what their numbers are and behave as expected: the weight basis, VIF flags on the
factor rows, why the Market beta differs from beta vs SPY, exact quantities, A→Z first clicks
and factor pages in the URL (issue 17, points 4 and 7)."""

from __future__ import annotations

import copy
import datetime as dt
import html as htmllib
import re

import pandas as pd
import pytest

from webapp.analytics import factors as factors_engine
from webapp.extensions import db
from webapp.formatting import number
from webapp.models import Portfolio
from webapp.services import factor_exposures as factors_svc
from webapp.services import positions as positions_svc
from webapp.services import queries
from webapp.services import results as results_svc
from webapp.services.option_labels import VIF_COLLINEAR, VIF_ELEVATED

HF = "demo_hedgefundstyle@sigmasight.com"
HX_OVERVIEW = {"HX-Request": "true", "HX-Target": "positions-table"}


def visible(page: str) -> str:
    page = re.sub(r"<(script|style)\b.*?</\1>", " ", page, flags=re.S)
    page = re.sub(r"<[^>]+>", " ", page)
    return re.sub(r"\s+", " ", htmllib.unescape(page))


@pytest.fixture()
def hf_client(client, hf_book):
    client.post("/login", data={"email": HF, "password": "demo12345"})
    return client


def header_link(page: str, sort: str) -> str:
    """The href of the column header that sorts by ``sort``."""
    for href in re.findall(r'<th[^>]*><a href="([^"]+)"', page):
        href = htmllib.unescape(href)
        if f"sort={sort}&" in href or href.endswith(f"sort={sort}"):
            return href
    raise AssertionError(f"no header link sorts by {sort}")


def symbols(page: str) -> list[str]:
    return re.findall(r'<tr data-symbol="([^"]+)"', page)


@pytest.mark.parametrize("table", ["overview", "positions"])
def test_text_columns_sort_a_to_z_on_the_first_click(hf_client, hf_book, table):
    base = f"/portfolios/{hf_book}" + ("/overview" if table == "overview" else "")
    headers = HX_OVERVIEW if table == "overview" else {}
    first = hf_client.get(base, headers=headers).get_data(as_text=True)  # sorted by weight
    href = header_link(first, "symbol")
    assert "dir=asc" in href
    by_symbol = hf_client.get(href, headers=headers).get_data(as_text=True)
    shown = symbols(by_symbol)
    assert shown == sorted(shown) and len(shown) >= 5
    assert "dir=desc" in header_link(by_symbol, "symbol")  # the second click reverses
    assert "dir=asc" in header_link(first, "name")
    assert "dir=desc" in header_link(first, "market_value")  # numbers: largest first


def test_weight_is_the_share_of_gross_exposure_and_says_so(ctx, hf_client, hf_book):
    portfolio = db.session.get(Portfolio, hf_book)
    view = positions_svc.positions_view(portfolio)
    gross = view.totals["gross_exposure"]
    for r in view.rows:
        assert r["weight"] == pytest.approx(r["market_value"] / gross)
    assert sum(abs(r["weight"]) for r in view.rows) == pytest.approx(1.0)
    for url in (f"/portfolios/{hf_book}", f"/portfolios/{hf_book}/overview"):
        page = hf_client.get(url).get_data(as_text=True)
        assert 'title="Share of gross exposure: market value ÷ (|long| + |short|)' in page
        note = visible(page.split('id="weight-basis"')[1].split("</p>")[0])
        assert "share of gross exposure" in note and "(|long| + |short|)" in note
        assert "shorts negative" in note


def test_fractional_quantities_are_shown_exactly(ctx, client, auth, factory):
    user = factory.user()
    portfolio = factory.portfolio(
        user,
        positions=[
            dict(symbol="AAPL", quantity=1250.5, entry_price=150.0),
            dict(symbol="MSFT", quantity=12.125, entry_price=300.0),
            dict(symbol="SPY", quantity=300.0, entry_price=400.0),
        ],
    )
    auth.login(user.email)
    for url in (f"/portfolios/{portfolio.id}", f"/portfolios/{portfolio.id}/overview"):
        cells = re.findall(r'<td class="num">([^<]*)</td>', client.get(url).get_data(as_text=True))
        assert {"1,250.5", "12.125", "300"} <= set(cells), url
        assert "1,250" not in cells and "300.0" not in cells


def _collinear_factor_returns(as_of: dt.date) -> pd.DataFrame:
    """The v1 factor definitions (raw spreads VTV − SPY and VUG − SPY): known to be collinear."""
    etfs = ["SPY", "VTV", "VUG", "MTUM", "QUAL", "IWM", "USMV", "TLT"]
    prices = queries.load_prices(etfs, as_of - dt.timedelta(days=420), as_of)
    r = prices[etfs].pct_change().dropna().iloc[-252:]
    spread = {
        name: r[etf] - r["SPY"]
        for name, etf in (
            ("Value", "VTV"),
            ("Growth", "VUG"),
            ("Momentum", "MTUM"),
            ("Quality", "QUAL"),
            ("Size", "IWM"),
            ("Low Volatility", "USMV"),
        )
    }
    return pd.DataFrame({"Market": r["SPY"], **spread, "Rates": r["TLT"]})


def test_collinear_factors_are_flagged_on_their_rows(ctx, client, auth, factory, hf_book):
    """A stored factor result whose VIFs come from collinear factor definitions."""
    fit = factors_svc.factor_exposures(db.session.get(Portfolio, hf_book))
    vif = factors_engine.vif(_collinear_factor_returns(fit.as_of))
    assert max(vif.values()) > VIF_COLLINEAR  # the case this test is about
    user = factory.user()
    portfolio = factory.portfolio(user)
    payload = {**copy.deepcopy(fit.data), "vif": vif}
    results_svc.store_result(
        portfolio.id, "factor_exposures", payload, as_of=fit.as_of, params=factors_svc.PARAMS
    )
    db.session.commit()
    auth.login(user.email)
    page = client.get(f"/portfolios/{portfolio.id}/factors").get_data(as_text=True)
    table = page.split('id="factor-table"')[1].split("</table>")[0]
    for name, value in vif.items():
        row = re.search(rf'<tr data-factor="{name}"[^>]*>.*?</tr>', table, flags=re.S).group(0)
        if value > VIF_COLLINEAR:
            assert 'class="vif-collinear"' in row
            assert f"VIF {value:,.0f} — collinear" in visible(row), name
        elif value > VIF_ELEVATED:
            assert 'class="vif-elevated"' in row and "elevated" in visible(row)
        else:
            assert "vif-" not in row and "VIF " not in visible(row), name


def test_the_demo_book_has_no_false_vif_flags(ctx, hf_client, hf_book):
    fit = factors_svc.factor_exposures(db.session.get(Portfolio, hf_book))
    page = hf_client.get(f"/portfolios/{hf_book}/factors").get_data(as_text=True)
    flagged = re.findall(r'<tr data-factor="([^"]+)" class="vif-', page)
    assert flagged == [n for n, v in fit.data["vif"].items() if v > VIF_ELEVATED]


def test_market_beta_is_reconciled_with_beta_vs_spy(ctx, hf_client, hf_book):
    portfolio = db.session.get(Portfolio, hf_book)
    fit = factors_svc.factor_exposures(portfolio)
    market = next(f["beta"] for f in fit.data["factors"] if f["name"] == "Market")
    risk90 = results_svc.stored(portfolio, "risk_metrics", {"lookback_days": 90}).data
    risk252 = results_svc.stored(portfolio, "risk_metrics", {"lookback_days": 252}).data
    page = hf_client.get(f"/portfolios/{hf_book}/factors").get_data(as_text=True)
    note = visible(page.split('id="market-beta-note"')[1].split("</p>")[0])
    assert f"Why Market {number(market, 3)} is not the Risk page's beta" in note
    assert f"({number(risk90['portfolio_beta'], 2)} vs SPY)" in note
    assert "regression on all 8 factors at once" in note and "SPY alone" in note
    assert f"over its 90-day look-back ({risk90['start']} → {risk90['end']})" in note
    model = fit.data["model"]
    assert f"{model['window']} trading days ({model['start']} → {model['end']})" in note
    assert f"one-regressor beta is {number(risk252['portfolio_beta'], 2)}" in note


def test_factor_pages_are_in_the_url(ctx, hf_client, hf_book):
    portfolio = db.session.get(Portfolio, hf_book)
    base = f"/portfolios/{hf_book}/factors"
    first = hf_client.get(base).get_data(as_text=True)
    link = re.search(r'<a href="([^"]+)"([^>]*)id="factor-next"', first)
    href = htmllib.unescape(link.group(1))
    assert "page=2" in href and 'hx-push-url="true"' in link.group(2)
    second = factors_svc.position_factor_exposures(portfolio, limit=10, offset=10)
    expected = [p["symbol"] for p in second.data["positions"]]
    direct = hf_client.get(href).get_data(as_text=True)  # the pushed URL loaded directly
    assert "<html" in direct
    rows = direct.split('id="position-betas"')[1].split("</table>")[0]
    titles = re.findall(r'<td class="sym"(?: title="([^"]*)")?>([^<]*)</td>', rows)
    assert [t or name for t, name in titles] == expected
    assert f"11–{10 + len(expected)} of {second.metadata['total']}" in visible(direct)
    back = re.search(r'<a href="([^"]+)"([^>]*)id="factor-prev"', direct)
    assert "page=1" in htmllib.unescape(back.group(1)) and 'hx-push-url="true"' in back.group(2)
    partial = hf_client.get(href, headers={"HX-Request": "true"}).get_data(as_text=True)
    assert "<html" not in partial and 'id="factor-positions"' in partial
