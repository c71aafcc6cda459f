"""Pairwise return correlations and the weighted diversification score.

Pearson correlation of daily simple returns on each pair's *overlapping* dates only (no filling),
null when a pair overlaps on fewer than ``min_overlap`` dates (DESIGN "Methodology").
Options map to their underlying before they get here: one column / exposure per symbol.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import sparse

from webapp.analytics._common import clean_exposures, json_date, json_float
from webapp.analytics.constants import (
    DEFAULT_MAX_SYMBOLS,
    DEFAULT_MIN_OVERLAP,
    DEFAULT_RISK_WINDOW,
)

# Not used here; kept importable from this module, where it was defined.
from webapp.analytics.constants import MAX_SYMBOLS_CAP as MAX_SYMBOLS_CAP
from webapp.analytics.errors import (
    InsufficientHistory,
    InsufficientOverlap,
    InsufficientSymbols,
    NoPrices,
)
from webapp.analytics.returns import returns_window, window_shortfall

METHOD = (
    "Pearson correlation of daily simple returns on each pair's overlapping dates; pairs with "
    "fewer than min_overlap overlapping dates are null. Diversification score = "
    "sum_{i<j} w_i w_j |c_ij| / sum_{i<j} w_i w_j, w = |delta-adjusted exposure| / sum "
    "|delta-adjusted exposure| per underlying (an option counts as delta x contracts x "
    "multiplier x underlying price), null pairs excluded from both sums (0 = independent, 1 = "
    "move in lockstep). The matrix shows the largest |delta-adjusted exposure| first."
)

# Relative floor under which a pair's variance is treated as zero (a series constant over the
# overlap has no correlation; rounding would otherwise give a random number).
_ZERO_VARIANCE = 1e-12
# Share of missing cells above which masked products are computed densely rather than sparsely.
_SPARSE_GAPS = 0.05


def _moments(values: np.ndarray) -> tuple[np.ndarray, ...]:
    """Pairwise-overlap moments of the columns of ``values`` (T x N, NaN = missing).

    Each column is centred on its own mean first (correlation is shift-invariant, and it makes
    the pairwise means ~0 so the moment formula in `_pairwise` does not cancel). With Z the
    centred data (0 where missing) and M the availability mask, returns N x N matrices
    ``N = MᵀM`` (overlap counts), ``S = ZᵀM`` (S_ij = Σ_{t∈i∩j} z_i,t), ``Q = (Z∘Z)ᵀM`` and
    ``P = ZᵀZ``.

    Gaps are usually rare (a late listing, a missing bar), so with G = 1 - M sparse, S, Q and N
    come from full-column sums minus the gap cells' share (``S = 1·colsum(Z) - ZᵀG`` …), and
    only ``P`` needs a dense product. Above `_SPARSE_GAPS` the masked products are done densely.
    """
    n, p = values.shape
    missing = np.isnan(values)
    gaps = np.count_nonzero(missing, axis=0)
    counts = n - gaps
    Z = np.where(missing, 0.0, values)
    with np.errstate(divide="ignore", invalid="ignore"):
        Z -= np.where(counts > 0, Z.sum(axis=0) / np.maximum(counts, 1), 0.0)
    Z[missing] = 0.0
    if gaps.sum() > _SPARSE_GAPS * n * p:
        M = (~missing).astype(float)
        A = np.concatenate([M, Z], axis=1)
        B = A.T @ A  # MᵀM, ZᵀM and ZᵀZ in one symmetric product
        return B[:p, :p], B[p:, :p], (Z * Z).T @ M, B[p:, p:]
    P = Z.T @ Z
    S = np.repeat(Z.sum(axis=0)[:, None], p, axis=1)
    Q = np.repeat(np.diag(P)[:, None], p, axis=1)
    N = float(n) - gaps[:, None] - gaps[None, :]
    if gaps.any():
        rows = np.flatnonzero(missing.any(axis=1))
        r, c = np.nonzero(missing[rows])
        G = sparse.csr_matrix((np.ones(r.size), (c, rows[r])), shape=(p, n))  # Gᵀ, N x T
        S -= (G @ Z).T
        Q -= (G @ (Z * Z)).T
        N += (G @ G.T).toarray()
    else:
        N = N.astype(float)
    return N, S, Q, P


def _pairwise(values: np.ndarray, min_overlap: int) -> tuple[np.ndarray, np.ndarray]:
    """Pairwise-complete Pearson correlations and overlap counts of the columns of ``values``.

    From `_moments`: ``cov_ij = P_ij - S_ij S_ji / N_ij``, ``var_i|j = Q_ij - S_ij² / N_ij``
    (variance of i over the dates shared with j), ``c_ij = cov_ij / sqrt(var_i|j var_j|i)`` —
    exactly the two-pass Pearson formula on each pair's overlap, without a loop over pairs.
    """
    N, S, Q, P = _moments(values)
    with np.errstate(divide="ignore", invalid="ignore"):
        cov = P - S * S.T / N
        var = Q - S * S / N
        var_t = var.T
        corr = cov / np.sqrt(var * var_t)
        degenerate = (var <= _ZERO_VARIANCE * Q) | (var_t <= _ZERO_VARIANCE * Q.T)
    corr[(N < min_overlap) | degenerate | ~np.isfinite(corr)] = np.nan
    np.clip(corr, -1.0, 1.0, out=corr)
    diagonal = np.diag_indices_from(corr)
    corr[diagonal] = np.where(np.isnan(corr[diagonal]), np.nan, 1.0)
    return corr, np.rint(N).astype(int)


def correlation_matrix(
    returns: pd.DataFrame, *, min_overlap: int = DEFAULT_MIN_OVERLAP
) -> pd.DataFrame:
    """Pearson correlation matrix on pairwise overlapping dates.

    ``c_ij = Σ (x_t - x̄)(y_t - ȳ) / sqrt(Σ (x_t - x̄)² Σ (y_t - ȳ)²)`` over the dates t where
    both i and j have a return, with x̄, ȳ the means over those same dates.

    Parameters
    ----------
    returns : DataFrame, shape (T, N)
        Daily simple returns, NaN where missing (never filled).
    min_overlap : int, default 30
        Pairs with fewer overlapping dates are NaN.

    Returns
    -------
    DataFrame, shape (N, N)
        Symmetric, unitless, in [-1, 1], index and columns = ``returns.columns``. The diagonal is
        1, except NaN for a symbol with fewer than ``min_overlap`` returns or constant returns
        (its whole row is NaN). Equals ``returns.corr(min_periods=min_overlap)``.
    """
    if min_overlap < 2:
        raise ValueError("min_overlap must be >= 2")
    corr, _ = _pairwise(returns.to_numpy(dtype=float, na_value=np.nan), min_overlap)
    return pd.DataFrame(corr, index=returns.columns, columns=returns.columns)


def select_symbols(exposures: pd.Series, max_symbols: int = DEFAULT_MAX_SYMBOLS) -> list:
    """The top ``max_symbols`` symbols by |exposure|, largest first (ties: symbol order).

    ``exposures`` are delta-adjusted dollars per underlying (E = Σ delta × quantity ×
    multiplier × underlying price over its positions; stock delta = 1), the same weights as
    `diversification_score`, so the heatmap shows the holdings that weigh most in the score.
    Zero and NaN exposures are ignored.
    """
    if max_symbols < 1:
        raise ValueError("max_symbols must be >= 1")
    weights = pd.Series(exposures, dtype=float).dropna().abs()
    weights = weights[weights > 0]
    order = sorted(weights.index, key=lambda s: (-weights[s], str(s)))
    return order[:max_symbols]


def diversification_score(corr: pd.DataFrame, weights: pd.Series) -> float:
    """Weighted average absolute pairwise correlation, 0 (independent) .. 1 (lockstep).

    ``score = Σ_{i<j} w_i w_j |c_ij| / Σ_{i<j} w_i w_j`` with ``w = |weights| / Σ |weights|``
    over the matrix's symbols. The project passes delta-adjusted exposures per underlying ($),
    so an option counts by its delta (|delta × contracts × multiplier × underlying price|), not
    its premium; only the |w| ratios matter. Pairs whose correlation is NaN are excluded from
    both sums.

    Raises
    ------
    InsufficientSymbols
        Fewer than 2 symbols with non-zero weight.
    InsufficientOverlap
        Every pair is NaN.
    ValueError
        A symbol of ``corr`` has no weight.
    """
    w = pd.Series(weights, dtype=float).reindex(corr.index).abs()
    if w.isna().any():
        raise ValueError(f"no weight for {[str(s) for s in w.index[w.isna()]]}")
    keep = (w > 0).to_numpy()
    if keep.sum() < 2:
        raise InsufficientSymbols(
            "a diversification score needs at least 2 symbols", symbols=int(keep.sum())
        )
    w = w.to_numpy()[keep]
    w = w / w.sum()
    c = np.abs(corr.to_numpy(dtype=float)[np.ix_(keep, keep)])
    upper = np.triu(np.ones_like(c, dtype=bool), k=1) & np.isfinite(c)
    if not upper.any():
        raise InsufficientOverlap("no pair of symbols has enough overlapping returns")
    ww = np.outer(w, w)[upper]
    return float((ww * c[upper]).sum() / ww.sum())


_LABELS = (
    (0.30, "Well diversified: your holdings mostly move independently of each other."),
    (0.50, "Moderately diversified: your holdings often move in the same direction."),
    (0.70, "Concentrated: most of your holdings tend to rise and fall together."),
    (
        math.inf,
        "Highly concentrated: your holdings move almost in lockstep and offer little protection "
        "against each other.",
    ),
)


def diversification_label(score: float) -> str:
    """Plain-language reading of a diversification score (< 0.3, < 0.5, < 0.7, >= 0.7)."""
    if score is None or not math.isfinite(score):
        raise ValueError("score must be a finite number")
    return next(text for bound, text in _LABELS if score < bound)


@dataclass(frozen=True, eq=False)
class CorrelationResult:
    """Correlation matrix of the largest positions plus the portfolio diversification score.

    Attributes
    ----------
    symbols : displayed symbols, largest |exposure| first (at most ``max_symbols``).
    matrix : DataFrame (symbols x symbols), NaN = not enough overlap.
    nobs : DataFrame (symbols x symbols, int), overlapping dates per pair.
    min_overlap, lookback_days : parameters; start, end, observations : the window's dates.
    score : diversification score over *all* modelled symbols (None if unavailable, see
        ``score_reason``); label : its plain-language reading.
    average_correlation : mean of the displayed matrix's non-null off-diagonal entries.
    truncated : more modelled symbols than displayed; total_symbols : modelled symbol count.
    weights : Series, |delta-adjusted exposure| share of each modelled symbol (sums to 1).
    exposures : Series, signed delta-adjusted exposure ($) of each modelled symbol.
    left_out : tuple of ``{symbol, exposure, reason, detail, nobs}`` for exposed symbols not
        modelled.
    observations_reason : why the window has fewer than ``lookback_days`` rows (None if full).
    """

    symbols: tuple[str, ...]
    matrix: pd.DataFrame
    nobs: pd.DataFrame
    min_overlap: int
    lookback_days: int
    start: pd.Timestamp
    end: pd.Timestamp
    observations: int
    score: float | None
    label: str | None
    score_reason: str | None
    average_correlation: float | None
    truncated: bool
    total_symbols: int
    weights: pd.Series
    exposures: pd.Series
    left_out: tuple[dict, ...]
    observations_reason: str | None = None

    def to_dict(self) -> dict:
        """JSON-ready: matrix and data_points as nested lists (None = null) in ``symbols`` order."""
        return {
            "method": METHOD,
            "symbols": list(self.symbols),
            "matrix": [[json_float(v) for v in row] for row in self.matrix.to_numpy()],
            "data_points": [[int(v) for v in row] for row in self.nobs.to_numpy()],
            "min_overlap": self.min_overlap,
            "lookback_days": self.lookback_days,
            "start": json_date(self.start),
            "end": json_date(self.end),
            "observations": self.observations,
            "observations_reason": self.observations_reason,
            "diversification_score": json_float(self.score),
            "diversification_label": self.label,
            "score_reason": self.score_reason,
            "average_correlation": json_float(self.average_correlation),
            "truncated": self.truncated,
            "total_symbols": self.total_symbols,
            "symbols_included": len(self.symbols),
            "weights": {str(s): json_float(v) for s, v in self.weights.items()},
            "exposures": {str(s): json_float(v) for s, v in self.exposures.items()},
            "left_out": [dict(x) for x in self.left_out],
        }


def _left_out(exposures: pd.Series, window: pd.DataFrame, min_overlap: int) -> list[dict]:
    """Exposed symbols with no return (``no_prices``) or fewer than ``min_overlap`` in the window.

    Such a symbol cannot have a single non-null pair, so it is listed rather than shown blank.
    """
    counts = window.reindex(columns=exposures.index).notna().sum()
    out = []
    for symbol, exposure in exposures.items():
        n = int(counts[symbol])
        if n >= min_overlap:
            continue
        if n == 0:
            reason = NoPrices.reason
            detail = f"no return for {symbol} in the {len(window)}-day window"
        else:
            reason = InsufficientHistory.reason
            detail = f"{n} returns for {symbol} in the window, fewer than min_overlap={min_overlap}"
        out.append(
            {
                "symbol": str(symbol),
                "exposure": float(exposure),
                "reason": reason,
                "detail": detail,
                "nobs": n,
            }
        )
    return out


def correlation_analysis(
    returns: pd.DataFrame,
    exposures: pd.Series,
    *,
    lookback_days: int = DEFAULT_RISK_WINDOW,
    min_overlap: int = DEFAULT_MIN_OVERLAP,
    max_symbols: int = DEFAULT_MAX_SYMBOLS,
) -> CorrelationResult:
    """Matrix of the top ``max_symbols`` positions and the score over every modelled position.

    The window is the last ``lookback_days`` rows of ``returns`` (pass returns up to the as-of
    date). An exposed symbol is left out with reason ``no_prices`` when it has no return in the
    window, or ``insufficient_history`` when it has fewer than ``min_overlap`` (it could not
    correlate with anything). The score uses every modelled symbol (reference backlog: no
    ``max_symbols`` cap); the displayed matrix the largest ``max_symbols`` by |exposure|.
    ``exposures`` are delta-adjusted dollars per underlying: both the score's weights and the
    matrix's order are |delta-adjusted exposure|. The window is counted in rows (trading days);
    when the history is shorter, ``observations`` says how many and ``observations_reason`` why.

    Raises
    ------
    NoPositions
        No non-zero exposure.
    NoPrices
        ``returns`` has no rows.
    InsufficientSymbols
        Fewer than 2 symbols can be modelled.
    ValueError
        ``min_overlap > lookback_days``.
    """
    exposures = clean_exposures(exposures)
    if min_overlap > lookback_days:
        raise ValueError("min_overlap cannot exceed lookback_days")
    if returns.empty:
        raise NoPrices("no returns in the window")
    window = returns_window(returns.sort_index(), returns.index.max(), lookback_days)

    left_out = _left_out(exposures, window, min_overlap)
    dropped = {x["symbol"] for x in left_out}
    modelled = [s for s in exposures.index if str(s) not in dropped]
    if len(modelled) < 2:
        raise InsufficientSymbols(
            "correlations need at least 2 symbols with returns",
            symbols=len(modelled),
            left_out=left_out,
        )

    values = window[modelled].to_numpy(dtype=float, na_value=np.nan)
    corr_all, nobs_all = _pairwise(values, min_overlap)
    corr_all = pd.DataFrame(corr_all, index=modelled, columns=modelled)
    weights = exposures[modelled].abs() / exposures[modelled].abs().sum()
    try:
        score, score_reason = diversification_score(corr_all, weights), None
    except (InsufficientOverlap, InsufficientSymbols) as exc:
        score, score_reason = None, exc.reason

    shown = select_symbols(exposures[modelled], max_symbols)
    matrix = corr_all.loc[shown, shown]
    position = [modelled.index(s) for s in shown]
    nobs = pd.DataFrame(nobs_all[np.ix_(position, position)], index=shown, columns=shown)
    off = matrix.to_numpy()[np.triu_indices(len(shown), k=1)]
    off = off[np.isfinite(off)]
    return CorrelationResult(
        symbols=tuple(str(s) for s in shown),
        matrix=matrix,
        nobs=nobs,
        min_overlap=int(min_overlap),
        lookback_days=int(lookback_days),
        start=window.index[0],
        end=window.index[-1],
        observations=len(window),
        score=score,
        label=diversification_label(score) if score is not None else None,
        score_reason=score_reason,
        average_correlation=float(off.mean()) if off.size else None,
        truncated=len(modelled) > len(shown),
        total_symbols=len(modelled),
        weights=weights,
        exposures=exposures[modelled],
        left_out=tuple(left_out),
        observations_reason=window_shortfall(window, lookback_days),
    )
