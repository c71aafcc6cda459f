"""Historical VaR/ES by full revaluation: each past day's underlying returns applied to today's
book, options repriced by Black-Scholes.

The delta-only historical VaR (``risk.backcast_pnl``) treats an option as ``delta x 100 x qty x
S`` of stock, which is exact only for small moves: it misses the convexity that makes a long
option's loss bounded by its value and a short option's tail heavier than its delta says. Here
each historical day ``d`` of the look-back window is a scenario::

    stocks/ETFs   P&L_i,d = E_i * r_u(i),d                   E_i = delta-adjusted exposure ($)
    options       S_i,d   = S_i * (1 + r_u(i),d)              $/share
                  P&L_i,d = qty_i * mult_i * (BS(S_i,d, K_i, r_f, sigma_i, T_i) - BS(S_i, K_i,
                            r_f, sigma_i, T_i))
    book          P&L_d   = sum_i P&L_i,d                      $

with ``r_u,d`` the underlying's daily simple return on day ``d``, ``BS`` the Black-Scholes
closed form (``options.black_scholes_vector``, tested equal to mibian; intrinsic value at or
past expiry), ``K`` the strike, ``r_f`` the risk-free rate, ``sigma`` the vol the valuation used
and ``T`` today's calendar days to expiry. One-day horizon, instantaneous: vol and days to expiry
are held at today's values, so the P&L is the price move alone, with no theta, comparable with
the delta-only backcast on the same days. An expired option (``T <= 0``) is at intrinsic value
before and after: its P&L is the move of its intrinsic value, none from time.

The loss quantile convention is the one ``risk`` uses for the delta-only figure
(`historical_var_es`): numpy ``linear`` quantile, ES = mean of the P&L at or below it.

Missing data follow the backcast's complete-case rule: a day is used only when every modelled
underlying has a return that day; never a zero P&L for a missing return.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from webapp.analytics.errors import InsufficientHistory, NoPositions, NoPrices
from webapp.analytics.options import black_scholes_vector
from webapp.analytics.revaluation import Book

#: The full-revaluation rule in words, for result ``method`` texts.
FULL_REVALUATION_METHOD = (
    "historical VaR by full revaluation: each day of the window applies the underlyings' "
    "returns to today's book; stocks P&L = delta-adjusted exposure x r; options P&L = qty x mult "
    "x (BS(S (1 + r), K, r_f, sigma, days) - BS(S, K, r_f, sigma, days)) with today's vol and "
    "days to expiry (instantaneous one-day move, no theta; intrinsic value at or past expiry); "
    "VaR = -quantile(P&L, 1-c) (numpy linear), ES = -mean(P&L <= that quantile)"
)


def historical_var_es(values: np.ndarray, confidence: float) -> tuple[float, float]:
    """Historical VaR and expected shortfall of a P&L or return sample (positive = loss).

    ``q = quantile(x, 1 - c)`` with numpy's ``linear`` method (type 7: interpolation between
    order statistics at position ``(n - 1)(1 - c)``); ``VaR = -q``; ``ES = -mean(x | x <= q)``.
    The unit is the input's (decimal returns or dollars); the estimates are equivariant under a
    positive scale, so dollars = returns x equity exactly up to rounding.

    Parameters
    ----------
    values : ndarray of float, shape (n,)
        The sample, no NaNs; n >= 1.
    confidence : float
        In (0.5, 1), e.g. 0.95.

    Returns
    -------
    (var, es) : tuple of float
        ``es >= var`` always (the mean of values at or below ``q`` is at most ``q``).

    Raises
    ------
    ValueError
        ``confidence`` outside (0.5, 1).
    """
    if not 0.5 < confidence < 1.0:
        raise ValueError(f"confidence must be in (0.5, 1), got {confidence}")
    x = np.asarray(values, dtype=float)
    q = float(np.quantile(x, 1.0 - confidence, method="linear"))
    # At least the minimum lies at or below q, so the mean is over a non-empty set.
    return -q, float(-x[x <= q].mean())


@dataclass(frozen=True, eq=False)
class FullRevaluation:
    """A book's full-revaluation P&L over a window of historical days.

    Attributes
    ----------
    pnl : Series (date), ``P&L_d`` in dollars, named ``"pnl"``, ascending complete-case dates.
    position_pnl : DataFrame (date x position id), ``P&L_i,d`` in dollars of the modelled rows.
    options : number of modelled option positions.
    left_out : ``{position_id, symbol, reason}`` of the positions that could not be revalued
        (the revaluation's reasons: a status other than ok, an unknown type, no market value,
        no underlying price, no Greeks, no option inputs).
    """

    pnl: pd.Series
    position_pnl: pd.DataFrame
    options: int
    left_out: tuple[dict, ...]

    def to_dict(self) -> dict:
        """JSON-ready summary (the series themselves are not listed)."""
        return {
            "method": FULL_REVALUATION_METHOD,
            "nobs": len(self.pnl),
            "start": self.pnl.index[0].date().isoformat() if len(self.pnl) else None,
            "end": self.pnl.index[-1].date().isoformat() if len(self.pnl) else None,
            "positions": int(self.position_pnl.shape[1]),
            "options": self.options,
            "left_out": list(self.left_out),
        }


def full_revaluation_pnl(
    positions: pd.DataFrame, returns: pd.DataFrame, *, rate_pct: float | None = None
) -> FullRevaluation:
    """Daily P&L ($) of today's book under each historical day's underlying returns.

    Formulas in the module docstring. Vectorised over options x days: the spots after the move
    form a (days x options) matrix, flattened into one call of the Black-Scholes closed form.

    Parameters
    ----------
    positions : DataFrame
        Indexed by position id, the columns ``revaluation.position_pnl`` reads: ``symbol,
        underlying, position_type, quantity, multiplier, market_value, exposure ($,
        delta-adjusted), underlying_price ($/share), delta, gamma``, for options ``strike``,
        ``vol`` (decimal per year), ``days_to_expiry`` (calendar days), optionally ``status``
        and ``rate_pct``.
    returns : DataFrame (date x symbol)
        Daily simple returns (decimal) of the window; the underlyings' columns are read.
    rate_pct : float, optional
        Risk-free rate, percent per year (default the ``rate_pct`` column, else 0); use the
        rate the options were valued with, so a zero return gives a zero option P&L.

    Returns
    -------
    FullRevaluation

    Raises
    ------
    NoPositions
        No position can be revalued.
    NoPrices
        A modelled underlying has no return in ``returns`` (details: ``symbols``).
    InsufficientHistory
        No date has a return for every modelled underlying.
    """
    book = Book(positions, rate_pct=rate_pct)
    ok = book.before_ok & book.after_ok
    left_out = tuple(
        {
            "position_id": book.ids[i],
            "symbol": book.symbol_list[i],
            "reason": str(book.before[i] if book.before[i] is not None else book.after[i]),
        }
        for i in np.flatnonzero(~ok).tolist()
    )
    rows = np.flatnonzero(ok)
    if not len(rows):
        raise NoPositions("no position can be revalued")
    moves = _underlying_moves(book.underlyings[rows], returns)
    pnl = np.empty(moves.shape)
    stock = book.is_stock[rows]
    # Stocks and ETFs move one-for-one with their delta-adjusted exposure (delta 1 = the MV).
    pnl[:, stock] = moves.to_numpy()[:, stock] * book.exposure[rows][stock]
    opt = rows[~stock]
    if len(opt):
        pnl[:, ~stock] = _option_pnl(book, opt, moves.to_numpy()[:, ~stock])
    position_pnl = pd.DataFrame(pnl, index=moves.index, columns=[book.ids[i] for i in rows])
    return FullRevaluation(
        pnl=pd.Series(pnl.sum(axis=1), index=moves.index, name="pnl"),
        position_pnl=position_pnl,
        options=len(opt),
        left_out=left_out,
    )


def _underlying_moves(underlyings: np.ndarray, returns: pd.DataFrame) -> pd.DataFrame:
    """(complete-case dates x positions) decimal returns of each position's underlying."""
    symbols = list(dict.fromkeys(underlyings.tolist()))
    frame = returns.reindex(columns=symbols).sort_index()
    empty = [str(s) for s in frame.columns[frame.isna().all(axis=0).to_numpy()]]
    if empty:
        raise NoPrices(f"no returns for {empty}", symbols=empty)
    complete = frame.dropna(how="any").astype(float)
    if complete.empty:
        raise InsufficientHistory(
            "no date on which every modelled underlying has a return", available=0
        )
    cols = complete.columns.get_indexer(underlyings)
    return pd.DataFrame(complete.to_numpy()[:, cols], index=complete.index)


def _option_pnl(book: Book, rows: np.ndarray, moves: np.ndarray) -> np.ndarray:
    """(days x options) P&L ($): qty x mult x (BS at S (1 + r) - BS at S), same vol and days."""
    spot1 = book.spot[rows] * (1.0 + moves)  # (days x options), $/share
    # divide: a -100% day puts S at 0, where ln(S / K) = -inf gives the right limits. The
    # options' inputs (one row) broadcast against the days.
    with np.errstate(divide="ignore"):
        value1 = black_scholes_vector(
            spot1,
            book.strike[rows],
            book.rate_pct / 100.0,
            book.vol[rows],
            book.days[rows],
            book.is_call[rows],
        )
    return book.qm[rows] * (value1 - book.value_before[rows])


__all__ = [
    "FULL_REVALUATION_METHOD",
    "FullRevaluation",
    "full_revaluation_pnl",
    "historical_var_es",
]
