"""Factor-shock scenarios: the correlated factor moves and each position's P&L under them.

A scenario shocks one or more factors by a stated decimal move. The factors it does not shock
move by their conditional expectation given the shocks under the factor covariance
(``correlated_shocks``), each underlying's raw move is ``r_i = sum_f beta_if m_f``
(``underlying_moves``), shrunk toward the market's move when a ``shrinkage.MoveShrinkage`` is
given (the stress step passes Blume's), and each position is revalued
(``revaluation.position_pnl``): options by full Black-Scholes at the moved spot, with implied
vol moved by the scenario's vol rule (``scenarios.scenario_vol_shock``) and the same days to
expiry (the shock is instantaneous).

Units: moves are decimals (``-0.10`` = -10%); betas are dimensionless; the covariance is daily
(its scale cancels); P&L in dollars.
"""

from __future__ import annotations

from typing import Mapping

import numpy as np
import pandas as pd

from webapp.analytics._common import check_finite_equity, take_or_nan
from webapp.analytics.revaluation import REVALUATION_METHOD, Book
from webapp.analytics.scenarios import Scenario, ScenarioResult, scenario_vol_shock
from webapp.analytics.shrinkage import NO_SHRINKAGE, MoveShrinkage

#: Condition number of Sigma_ss above which the solve is treated as singular (least squares).
_SINGULAR_COND = 1e12


def correlated_shocks(shocks: Mapping[str, float], factor_cov: pd.DataFrame) -> pd.Series:
    """All factors' moves given the shocked ones: the conditional expectation.

    With the factors split into shocked ``s`` and unshocked ``u``, and ``Sigma`` the factor
    covariance (daily, any consistent unit: the ratio below is scale free),

        m_s = s                                   (as given)
        m_u = Sigma_us  Sigma_ss^{-1}  s          (E[u | s] for zero-mean jointly normal factors)

    ``Sigma_ss^{-1} s`` is computed with ``numpy.linalg.solve``. When ``Sigma_ss`` is singular or
    numerically so (condition number above 1e12, e.g. two shocked factors that are exact linear
    combinations, or a constant factor), ``numpy.linalg.lstsq`` gives the minimum-norm solution,
    i.e. the Moore-Penrose pseudo-inverse ``Sigma_ss^+ s``: only the part of the shock that the
    covariance can explain propagates to the other factors.

    Parameters
    ----------
    shocks : mapping factor -> float
        Decimal moves of the shocked factors (``-0.10`` = -10%).
    factor_cov : DataFrame
        Square factor x factor covariance with identical index and columns; no NaN.

    Returns
    -------
    Series
        Decimal move per factor, index = ``factor_cov.index`` (shocked ones equal ``shocks``).

    Raises
    ------
    ValueError
        No shocks, a shocked factor missing from ``factor_cov``, a non-finite shock, or a
        covariance that is not square/aligned or contains NaN.
    """
    if not shocks:
        raise ValueError("correlated_shocks needs at least one shocked factor")
    return FactorCov(factor_cov).moves(shocks)


