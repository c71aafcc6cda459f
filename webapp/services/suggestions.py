"""Trade suggestions for a modelling session: the trade that moves its proposed book to a target.

The figures are the proposed book's stored results (the same the impact panel compares), so a
suggestion is sized on the book as the session now proposes it; it is returned, not booked —
``modelling.add_trade(session, suggestion.trade_fields())`` adds it, and the next calculation
shows its real effect beside the linear estimate. Closed forms in ``analytics.suggestions``.
"""

from __future__ import annotations

import datetime as dt

import pandas as pd

from webapp.analytics import suggestions as engine
from webapp.analytics.constants import BENCHMARK_SYMBOL
from webapp.analytics.options import black_scholes_price, realized_vol
from webapp.models import ModellingSession
from webapp.services import queries
from webapp.services.impacts import WINDOW
from webapp.services.ledger import ValidationError
from webapp.services.modelling import last_close
from webapp.services.overview import overview
from webapp.services.risk_metrics import risk_metrics
from webapp.services.stress_tests import stress_test, with_detail

#: An index put hedge: strike 5% below the index, about three months to expiry.
PUT_MONEYNESS = 0.95
PUT_DAYS = 91
HEDGES = ("index", "put")


def _stock_shares(session: ModellingSession, symbol: str) -> float:
    """Signed shares of ``symbol`` held in stock (not options) by the proposed book."""
    return float(
        sum(
            p.quantity
            for p in session.proposal.positions
            if p.is_open and p.symbol == symbol and p.position_type in ("LONG", "SHORT")
        )
    )


def _require(value, message: str, field: str = "target"):
    if value is None:
        raise ValidationError({field: message})
    return value


def _summary(session: ModellingSession) -> dict:
    view = overview(session.proposal)
    if not view.available:
        raise ValidationError({"target": "Calculate the proposal first: its book has no results."})
    return view.data


def suggest(
    session: ModellingSession,
    target: str,
    value: float,
    *,
    symbol: str | None = None,
    scenario_id: str | None = None,
    hedge: str = "index",
) -> engine.Suggestion | None:
    """The trade that moves the proposed book's ``target`` figure to ``value``.

    ``beta`` and ``net_exposure`` (a fraction of equity) are reached with the index
    (``BENCHMARK_SYMBOL``); ``weight`` trims or adds ``symbol`` to ``value`` x equity;
    ``scenario_loss`` hedges ``scenario_id``'s loss to ``value`` x equity (negative) with an
    index short (``hedge="index"``) or index puts (``"put"``). None when the target is met.
    """
    if target not in engine.TARGET_KINDS:
        raise ValidationError({"target": f"Choose one of: {', '.join(engine.TARGET_KINDS)}."})
    data = _summary(session)
    equity = _require(data["summary"].get("equity"), "The proposed book has no equity.")
    if not equity > 0:
        raise ValidationError({"target": "The proposed book's equity is not positive."})
    index_price = _require(last_close(BENCHMARK_SYMBOL), f"No price for {BENCHMARK_SYMBOL}.")
    held = _stock_shares(session, BENCHMARK_SYMBOL)
    if target == "beta":
        risk = risk_metrics(session.proposal, lookback_days=WINDOW)
        beta = _require(
            risk.data.get("portfolio_beta") if risk.available else None,
            "The proposed book has no beta yet: calculate it first.",
        )
        return engine.hedge_beta(
            beta=beta, target=value, equity=equity, index_price=index_price, index_held=held,
            index=BENCHMARK_SYMBOL,
        )  # fmt: skip
    if target == "net_exposure":
        return engine.hedge_net_exposure(
            net_exposure=data["summary"]["delta_net_exposure"], target=value, equity=equity,
            index_price=index_price, index_held=held, index=BENCHMARK_SYMBOL,
        )  # fmt: skip
    if target == "weight":
        name = _require((symbol or "").strip().upper() or None, "Name the holding.", "symbol")
        exposure = sum(
            p["exposure"] or 0.0 for p in data.get("positions", []) if p.get("underlying") == name
        )
        price = _require(last_close(name), f"No price for {name}.", "symbol")
        return engine.trim_weight(
            symbol=name, exposure=exposure, shares_held=_stock_shares(session, name),
            target=value, equity=equity, price=price,
        )  # fmt: skip
    if target == "var":
        return _var_hedge(session, value, equity, index_price, held)
    return _scenario_hedge(session, scenario_id, value, equity, index_price, hedge)


