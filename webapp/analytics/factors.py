"""Factor model: ETF-proxy factor returns, per-symbol OLS betas, portfolio exposures, risk split.

Eight factors (DESIGN "Methodology"): Market = SPY's return; Value, Growth, Momentum, Quality, Size
and Low Volatility = the return of VTV, VUG, MTUM, QUAL, IWM, USMV *minus* SPY's (spreads, which
tame the collinearity of raw ETF returns — `vif` reports what is left); Rates = TLT's return.

Conventions shared by every function here:

* ``returns``: wide DataFrame of daily simple returns (decimal), DatetimeIndex ascending, one
  column per symbol, NaN where a symbol has no return that day.
* ``exposures``: Series symbol -> signed dollar exposure (delta-adjusted for options, aggregated per
  underlying by the caller). ``equity``: dollars, Σ signed market value + cash, must be > 0.
* Betas are per unit of factor return, so ``E_i * beta_if`` is dollars per unit factor return.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pandas as pd

from webapp.analytics._common import (
    check_positive_equity,
    clean_exposures,
    json_date,
    json_float,
)
from webapp.analytics.constants import (
    BENCHMARK_SYMBOL,
    DEFAULT_FACTOR_WINDOW,
    FACTOR_NAMES,
    MIN_FACTOR_OBSERVATIONS,
    TRADING_DAYS_PER_YEAR,
)
from webapp.analytics.errors import InsufficientHistory, NoPrices


@dataclass(frozen=True)
class FactorSpec:
    """One factor: its name, the ETF that proxies it and how its return is built."""

    name: str
    etf_symbol: str
    construction: str  # "raw" = the ETF's return; "spread" = the ETF's return minus SPY's
    description: str

    def to_dict(self) -> dict:
        """JSON-ready ``{name, etf_symbol, construction, description, formula}``."""
        formula = (
            f"r({self.etf_symbol})"
            if self.construction == "raw"
            else f"r({self.etf_symbol}) - r({BENCHMARK_SYMBOL})"
        )
        return {
            "name": self.name,
            "etf_symbol": self.etf_symbol,
            "construction": self.construction,
            "formula": formula,
            "description": self.description,
        }


FACTORS: tuple[FactorSpec, ...] = (
    FactorSpec("Market", "SPY", "raw", "The US large-cap equity market: SPY's daily return."),
    FactorSpec("Value", "VTV", "spread", "Value stocks relative to the market: VTV minus SPY."),
    FactorSpec("Growth", "VUG", "spread", "Growth stocks relative to the market: VUG minus SPY."),
    FactorSpec(
        "Momentum", "MTUM", "spread", "Recent winners relative to the market: MTUM minus SPY."
    ),
    FactorSpec(
        "Quality",
        "QUAL",
        "spread",
        "Profitable, low-debt firms relative to the market: QUAL minus SPY.",
    ),
    FactorSpec("Size", "IWM", "spread", "Small caps relative to large caps: IWM minus SPY."),
    FactorSpec(
        "Low Volatility",
        "USMV",
        "spread",
        "Low-volatility stocks relative to the market: USMV minus SPY.",
    ),
    FactorSpec(
        "Rates",
        "TLT",
        "raw",
        (
            "Long-dated US Treasuries: TLT's daily return "
            "(a positive beta gains when long yields fall)."
        ),
    ),
)
FACTOR_ETFS: frozenset[str] = frozenset(spec.etf_symbol for spec in FACTORS)

METHOD_BETAS = (
    "Per-symbol OLS with intercept of daily returns on the 8 factor returns over the window, "
    "using only dates where the symbol has a return."
)


# ---------------------------------------------------------------------------------------------
# Factor returns
# ---------------------------------------------------------------------------------------------


def factor_returns(etf_returns: pd.DataFrame) -> pd.DataFrame:
    """Daily factor returns from the factor ETFs' daily simple returns.

    ``f_Market = r_SPY``; ``f_Rates = r_TLT``; for the spread factors
    ``f = r_ETF - r_SPY`` (VTV, VUG, MTUM, QUAL, IWM, USMV).

    Parameters
    ----------
    etf_returns : DataFrame, shape (T, >= 8)
        Daily simple returns (decimal) with at least the columns in ``FACTOR_ETFS``; other columns
        are ignored.

    Returns
    -------
    DataFrame, shape (T', 8)
        Columns ``FACTOR_NAMES`` in order, decimal returns. Only rows where *every* factor ETF has
        a return are kept (T' <= T), so no factor value is ever imputed.

    Raises
    ------
    NoPrices
        A factor ETF column is absent, or no date has returns for all of them.
    """
    missing = sorted(FACTOR_ETFS - set(etf_returns.columns))
    if missing:
        raise NoPrices(f"missing returns for factor ETFs {missing}", symbols=missing)
    etfs = etf_returns[sorted(FACTOR_ETFS)].astype(float).dropna(how="any").sort_index()
    if etfs.empty:
        raise NoPrices(
            "no date on which every factor ETF has a return", symbols=sorted(FACTOR_ETFS)
        )
    market = etfs[BENCHMARK_SYMBOL]
    columns = {
        spec.name: etfs[spec.etf_symbol] - market
        if spec.construction == "spread"
        else etfs[spec.etf_symbol]
        for spec in FACTORS
    }
    return pd.DataFrame(columns, index=etfs.index)[list(FACTOR_NAMES)]


# ---------------------------------------------------------------------------------------------
# Per-symbol betas (vectorised OLS)
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True, eq=False)
class FactorBetas:
    """Per-symbol factor regressions over one window.

    Attributes
    ----------
    betas : DataFrame (symbol x factor), factor loadings (unitless).
    alpha : Series (symbol), daily intercept (decimal return per day).
    t_stats : DataFrame (symbol x ["alpha", *factors]), coefficient / OLS standard error; NaN for
        an exact fit (R² = 1 to 12 digits, e.g. SPY on the Market factor).
    r_squared : Series (symbol), centred R².
    residual_var : Series (symbol), daily residual variance SSR / (n - k) (decimal²; k = 9).
    nobs : Series (symbol, int), dates used for each symbol.
    skipped : tuple of dicts ``{symbol, reason, nobs, required}`` for symbols not fitted.
    factors : the factor names (columns of ``betas``).
    window, min_observations : the parameters used.
    start, end : first and last factor date of the window; n_dates : factor dates in the window.
    """

    betas: pd.DataFrame
    alpha: pd.Series
    t_stats: pd.DataFrame
    r_squared: pd.Series
    residual_var: pd.Series
    nobs: pd.Series
    skipped: tuple[dict, ...]
    factors: tuple[str, ...]
    window: int
    min_observations: int
    start: pd.Timestamp
    end: pd.Timestamp
    n_dates: int

    @property
    def symbols(self) -> list[str]:
        """Symbols that were fitted, in input column order."""
        return list(self.betas.index)

    def to_dict(self) -> dict:
        """JSON-ready dict: method, window, dates, factors, one entry per fitted symbol, skipped."""
        rows = []
        for symbol in self.betas.index:
            rows.append(
                {
                    "symbol": str(symbol),
                    "alpha": json_float(self.alpha[symbol]),
                    "betas": {f: json_float(self.betas.at[symbol, f]) for f in self.factors},
                    "t_stats": {
                        c: json_float(self.t_stats.at[symbol, c]) for c in self.t_stats.columns
                    },
                    "r_squared": json_float(self.r_squared[symbol]),
                    "residual_var": json_float(self.residual_var[symbol]),
                    "residual_vol_annual": json_float(
                        math.sqrt(self.residual_var[symbol] * TRADING_DAYS_PER_YEAR)
                        if np.isfinite(self.residual_var[symbol])
                        else None
                    ),
                    "nobs": int(self.nobs[symbol]),
                }
            )
        return {
            "method": METHOD_BETAS,
            "window": self.window,
            "min_observations": self.min_observations,
            "start": json_date(self.start),
            "end": json_date(self.end),
            "observations": self.n_dates,
            "factors": list(self.factors),
            "symbols": rows,
            "skipped": [dict(s) for s in self.skipped],
        }


_EXACT_FIT = 1e-12  # 1 - R² below this is an exact fit


def _ols_batch(X: np.ndarray, Y: np.ndarray) -> dict[str, np.ndarray]:
    """OLS of every column of ``Y`` (n x m) on the same design ``X`` (n x k) in one solve.

    Same algebra as statsmodels ``OLS(...).fit()`` (pinv solution): ``B = X⁺ Y``,
    ``scale = SSR / (n - k)``, ``se = sqrt(scale * diag(X⁺ X⁺ᵀ))``, centred R² (X has an
    intercept). t-stats are NaN for an exact fit (SSR <= 1e-12 x TSS).
    """
    n, k = X.shape
    pinv = np.linalg.pinv(X)  # k x n
    coef = pinv @ Y  # k x m
    resid = Y - X @ coef
    ssr = np.einsum("ij,ij->j", resid, resid)
    scale = ssr / (n - k)
    cov_diag = np.einsum("ij,ij->i", pinv, pinv)  # diag((X'X)^-1) without forming it twice
    centred = Y - Y.mean(axis=0)
    tss = np.einsum("ij,ij->j", centred, centred)
    with np.errstate(divide="ignore", invalid="ignore"):
        se = np.sqrt(np.outer(cov_diag, scale))
        tvalues = coef / se
        r2 = 1.0 - ssr / tss
    # An exact fit (a factor ETF regressed on its own factor) leaves only rounding noise in the
    # residuals: its t-stats would be meaningless 1e12-sized numbers, so they are NaN.
    tvalues[:, ~(ssr > _EXACT_FIT * tss)] = np.nan
    return {"coef": coef, "t": tvalues, "r2": r2, "scale": scale}


def _group_by_pattern(mask: np.ndarray) -> list[np.ndarray]:
    """Column indices of ``mask`` (n x m bool) grouped by identical columns, first-seen order."""
    if mask.all():
        return [np.arange(mask.shape[1])]
    packed = np.packbits(mask, axis=0)
    groups: dict[bytes, list[int]] = {}
    for j in range(mask.shape[1]):
        groups.setdefault(packed[:, j].tobytes(), []).append(j)
    return [np.asarray(g) for g in groups.values()]


def factor_betas(
    returns: pd.DataFrame,
    factor_rets: pd.DataFrame,
    *,
    window: int = DEFAULT_FACTOR_WINDOW,
    min_observations: int = MIN_FACTOR_OBSERVATIONS,
) -> FactorBetas:
    """OLS factor betas of every symbol, solved in vectorised batches.

    For symbol i: ``r_i,t = alpha_i + Σ_f beta_if f_t + e_i,t`` by OLS with intercept over the
    window's dates on which symbol i has a return.

    Parameters
    ----------
    returns : DataFrame, shape (T, N)
        Daily simple returns per symbol (decimal), NaN where missing.
    factor_rets : DataFrame, shape (T_f, K)
        Factor returns (e.g. from `factor_returns`); rows with any NaN are dropped.
    window : int, default 252
        The window is the last ``window`` factor-return dates (up to the last factor date).
        Symbol returns are aligned to those dates; dates the symbol lacks are skipped for it.
    min_observations : int, default 60
        Symbols with fewer usable dates are not fitted and are listed in ``skipped`` with
        reason ``"insufficient_history"`` and their count. Must exceed K + 1.

    Returns
    -------
    FactorBetas
        Coefficients, t-stats, R², daily residual variance and nobs per fitted symbol.

    Notes
    -----
    Symbols sharing the same pattern of available dates (normally all of them) are solved
    together with one pseudo-inverse of the design matrix, which gives the same numbers as a
    statsmodels ``OLS`` fit per symbol at a fraction of the cost.

    Raises
    ------
    NoPrices
        ``returns`` has no columns.
    InsufficientHistory
        The factor history itself has fewer than ``min_observations`` complete dates.
    """
    k = factor_rets.shape[1] + 1
    if min_observations < k + 1:
        raise ValueError(f"min_observations must be at least {k + 1} for {k} coefficients")
    if window < min_observations:
        raise ValueError("window must be >= min_observations")
    if returns.shape[1] == 0:
        raise NoPrices("no symbol returns were supplied")

    factors = factor_rets.astype(float).dropna(how="any").sort_index().iloc[-window:]
    if len(factors) < min_observations:
        raise InsufficientHistory(
            "not enough factor history for the regression window",
            required=min_observations,
            available=len(factors),
        )
    aligned = returns.reindex(factors.index)
    Y = aligned.to_numpy(dtype=float, na_value=np.nan)
    X = np.column_stack([np.ones(len(factors)), factors.to_numpy()])
    mask = np.isfinite(Y)
    nobs = mask.sum(axis=0)
    fitted = np.flatnonzero(nobs >= min_observations)

    m = len(fitted)
    coef = np.full((k, m), np.nan)
    tvals = np.full((k, m), np.nan)
    r2 = np.full(m, np.nan)
    scale = np.full(m, np.nan)
    if m:
        for members in _group_by_pattern(mask[:, fitted]):
            rows = mask[:, fitted[members[0]]]
            out = _ols_batch(X[rows], Y[np.ix_(rows, fitted[members])])
            coef[:, members] = out["coef"]
            tvals[:, members] = out["t"]
            r2[members] = out["r2"]
            scale[members] = out["scale"]

    symbols = aligned.columns[fitted]
    names = list(factors.columns)
    skipped = tuple(
        {
            "symbol": str(aligned.columns[j]),
            "reason": InsufficientHistory.reason,
            "nobs": int(nobs[j]),
            "required": int(min_observations),
        }
        for j in np.flatnonzero(nobs < min_observations)
    )
    return FactorBetas(
        betas=pd.DataFrame(coef[1:].T, index=symbols, columns=names),
        alpha=pd.Series(coef[0], index=symbols, name="alpha"),
        t_stats=pd.DataFrame(tvals.T, index=symbols, columns=["alpha", *names]),
        r_squared=pd.Series(r2, index=symbols, name="r_squared"),
        residual_var=pd.Series(scale, index=symbols, name="residual_var"),
        nobs=pd.Series(nobs[fitted].astype(int), index=symbols, name="nobs"),
        skipped=skipped,
        factors=tuple(names),
        window=int(window),
        min_observations=int(min_observations),
        start=factors.index[0],
        end=factors.index[-1],
        n_dates=len(factors),
    )


def vif(factor_rets: pd.DataFrame) -> dict[str, float]:
    """Variance inflation factor of each factor: ``VIF_j = 1 / (1 - R²_j)``.

    ``R²_j`` is the centred R² of the OLS (with intercept) of factor j on the other factors, over
    the rows where every factor has a value (NaN rows dropped). 1 = uncorrelated with the others;
    above ~5-10 signals strong collinearity; ``inf`` when a factor is an exact combination of the
    others.

    Raises
    ------
    InsufficientHistory
        Fewer complete rows than factors + 2.
    """
    data = factor_rets.astype(float).dropna(how="any")
    n, k = data.shape
    if n < k + 2:
        raise InsufficientHistory("not enough factor history for VIFs", required=k + 2, available=n)
    values = data.to_numpy()
    out: dict[str, float] = {}
    for j, name in enumerate(data.columns):
        y = values[:, j]
        X = np.column_stack([np.ones(n), np.delete(values, j, axis=1)])
        coef, *_ = np.linalg.lstsq(X, y, rcond=None)
        resid = y - X @ coef
        tss = float(((y - y.mean()) ** 2).sum())
        r2 = 1.0 - float(resid @ resid) / tss if tss > 0 else float("nan")
        out[str(name)] = float("inf") if r2 >= 1.0 else 1.0 / (1.0 - r2)
    return out


# ---------------------------------------------------------------------------------------------
# Portfolio level
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True, eq=False)
class PortfolioFactorExposures:
    """Portfolio factor betas and dollar exposures.

    Attributes
    ----------
    factors : factor names.
    betas : Series (factor), ``Σ_i E_i beta_if / equity`` (unitless).
    dollar_exposures : Series (factor), ``Σ_i E_i beta_if`` (dollars per unit factor return).
    position_exposures : DataFrame (symbol x factor), ``E_i beta_if`` for each modelled symbol.
    equity : dollars. gross_exposure : ``Σ |E_i|`` over all positions.
    modelled_gross_exposure : ``Σ |E_i|`` over symbols with betas; coverage = their ratio.
    left_out : tuple of ``{symbol, exposure, reason, ...}`` for exposed symbols without betas.
    """

    factors: tuple[str, ...]
    betas: pd.Series
    dollar_exposures: pd.Series
    position_exposures: pd.DataFrame
    equity: float
    gross_exposure: float
    modelled_gross_exposure: float
    coverage: float
    left_out: tuple[dict, ...]

    def to_dict(self) -> dict:
        """JSON-ready: ``factors`` as ``[{name, beta, exposure_dollar}]`` plus coverage data."""
        return {
            "method": (
                "beta_f = sum_i E_i * beta_if / equity; exposure_dollar_f = sum_i E_i * beta_if"
            ),
            "factors": [
                {
                    "name": f,
                    "beta": json_float(self.betas[f]),
                    "exposure_dollar": json_float(self.dollar_exposures[f]),
                }
                for f in self.factors
            ],
            "equity": json_float(self.equity),
            "gross_exposure": json_float(self.gross_exposure),
            "modelled_gross_exposure": json_float(self.modelled_gross_exposure),
            "coverage": json_float(self.coverage),
            "positions": [
                {
                    "symbol": str(s),
                    "exposure_dollar": {
                        f: json_float(self.position_exposures.at[s, f]) for f in self.factors
                    },
                }
                for s in self.position_exposures.index
            ],
            "left_out": [dict(x) for x in self.left_out],
        }


def _split_modelled(
    exposures: pd.Series, betas: pd.DataFrame, skipped: dict[str, dict], default_reason: str
) -> tuple[list, list[dict]]:
    """Exposed symbols with a full row of finite betas, and the others with a reason."""
    finite = betas.notna().all(axis=1)
    modelled, left_out = [], []
    for symbol, exposure in exposures.items():
        if symbol in betas.index and bool(finite[symbol]):
            modelled.append(symbol)
            continue
        info = dict(skipped.get(str(symbol), {"reason": default_reason}))
        info.pop("symbol", None)
        left_out.append({"symbol": str(symbol), "exposure": float(exposure), **info})
    return modelled, left_out


def portfolio_factor_exposures(
    exposures: pd.Series,
    betas: pd.DataFrame | FactorBetas,
    equity: float,
) -> PortfolioFactorExposures:
    """Aggregate per-symbol betas into portfolio factor betas and dollar exposures.

    ``exposure_dollar_f = Σ_i E_i beta_if`` and ``beta_f = exposure_dollar_f / equity`` over the
    symbols that have betas; the others are listed in ``left_out`` (never counted as zero
    silently) and ``coverage = Σ_modelled |E_i| / Σ_all |E_i|``.

    Parameters
    ----------
    exposures : Series, symbol -> signed dollar exposure (zeros ignored).
    betas : DataFrame (symbol x factor) or FactorBetas
        With a FactorBetas, left-out symbols carry the regression's reason (e.g.
        ``insufficient_history`` with nobs) or ``no_prices`` when they were never in the
        regression; with a DataFrame the reason is ``no_factor_betas``.
    equity : float, dollars, > 0.

    Raises
    ------
    NoPositions
        No non-zero exposure.
    InsufficientHistory
        No exposed symbol has betas (details list them).
    """
    exposures = clean_exposures(exposures)
    equity = check_positive_equity(equity)
    if isinstance(betas, FactorBetas):
        skipped = {s["symbol"]: s for s in betas.skipped}
        table, default_reason = betas.betas, NoPrices.reason
    else:
        skipped, table, default_reason = {}, betas, "no_factor_betas"
    modelled, left_out = _split_modelled(exposures, table, skipped, default_reason)
    if not modelled:
        raise InsufficientHistory("no exposed symbol has factor betas", left_out=left_out)

    position = table.loc[modelled].astype(float).mul(exposures[modelled], axis=0)
    dollars = position.sum(axis=0)
    gross = float(exposures.abs().sum())
    modelled_gross = float(exposures[modelled].abs().sum())
    return PortfolioFactorExposures(
        factors=tuple(str(c) for c in table.columns),
        betas=dollars / equity,
        dollar_exposures=dollars,
        position_exposures=position,
        equity=equity,
        gross_exposure=gross,
        modelled_gross_exposure=modelled_gross,
        coverage=modelled_gross / gross,
        left_out=tuple(left_out),
    )


@dataclass(frozen=True, eq=False)
class RiskSplit:
    """Systematic vs idiosyncratic risk of the modelled part of the portfolio.

    Variances are daily, in dollars²; vols are annualised (×√252) in dollars and as a decimal
    fraction of equity (0.12 = 12 %). ``factor_contributions`` splits the systematic variance by
    factor (``b_f (Σ_F b)_f``, sums to ``systematic_var``; can be negative).
    """

    systematic_var: float
    idiosyncratic_var: float
    total_var: float
    systematic_share: float
    idiosyncratic_share: float
    systematic_vol_annual: float
    idiosyncratic_vol_annual: float
    total_vol_annual: float
    systematic_vol_annual_of_equity: float
    idiosyncratic_vol_annual_of_equity: float
    total_vol_annual_of_equity: float
    factor_exposures: pd.Series
    factor_contributions: pd.Series
    equity: float
    coverage: float
    left_out: tuple[dict, ...]
    factor_observations: int
    start: pd.Timestamp
    end: pd.Timestamp

    def to_dict(self) -> dict:
        """JSON-ready dict of every scalar, per-factor contributions, coverage and left_out."""
        return {
            "method": (
                "systematic variance = b' Sigma_F b (b = dollar factor exposures, Sigma_F = sample "
                "factor covariance, ddof=1); idiosyncratic = sum_i E_i^2 * residual variance_i; "
                "annualised with sqrt(252)"
            ),
            "systematic_var": json_float(self.systematic_var),
            "idiosyncratic_var": json_float(self.idiosyncratic_var),
            "total_var": json_float(self.total_var),
            "systematic_share": json_float(self.systematic_share),
            "idiosyncratic_share": json_float(self.idiosyncratic_share),
            "systematic_vol_annual": json_float(self.systematic_vol_annual),
            "idiosyncratic_vol_annual": json_float(self.idiosyncratic_vol_annual),
            "total_vol_annual": json_float(self.total_vol_annual),
            "systematic_vol_annual_of_equity": json_float(self.systematic_vol_annual_of_equity),
            "idiosyncratic_vol_annual_of_equity": json_float(
                self.idiosyncratic_vol_annual_of_equity
            ),
            "total_vol_annual_of_equity": json_float(self.total_vol_annual_of_equity),
            "factors": [
                {
                    "name": str(f),
                    "exposure_dollar": json_float(self.factor_exposures[f]),
                    "variance_contribution": json_float(self.factor_contributions[f]),
                }
                for f in self.factor_exposures.index
            ],
            "equity": json_float(self.equity),
            "coverage": json_float(self.coverage),
            "left_out": [dict(x) for x in self.left_out],
            "factor_observations": self.factor_observations,
            "start": json_date(self.start),
            "end": json_date(self.end),
        }


def risk_split(
    exposures: pd.Series,
    betas: pd.DataFrame,
    residual_var: pd.Series,
    factor_rets: pd.DataFrame,
    equity: float,
    *,
    window: int = DEFAULT_FACTOR_WINDOW,
) -> RiskSplit:
    """Split portfolio variance into a factor (systematic) and a residual (idiosyncratic) part.

    ``b = Σ_i E_i beta_i`` (dollar factor exposures, vector of K);
    ``systematic = bᵀ Σ_F b`` with ``Σ_F`` the sample covariance (ddof=1) of the last ``window``
    complete rows of ``factor_rets``; ``idiosyncratic = Σ_i E_i² σ²_ε,i`` (residuals assumed
    uncorrelated across symbols); ``total = systematic + idiosyncratic`` (daily dollars²).
    Shares are fractions of ``total``; annualised vols are ``sqrt(var × 252)`` in dollars and
    divided by ``equity``.

    Parameters
    ----------
    exposures : Series, symbol -> signed dollars.
    betas : DataFrame (symbol x factor), e.g. ``FactorBetas.betas``.
    residual_var : Series (symbol), daily residual variance, e.g. ``FactorBetas.residual_var``.
    factor_rets : DataFrame (date x factor) with at least the columns of ``betas``.
    equity : float, dollars, > 0.
    window : int, default 252 — use the regression window so Σ_F matches the betas.

    Symbols lacking finite betas or residual variance are left out and listed; ``coverage`` is
    the modelled share of gross exposure.

    Raises
    ------
    NoPositions, InsufficientHistory
        No exposure; no exposed symbol modelled or fewer than 2 factor dates.
    """
    exposures = clean_exposures(exposures)
    equity = check_positive_equity(equity)
    table = betas.astype(float).copy()
    table.loc[residual_var.reindex(table.index).isna().to_numpy()] = (
        np.nan
    )  # need betas and resid var
    modelled, left_out = _split_modelled(exposures, table, {}, "no_factor_betas")
    if not modelled:
        raise InsufficientHistory("no exposed symbol has factor betas", left_out=left_out)

    factors = factor_rets[list(table.columns)].astype(float).dropna(how="any").sort_index()
    factors = factors.iloc[-window:]
    if len(factors) < 2:
        raise InsufficientHistory(
            "not enough factor history for a covariance", required=2, available=len(factors)
        )
    e = exposures[modelled].to_numpy()
    b = e @ table.loc[modelled].to_numpy()
    cov_f = np.atleast_2d(np.cov(factors.to_numpy(), rowvar=False, ddof=1))
    contributions = b * (cov_f @ b)
    systematic = float(contributions.sum())
    idiosyncratic = float((e**2 * residual_var[modelled].to_numpy()).sum())
    total = systematic + idiosyncratic

    def vol(var: float) -> float:
        return math.sqrt(max(var, 0.0) * TRADING_DAYS_PER_YEAR)

    share = (lambda part: part / total) if total > 0 else (lambda part: float("nan"))
    gross = float(exposures.abs().sum())
    return RiskSplit(
        systematic_var=systematic,
        idiosyncratic_var=idiosyncratic,
        total_var=total,
        systematic_share=share(systematic),
        idiosyncratic_share=share(idiosyncratic),
        systematic_vol_annual=vol(systematic),
        idiosyncratic_vol_annual=vol(idiosyncratic),
        total_vol_annual=vol(total),
        systematic_vol_annual_of_equity=vol(systematic) / equity,
        idiosyncratic_vol_annual_of_equity=vol(idiosyncratic) / equity,
        total_vol_annual_of_equity=vol(total) / equity,
        factor_exposures=pd.Series(b, index=table.columns, name="exposure_dollar"),
        factor_contributions=pd.Series(contributions, index=table.columns, name="variance"),
        equity=equity,
        coverage=float(exposures[modelled].abs().sum()) / gross,
        left_out=tuple(left_out),
        factor_observations=len(factors),
        start=factors.index[0],
        end=factors.index[-1],
    )