class FactorCov:
    """A checked factor covariance as an array, reused by every scenario of a run.

    ``moves`` is ``correlated_shocks`` without re-checking the covariance and without pandas
    indexing per scenario; the sub-matrices are laid out as ``DataFrame.loc(...).to_numpy()``
    lays them out (column-major), so the BLAS products, and their rounding, are the same.
    """

    def __init__(self, factor_cov: pd.DataFrame) -> None:
        cov = factor_cov
        if list(cov.index) != list(cov.columns):
            raise ValueError("factor_cov must be square with the same factor order on both axes")
        if cov.isna().to_numpy().any():
            raise ValueError("factor_cov contains NaN")
        self.index = cov.index
        self.values = cov.to_numpy(dtype=float)
        self.position = {f: i for i, f in enumerate(cov.index)}

    def moves(self, shocks: Mapping[str, float]) -> pd.Series:
        """Decimal move per factor: the shocks, and Sigma_us Sigma_ss^-1 s for the others."""
        if not shocks:
            raise ValueError("correlated_shocks needs at least one shocked factor")
        missing = [f for f in shocks if f not in self.index]
        if missing:
            raise ValueError(f"shocked factor(s) not in factor_cov: {', '.join(missing)}")
        s_names = list(shocks)
        s = np.array([float(shocks[f]) for f in s_names])
        if not np.isfinite(s).all():
            raise ValueError("shocks must be finite")
        shocked = [self.position[f] for f in s_names]
        others = [i for i, f in enumerate(self.index) if f not in shocks]
        moves = np.zeros(len(self.index))
        moves[shocked] = s
        if others:
            sigma_ss = np.asfortranarray(self.values[np.ix_(shocked, shocked)])
            sigma_us = np.asfortranarray(self.values[np.ix_(others, shocked)])
            moves[others] = sigma_us @ _solve_psd(sigma_ss, s)
        return pd.Series(moves, index=self.index, name="move")