def _var_hedge(session, value, equity, index_price, held):
    """The index short for a 1-day 95% VaR target, on the backcast the Risk page shows (the
    proposed book's daily returns over the last year) and the index's returns on those days."""
    risk = risk_metrics(session.proposal, lookback_days=WINDOW)
    series = risk.data.get("series") if risk.available else None
    series = _require(series, "The proposed book has no risk figures yet: calculate it first.")
    dates = pd.to_datetime(series["dates"])
    closes = queries.load_prices([BENCHMARK_SYMBOL], dates[0] - dt.timedelta(days=10), dates[-1])
    index = closes[BENCHMARK_SYMBOL].pct_change().reindex(dates)
    book = pd.Series(series["returns"], index=dates, dtype=float)
    usable = index.notna() & book.notna()
    return engine.hedge_var(
        returns=book[usable].to_numpy(), index_returns=index[usable].to_numpy(), target=value,
        equity=equity, index_price=index_price, index_held=held, index=BENCHMARK_SYMBOL,
    )  # fmt: skip


def _index_move(session: ModellingSession, scenario: dict) -> float | None:
    """The index's move in the scenario: its Market shock (the index is the Market factor), or
    its modelled move when the scenario lists it."""
    moves = scenario.get("factor_moves") or {}
    if moves.get("Market") is not None:
        return float(moves["Market"])
    detail = with_detail(session.proposal, stress_test(session.proposal), scenario)
    row = next(
        (r for r in detail.get("move_explained", []) if r["underlying"] == BENCHMARK_SYMBOL), None
    )
    return row["move"] if row else None


def _scenario_hedge(session, scenario_id, value, equity, index_price, hedge):
    if hedge not in HEDGES:
        raise ValidationError({"hedge": f"Choose one of: {', '.join(HEDGES)}."})
    result = stress_test(session.proposal)
    scenario = next(
        (s for s in result.data.get("scenarios", []) if s["scenario_id"] == scenario_id), None
    ) if result.available else None  # fmt: skip
    scenario = _require(scenario, "Choose one of the stress scenarios.", "scenario_id")
    move = _index_move(session, scenario)
    if move is None or not move < 0:
        raise ValidationError(
            {"scenario_id": f"{scenario['name']} does not move {BENCHMARK_SYMBOL} down: an "
             "index hedge does not offset it."}
        )  # fmt: skip
    if hedge == "index":
        return engine.hedge_scenario(
            scenario=scenario["name"], loss=scenario["pnl"], target=value, equity=equity,
            hedge_pnl_per_unit=-move * index_price, symbol=BENCHMARK_SYMBOL, price=index_price,
            kind="short",
            description=f" {BENCHMARK_SYMBOL} shares short (the scenario moves it {move:+.1%})",
        )  # fmt: skip
    return _put_hedge(session, scenario, move, value, equity, index_price)


def _put_hedge(session, scenario, move, value, equity, index_price):
    """Index puts: each contract's scenario gain by Black-Scholes repricing at the moved index
    (vol held at today's realized vol: conservative, since vol rises in a fall)."""
    as_of = queries.latest_price_date()
    prices = queries.load_prices([BENCHMARK_SYMBOL], as_of - dt.timedelta(days=120), as_of)
    vol = realized_vol(prices[BENCHMARK_SYMBOL].dropna())
    rate = queries.risk_free_on(as_of) or 0.0
    strike = float(round(index_price * PUT_MONEYNESS))
    expiry = as_of + dt.timedelta(days=PUT_DAYS)
    premium = black_scholes_price(index_price, strike, rate / 100, vol, PUT_DAYS, call=False)
    moved = black_scholes_price(
        index_price * (1 + move), strike, rate / 100, vol, PUT_DAYS, call=False
    )
    return engine.hedge_scenario(
        scenario=scenario["name"], loss=scenario["pnl"], target=value, equity=equity,
        hedge_pnl_per_unit=100.0 * (moved - premium), symbol=BENCHMARK_SYMBOL,
        price=round(premium, 2), kind="option_open", position_type="LP",
        option={"underlying_symbol": BENCHMARK_SYMBOL, "strike_price": strike,
                "expiration_date": expiry.isoformat()},
        description=f" {BENCHMARK_SYMBOL} {strike:g} puts expiring {expiry} (premium "
        f"{premium:.2f}, worth {moved:.2f} after the {move:+.1%} move, vol {vol:.1%})",
    )  # fmt: skip


__all__ = ["HEDGES", "suggest"]
