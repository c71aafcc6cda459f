"""Stress tests: hypothetical factor scenarios (correlated) and historical replays.

This module runs a whole scenario library on one book (``run_all_scenarios``); the topics live
in their own modules:

* ``scenarios``: the library in ``scenarios.json`` (data, not code), its loader and validator,
  and ``ScenarioResult``, the outcome every kind of scenario gives.
* ``factor_shocks``: **factor scenarios** shock one or more factors by a stated decimal move.
  Factors that are not shocked move by their conditional expectation given the shocks under the
  factor covariance (``correlated_shocks``), and each underlying moves by
  ``r_i = sum_f beta_if m_f``.
* ``replay``: **historical replays** apply each underlying's actual return over a past episode,
  ``P_end / P_start - 1`` between adjusted closes (``episode_returns``).
* ``revaluation``: each position revalued for its underlying's move (``position_pnl``).

Factor scenarios are instantaneous shocks to today's book: no time passes and nothing is
rebalanced. Stocks move one-for-one with the move floored at -100%. Options are fully revalued
by Black-Scholes at the moved underlying, with implied vol moved by the scenario's vol rule
(``scenarios.scenario_vol_shock``: its ``vol_shock``, else ``+VOL_PER_MARKET_FALL`` x the
market's fall, else unchanged) and the same days to expiry; replays reprice at the underlying's
realized vol over the episode with the days reduced by the episode's length. Expired options
are worth their intrinsic value; a long option loses at most its value by construction.
Positions that cannot be modelled are returned in ``left_out`` with a reason, never as zero.

Units: moves and returns are decimals (``-0.10`` = -10%); P&L and values in dollars;
``pnl_pct`` is a decimal fraction of equity.

``CATEGORIES``, ``load_scenarios``, ``Scenario`` and ``ScenarioResult`` are re-exported from
``scenarios``: they are this module's API as callers have always imported it.
"""

from __future__ import annotations

from typing import Iterable, Mapping

import pandas as pd

from webapp.analytics.factor_shocks import FactorShocks
from webapp.analytics.replay import HistoricalReplays
from webapp.analytics.revaluation import Book
from webapp.analytics.scenarios import CATEGORIES, Scenario, ScenarioResult, load_scenarios
from webapp.analytics.shrinkage import NO_SHRINKAGE, MoveShrinkage

__all__ = ["CATEGORIES", "Scenario", "ScenarioResult", "load_scenarios", "run_all_scenarios"]


def run_all_scenarios(
    scenarios: Iterable[Scenario],
    positions: pd.DataFrame,
    betas: pd.DataFrame,
    factor_cov: pd.DataFrame,
    prices: pd.DataFrame | None,
    equity: float,
    *,
    shrinkage: MoveShrinkage = NO_SHRINKAGE,
    covariance: Mapping | None = None,
) -> list[ScenarioResult]:
    """Run every scenario (factor shocks and replays) on one book, in the given order.

    The book, the betas, the covariance and the closes are prepared once and shared by every
    scenario; each result equals the single-scenario function's
    (``factor_shocks.run_factor_scenario`` / ``replay.run_historical_replay``).

    Parameters
    ----------
    scenarios : iterable of Scenario
        E.g. ``load_scenarios()``.
    positions : DataFrame
        The book, as ``revaluation.position_pnl`` takes it.
    betas : DataFrame
        Underlying symbol x factor (dimensionless), for the factor scenarios.
    factor_cov : DataFrame
        Factor x factor daily covariance, for the factor scenarios.
    prices : DataFrame or None
        Wide adjusted closes ($) covering every replay's episode; None only when no scenario
        is a replay.
    equity : float
        Baseline equity ($); finite, may be <= 0 (then ``pnl_pct`` is None).
    shrinkage : MoveShrinkage, default no shrinkage
        Factor scenarios: how each raw factor move is pulled toward the market's move.
    covariance : mapping, optional
        How ``factor_cov`` was estimated (``shrinkage.ScenarioCovariance.to_dict``).

    Returns
    -------
    list of ScenarioResult
        One per scenario, in input order.

    Raises
    ------
    ValueError
        A replay without ``prices``, or any error of the single-scenario functions.
    """
    book = Book(positions)
    factor_shocks = FactorShocks(
        book, betas, factor_cov, shrinkage=shrinkage, covariance=covariance
    )
    replays = HistoricalReplays(book, prices)
    results = []
    for scenario in scenarios:
        if scenario.kind == "historical":
            if prices is None:
                raise ValueError(f"scenario {scenario.id!r} needs prices for the replay")
            results.append(replays.run(scenario, equity))
        else:
            results.append(factor_shocks.run(scenario, equity))
    return results