def _solve_psd(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """x = a^{-1} b by ``solve``; minimum-norm least squares (pseudo-inverse) if a is singular."""
    try:
        if np.linalg.cond(a) < _SINGULAR_COND:
            return np.linalg.solve(a, b)
    except np.linalg.LinAlgError:
        pass
    return np.linalg.lstsq(a, b, rcond=None)[0]


def underlying_moves(betas: pd.DataFrame, factor_moves: pd.Series) -> pd.Series:
    """Each underlying's move implied by its factor betas: r_i = sum_f beta_if * m_f.

    Parameters
    ----------
    betas : DataFrame
        Underlying symbol x factor name (dimensionless OLS slopes).
    factor_moves : Series
        Decimal move per factor (e.g. from ``correlated_shocks``).

    Returns
    -------
    Series
        Decimal move per underlying (index = ``betas.index``). A row with any NaN beta gives
        NaN (the position is left out as ``no_factor_betas``, never treated as zero).

    Raises
    ------
    ValueError
        ``betas`` has a factor column with no move in ``factor_moves`` (it would be ignored).
    """
    unknown = [f for f in betas.columns if f not in factor_moves.index]
    if unknown:
        raise ValueError(f"no move for beta factor(s): {', '.join(map(str, unknown))}")
    b = betas.astype(float)
    m = factor_moves.reindex(b.columns).astype(float)
    r = b.to_numpy() @ m.to_numpy() if len(b.columns) else np.zeros(len(b))
    out = pd.Series(r, index=b.index, name="move", dtype=float)
    out[b.isna().any(axis=1).to_numpy()] = np.nan
    return out


class BetaMap:
    """Factor betas prepared once for a book: r = B m per scenario, then a lookup per position.

    Gives the same numbers as ``underlying_moves`` followed by the per-position lookup of
    ``position_pnl`` (same matrix, same product), without building a Series per scenario.
    """

    def __init__(self, betas: pd.DataFrame, book: Book) -> None:
        self.columns = betas.columns
        b = betas.astype(float)
        self.matrix = b.to_numpy()
        self.nan_rows = b.isna().any(axis=1).to_numpy()
        labels = b.index
        # Row of B for each position's underlying; a label listed twice has no single row.
        single = ~labels.duplicated(keep=False)
        rows = np.flatnonzero(single)
        found = labels[single].get_indexer(book.underlyings)
        self.row_of = rows[found] if len(rows) else found
        self.row_of[found < 0] = -1
        self.underlyings = book.underlyings

    def position_moves(self, factor_moves: pd.Series) -> np.ndarray:
        """Each position's underlying move r_i = sum_f beta_if m_f (NaN without betas)."""
        unknown = [f for f in self.columns if f not in factor_moves.index]
        if unknown:
            raise ValueError(f"no move for beta factor(s): {', '.join(map(str, unknown))}")
        m = factor_moves.reindex(self.columns).astype(float)
        if len(self.columns):
            r = self.matrix @ m.to_numpy()
        else:
            r = np.zeros(len(self.matrix))
        r[self.nan_rows] = np.nan
        return take_or_nan(r, self.row_of)

    def explain(
        self, factor_moves: pd.Series, shrinkage: MoveShrinkage, market_move: float
    ) -> tuple[dict, ...]:
        """Per underlying of the book with betas: each factor's term, the raw move, the shrinkage.

        ``terms[f] = beta_if m_f``; ``raw_move = sum_f terms[f]``; ``move =
        shrinkage.apply(raw_move, market_move)``; ``shrinkage = move - raw_move`` (decimals).
        """
        m = factor_moves.reindex(self.columns).astype(float).to_numpy()
        names = [str(c) for c in self.columns]
        rows = []
        seen: set[str] = set()
        for underlying, row in zip(self.underlyings, self.row_of):
            if row < 0 or self.nan_rows[row] or underlying in seen:
                continue
            seen.add(underlying)
            terms = self.matrix[row] * m
            raw = float(terms.sum())
            move = float(shrinkage.apply(raw, market_move))
            rows.append(
                {
                    "underlying": str(underlying),
                    "terms": {f: float(t) for f, t in zip(names, terms)},
                    "raw_move": raw,
                    "shrinkage": move - raw,
                    "move": move,
                }
            )
        return tuple(rows)


def run_factor_scenario(
    scenario: Scenario,
    positions: pd.DataFrame,
    betas: pd.DataFrame,
    factor_cov: pd.DataFrame,
    equity: float,
    *,
    shrinkage: MoveShrinkage = NO_SHRINKAGE,
    covariance: Mapping | None = None,
) -> ScenarioResult:
    """Correlated P&L of a factor scenario.

    m = ``correlated_shocks(scenario.shocks, factor_cov)``; per underlying
    r_i = a m_Market + b sum_f beta_if m_f (``shrinkage``; a = 0, b = 1 by default); per
    position P&L by ``position_pnl`` (stocks MV * r; options fully
    revalued by Black-Scholes at S (1 + r), vol sigma + dsigma with dsigma from
    ``scenario_vol_shock(scenario, m_Market)``, and unchanged days to expiry); portfolio P&L =
    sum over modelled positions. ``direct_pnl`` repeats the calculation with only the shocked
    factors moving (the same vol change: it belongs to the scenario, not to a factor).

    Parameters
    ----------
    scenario : Scenario
        A factor scenario (``scenario.shocks`` set).
    positions : DataFrame
        See ``position_pnl``.
    betas : DataFrame
        Underlying symbol x factor (from the factor engine); missing symbols are left out as
        ``no_factor_betas``.
    factor_cov : DataFrame
        Factor x factor daily covariance over the factor window.
    equity : float
        Baseline equity ($) for ``pnl_pct`` and ``new_value``.
    shrinkage : MoveShrinkage, default no shrinkage
        How each underlying's raw factor move is pulled toward the market's move.
    covariance : mapping, optional
        How ``factor_cov`` was estimated (``ScenarioCovariance.to_dict``), reported as given.

    Returns
    -------
    ScenarioResult
    """
    shocks = FactorShocks(
        Book(positions), betas, factor_cov, shrinkage=shrinkage, covariance=covariance
    )
    return shocks.run(scenario, equity)


class FactorShocks:
    """Factor scenarios on one prepared book, sharing the prepared betas and covariance.

    ``BetaMap`` and ``FactorCov`` are built on first use and then reused by every scenario, so a
    run of many scenarios checks and lays out its inputs once (each result equals
    ``run_factor_scenario``'s). They are built lazily, not here, so that a run without factor
    scenarios never checks betas or a covariance it does not use.
    """

    def __init__(
        self,
        book: Book,
        betas: pd.DataFrame,
        factor_cov: pd.DataFrame,
        *,
        shrinkage: MoveShrinkage = NO_SHRINKAGE,
        covariance: Mapping | None = None,
    ) -> None:
        self.book = book
        self._betas, self._factor_cov = betas, factor_cov
        self.shrinkage = shrinkage
        self.covariance = dict(covariance or {"method": "given"})
        self._beta_map: BetaMap | None = None
        self._cov: FactorCov | None = None

    def beta_map(self) -> BetaMap:
        """The book's betas, prepared on first use."""
        if self._beta_map is None:
            self._beta_map = BetaMap(self._betas, self.book)
        return self._beta_map

    def cov(self) -> FactorCov:
        """The checked factor covariance, prepared on first use."""
        if self._cov is None:
            self._cov = FactorCov(self._factor_cov)
        return self._cov

    def run(self, scenario: Scenario, equity: float) -> ScenarioResult:
        """``run_factor_scenario`` for one scenario on the prepared book."""
        if scenario.shocks is None:
            raise ValueError(f"scenario {scenario.id!r} is a historical replay, not a factor shock")
        equity = check_finite_equity(equity)
        if not scenario.shocks:
            raise ValueError("correlated_shocks needs at least one shocked factor")
        book = self.book
        moves = self.cov().moves(scenario.shocks)
        betas = self.beta_map()
        market = float(moves.get("Market", 0.0))
        vol_shock, vol_rule = scenario_vol_shock(scenario, market if np.isfinite(market) else 0.0)
        shrink = self.shrinkage
        pnl, modelled, left_out = book.split(
            book.revalue(
                shrink.apply(betas.position_moves(moves), market),
                "no_factor_betas",
                vol_shock=vol_shock,
            )
        )

        direct = moves.copy()
        direct.loc[[f for f in direct.index if f not in scenario.shocks]] = 0.0
        direct_market = float(direct.get("Market", 0.0))
        direct_pnl = book.total(
            book.revalue(
                shrink.apply(betas.position_moves(direct), direct_market),
                "no_factor_betas",
                vol_shock=vol_shock,
            )
        )

        shocked = tuple(f for f in moves.index if f in scenario.shocks)
        implied = tuple(f for f in moves.index if f not in scenario.shocks)
        return ScenarioResult.for_scenario(
            scenario,
            kind="factor",
            impact_type="correlated",
            equity=equity,
            pnl=pnl,
            positions=modelled,
            left_out=left_out,
            direct_pnl=direct_pnl,
            factor_moves={str(f): float(v) for f, v in moves.items()},
            shocked_factors=shocked,
            implied_factors=implied,
            method=(
                "Shocked factors move as given; the others by their conditional expectation "
                "Sigma_us Sigma_ss^-1 s (factor covariance: "
                + _covariance_words(self.covariance)
                + "). Underlying move: raw r_i = sum_f beta_if m_f, then "
                + shrink.describe()
                + "; "
                + REVALUATION_METHOD
                + " Vol: "
                + vol_rule
                + "; horizon: instantaneous (days to expiry unchanged)."
            ),
            vol_shock=vol_shock,
            vol_rule=vol_rule,
            horizon_days=0,
            move_explained=betas.explain(moves, shrink, market),
            shrinkage=shrink.to_dict(),
            covariance=self.covariance,
        )


def _covariance_words(cov: Mapping) -> str:
    """The covariance estimate in words, from ``ScenarioCovariance.to_dict`` (or "given")."""
    method = cov.get("method")
    if method == "blend":
        return (
            f"{cov['blend']:.0%} from the {cov['stress_days']} stress days (market down "
            f"{cov['market_threshold']:.0%} or more) since {cov['history_start']}, "
            f"{1 - cov['blend']:.0%} from the last {cov['calm_days']} days"
        )
    if method == "calm":
        note = f"; {cov['note']}" if cov.get("note") else ""
        return f"the last {cov['calm_days']} days{note}"
    return "as given"
