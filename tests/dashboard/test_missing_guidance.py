"""A result that cannot be calculated says what would fix it, not "Recalculate" when that can't."""

from __future__ import annotations

import pytest

from webapp.services.batch import run_portfolio_batch


@pytest.mark.parametrize("page", ["risk", "factors", "stress"])
def test_non_positive_equity_points_at_the_cash(client, auth, factory, page):
    user = factory.user()
    portfolio = factory.portfolio(
        user, positions=[dict(symbol="AAPL", quantity=-100, entry_price=150.0)], cash=0.0
    )
    run_portfolio_batch(portfolio.id)
    auth.login(user.email)
    html = client.get(f"/portfolios/{portfolio.id}/{page}").get_data(as_text=True)
    assert 'data-reason="non_positive_equity"' in html
    assert "equity is -" in html  # the engine's message, with the amount
    assert f"/portfolios/{portfolio.id}/edit" in html and "Edit cash" in html
    assert "Recalculate</em> above" not in html


def test_no_results_still_offers_recalculate(client, auth, factory):
    user = factory.user()
    portfolio = factory.portfolio(user, positions=[dict(symbol="AAPL", quantity=10)])
    auth.login(user.email)
    html = client.get(f"/portfolios/{portfolio.id}/risk").get_data(as_text=True)
    assert 'data-reason="no_results"' in html and "Recalculate</em> above" in html
