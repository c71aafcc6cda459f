"""Factor model: ETF-proxy factor returns, per-symbol OLS betas, portfolio exposures, risk split.

Eight factors (DESIGN "Methodology", risk model v2). Market = SPY's return and Rates = TLT's
return are raw. The six styles are *market-hedged* long/short returns: the style leg minus its
OLS hedge on the factors named in ``FactorSpec.hedge`` (fitted with an intercept on the
regression window, so on that window each style is uncorrelated with what it is hedged against):

* Value = r(VTV) - r(VUG) - h·Market: one value-minus-growth spread. The v1 spreads VTV - SPY and
  VUG - SPY were near mirror images (VIF 14.6 and 10.0 on the demo window).
* Growth = r(QQQ) - h₁·Market - h₂·Value: Nasdaq-100 growth beyond the market and the
  value-growth tilt (VUG beyond those two is tracking noise, σ ≈ 0.08 %/day).
* Momentum, Quality, Size, Low Volatility = r(MTUM | QUAL | IWM | USMV) - h·Market.

`vif` reports what collinearity is left (all below 5 on the demo window).

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
    DEFAULT_FACTOR_WINDOW,
    FACTOR_NAMES,
    MIN_FACTOR_OBSERVATIONS,
    TRADING_DAYS_PER_YEAR,
)
from webapp.analytics.errors import InsufficientHistory, NoPrices


@dataclass(frozen=True)
class FactorSpec:
    """One factor: its name, the ETFs that build it and how its return is built.

    ``construction`` is ``"raw"`` (the ETF's return) or ``"hedged"``: the leg
    ``r(etf_symbol) - r(short_symbol)`` (just ``r(etf_symbol)`` without a short leg) minus
    ``Σ_j h_j f_j`` over the factors in ``hedge``, ``h`` the OLS slopes (with intercept) of the leg
    on those factors over the regression window. The intercept is not subtracted, so a style keeps
    its average return; only its co-movement with the hedge factors is removed.
    """

    name: str
    etf_symbol: str
    construction: str
    description: str
    short_symbol: str | None = None
    hedge: tuple[str, ...] = ()

    @property
    def symbols(self) -> tuple[str, ...]:
        """The ETFs whose returns the factor needs."""
        return (self.etf_symbol,) + ((self.short_symbol,) if self.short_symbol else ())

    @property
    def formula(self) -> str:
        """The construction as text, e.g. ``r(VTV) - r(VUG) - h*Market``."""
        leg = f"r({self.etf_symbol})" + (f" - r({self.short_symbol})" if self.short_symbol else "")
        if len(self.hedge) == 1:
            return f"{leg} - h*{self.hedge[0]}"
        hedges = " - ".join(f"h{i}*{f}" for i, f in enumerate(self.hedge, start=1))
        return f"{leg} - {hedges}" if hedges else leg

    def to_dict(self) -> dict:
        """JSON-ready ``{name, etf_symbol, short_symbol, construction, hedge, formula, ...}``."""
        return {
            "name": self.name,
            "etf_symbol": self.etf_symbol,
            "short_symbol": self.short_symbol,
            "construction": self.construction,
            "hedged_against": list(self.hedge),
            "formula": self.formula,
            "description": self.description,
        }


_MARKET = ("Market",)
FACTORS: tuple[FactorSpec, ...] = (
    FactorSpec("Market", "SPY", "raw", "The US large-cap equity market: SPY's daily return."),
    FactorSpec(
        "Value",
        "VTV",
        "hedged",
        (
            "Value minus growth: VTV's return minus VUG's, hedged against the market. Replaces "
            "v1's two mirror spreads (VTV - SPY, VUG - SPY); a growth tilt is a negative Value "
            "beta."
        ),
        short_symbol="VUG",
        hedge=_MARKET,
    ),
    FactorSpec(
        "Growth",
        "QQQ",
        "hedged",
        (
            "Nasdaq-100 growth beyond the market and the value-growth spread: QQQ's return "
            "hedged against Market and Value (v1: VUG minus SPY)."
        ),
        hedge=("Market", "Value"),
    ),
    FactorSpec(
        "Momentum",
        "MTUM",
        "hedged",
        "Recent winners: MTUM's return hedged against the market.",
        hedge=_MARKET,
    ),
    FactorSpec(
        "Quality",
        "QUAL",
        "hedged",
        "Profitable, low-debt firms: QUAL's return hedged against the market.",
        hedge=_MARKET,
    ),
    FactorSpec(
        "Size",
        "IWM",
        "hedged",
        "Small caps: IWM's return hedged against the (large-cap) market.",
        hedge=_MARKET,
    ),
    FactorSpec(
        "Low Volatility",
        "USMV",
        "hedged",
        "Low-volatility stocks: USMV's return hedged against the market.",
        hedge=_MARKET,
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
FACTOR_ETFS: frozenset[str] = frozenset(s for spec in FACTORS for s in spec.symbols)

METHOD_BETAS = (
    "Per-symbol OLS with intercept of daily returns on the 8 factor returns over the window, "
    "using only dates where the symbol has a return; standard errors are the OLS ones "
    "(sqrt of scale x diag((X'X)^-1))."
)


# ---------------------------------------------------------------------------------------------
# Factor returns
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True, eq=False)
class FactorConstruction:
    """Factor returns and the hedge ratios they were built with.

    Attributes
    ----------
    returns : DataFrame (date x factor), decimal daily returns, columns ``FACTOR_NAMES``.
    hedge_ratios : dict factor -> {hedge factor -> h} (unitless OLS slopes).
    start, end : the dates the hedge ratios were fitted on; observations : how many.
    """

    returns: pd.DataFrame
    hedge_ratios: dict[str, dict[str, float]]
    start: pd.Timestamp
    end: pd.Timestamp
    observations: int

    def to_dict(self) -> dict:
        """JSON-ready: each factor with its formula and hedge ratios, plus the fit window."""
        return {
            "method": (
                "hedged style = leg - sum_j h_j f_j, h = OLS slopes (with intercept) of the leg on "
                "the hedge factors over the window; intercept not subtracted"
            ),
            "start": json_date(self.start),
            "end": json_date(self.end),
            "observations": self.observations,
            "factors": [
                {
                    **spec.to_dict(),
                    "hedge_ratios": {
                        f: json_float(h) for f, h in self.hedge_ratios.get(spec.name, {}).items()
                    },
                }
                for spec in FACTORS
            ],
        }


def factor_construction(
    etf_returns: pd.DataFrame, *, window: int = DEFAULT_FACTOR_WINDOW
) -> FactorConstruction:
    """Daily factor returns from the factor ETFs' daily simple returns, with their hedge ratios.

    ``f_Market = r_SPY``; ``f_Rates = r_TLT``; a hedged style is
    ``f = leg - Σ_j h_j f_j`` (see `FactorSpec`), factors built in ``FACTORS`` order so a hedge
    factor (Market, then Value for Growth) exists before it is used.

    Parameters
    ----------
    etf_returns : DataFrame, shape (T, >= 9)
        Daily simple returns (decimal) with at least the columns in ``FACTOR_ETFS``; other columns
        are ignored.
    window : int, default 252
        The hedge ratios are fitted on the last ``window`` complete dates (the regression window,
        so on it each style is exactly uncorrelated with its hedge factors) and applied to every
        date.

    Returns
    -------
    FactorConstruction
        ``returns``: shape (T', 8), columns ``FACTOR_NAMES``; only rows where *every* factor ETF has
        a return are kept (T' <= T), so no factor value is ever imputed.

    Raises
    ------
    NoPrices
        A factor ETF column is absent, or no date has returns for all of them.
    InsufficientHistory
        Fewer than 4 complete dates in the window (a hedge on 2 factors needs 3 coefficients).
    """
    missing = sorted(FACTOR_ETFS - set(etf_returns.columns))
    if missing:
        raise NoPrices(f"missing returns for factor ETFs {missing}", symbols=missing)
    etfs = etf_returns[sorted(FACTOR_ETFS)].astype(float).dropna(how="any").sort_index()
    if etfs.empty:
        raise NoPrices(
            "no date on which every factor ETF has a return", symbols=sorted(FACTOR_ETFS)
        )
    fit_rows = slice(max(len(etfs) - window, 0), len(etfs))
    if fit_rows.stop - fit_rows.start < 4:
        raise InsufficientHistory(
            "not enough factor ETF history for the hedge ratios",
            required=4,
            available=fit_rows.stop - fit_rows.start,
        )
    built: dict[str, pd.Series] = {}
    ratios: dict[str, dict[str, float]] = {}
    for spec in FACTORS:
        leg = etfs[spec.etf_symbol]
        if spec.short_symbol:
            leg = leg - etfs[spec.short_symbol]
        if spec.construction == "hedged":
            H = np.column_stack([built[f].to_numpy() for f in spec.hedge])
            X = np.column_stack([np.ones(len(H)), H])[fit_rows]
            coef, *_ = np.linalg.lstsq(X, leg.to_numpy()[fit_rows], rcond=None)
            ratios[spec.name] = {f: float(h) for f, h in zip(spec.hedge, coef[1:], strict=True)}
            leg = leg - H @ coef[1:]
        built[spec.name] = leg.rename(spec.name)
    returns = pd.DataFrame(built, index=etfs.index)[list(FACTOR_NAMES)]
    fitted = etfs.index[fit_rows]
    return FactorConstruction(
        returns=returns,
        hedge_ratios=ratios,
        start=fitted[0],
        end=fitted[-1],
        observations=len(fitted),
    )


def factor_returns(
    etf_returns: pd.DataFrame, *, window: int = DEFAULT_FACTOR_WINDOW
) -> pd.DataFrame:
    """Daily factor returns (date x ``FACTOR_NAMES``): `factor_construction`'s ``returns``."""
    return factor_construction(etf_returns, window=window).returns


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
    std_errors : DataFrame (same shape), OLS standard errors ``sqrt(scale · diag((X'X)⁻¹))`` in
        the coefficient's units (decimal return per day for alpha, unitless for betas); NaN for an
        exact fit, like the t-stats.
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
    std_errors: pd.DataFrame
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
                    "std_errors": {
                        c: json_float(self.std_errors.at[symbol, c])
                        for c in self.std_errors.columns
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
    exact = ~(ssr > _EXACT_FIT * tss)
    tvalues[:, exact] = np.nan
    se[:, exact] = np.nan
    return {"coef": coef, "t": tvalues, "se": se, "r2": r2, "scale": scale}


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
        Coefficients, standard errors, t-stats, R², daily residual variance and nobs per
        fitted symbol.

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
    ses = np.full((k, m), np.nan)
    r2 = np.full(m, np.nan)
    scale = np.full(m, np.nan)
    if m:
        for members in _group_by_pattern(mask[:, fitted]):
            rows = mask[:, fitted[members[0]]]
            out = _ols_batch(X[rows], Y[np.ix_(rows, fitted[members])])
            coef[:, members] = out["coef"]
            tvals[:, members] = out["t"]
            ses[:, members] = out["se"]
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
        std_errors=pd.DataFrame(ses.T, index=symbols, columns=["alpha", *names]),
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
    """Systematic vs idiosyncratic variance of the modelled book's backcast return on one window.

    Variances are of the daily portfolio return (decimal², return = P&L / equity):
    ``total = systematic + idiosyncratic + 2·cross`` to rounding (``identity_error``).
    Shares are decimal fractions of ``total_var`` (0.6 = 60 %), and
    ``systematic_share + idiosyncratic_share + cross_share = 1``. Volatilities are
    ``sqrt(var) × equity`` in dollars per day and × √252 per year. ``factor_contributions``
    splits ``systematic_var`` by factor (``b_f (Σ_F b)_f``; can be negative).
    ``idiosyncratic_var_uncorrelated`` is ``Σ_i w_i² var(ε_i)`` (w = E / equity), what the
    idiosyncratic part would be if residuals were uncorrelated across holdings.
    """

    systematic_var: float
    idiosyncratic_var: float
    cross_cov: float
    total_var: float
    identity_error: float
    idiosyncratic_var_uncorrelated: float
    systematic_share: float
    idiosyncratic_share: float
    cross_share: float
    equity: float
    factor_betas: pd.Series
    factor_contributions: pd.Series
    coverage: float
    left_out: tuple[dict, ...]
    lookback_days: int
    observations: int
    start: pd.Timestamp
    end: pd.Timestamp

    def vol_daily(self, var: float) -> float:
        """Dollar volatility per day of a return variance: ``sqrt(max(var, 0)) × equity``."""
        return math.sqrt(max(var, 0.0)) * self.equity

    def to_dict(self) -> dict:
        """JSON-ready dict: variances, variance shares, dollar volatilities, factors, coverage."""
        parts = {
            "systematic": self.systematic_var,
            "idiosyncratic": self.idiosyncratic_var,
            "total": self.total_var,
        }
        annual = math.sqrt(TRADING_DAYS_PER_YEAR)
        out = {
            "method": (
                "r_t = sum_i E_i r_i,t / equity (backcast); b = sum_i E_i beta_i / equity; "
                "systematic variance = b' Sigma_F b = var(b'f_t); idiosyncratic = var(e_t), "
                "e_t = r_t - b'f_t (the book's own residual: residual correlations count); "
                "total = var(r_t); total = systematic + idiosyncratic + 2 cov(b'f_t, e_t); "
                "sample (co)variances ddof=1 on the same dates; volatility $ = sqrt(variance) x "
                "equity, annualised x sqrt(252)"
            ),
            "units": {
                "variance": "daily portfolio return, decimal^2",
                "variance_share": "decimal fraction of total variance",
                "volatility_dollars_daily": "$ per day",
                "volatility_dollars_annual": "$ per year (x sqrt(252))",
                "volatility_annual_of_equity": "decimal fraction of equity per year",
            },
            "cross_cov": json_float(self.cross_cov),
            "cross_share": json_float(self.cross_share),
            "identity_error": json_float(self.identity_error),
            "idiosyncratic_var_uncorrelated": json_float(self.idiosyncratic_var_uncorrelated),
            "equity": json_float(self.equity),
            "factors": [
                {
                    "name": str(f),
                    "beta": json_float(self.factor_betas[f]),
                    "exposure_dollar": json_float(self.factor_betas[f] * self.equity),
                    "variance_contribution": json_float(self.factor_contributions[f]),
                    "variance_share": json_float(
                        self.factor_contributions[f] / self.total_var
                        if self.total_var > 0
                        else None
                    ),
                }
                for f in self.factor_betas.index
            ],
            "coverage": json_float(self.coverage),
            "left_out": [dict(x) for x in self.left_out],
            "lookback_days": self.lookback_days,
            "observations": self.observations,
            "start": json_date(self.start),
            "end": json_date(self.end),
        }
        for name, var in parts.items():
            daily = self.vol_daily(var)
            out[f"{name}_var"] = json_float(var)
            out[f"{name}_vol_dollars_daily"] = json_float(daily)
            out[f"{name}_vol_dollars_annual"] = json_float(daily * annual)
            out[f"{name}_vol_annual_of_equity"] = json_float(daily * annual / self.equity)
            if name != "total":
                out[f"{name}_share"] = json_float(getattr(self, f"{name}_share"))
        return out


_IDENTITY_RTOL = 1e-9  # the split is algebra: anything larger is a bug, not noise


def risk_split(
    exposures: pd.Series,
    betas: pd.DataFrame,
    returns: pd.DataFrame,
    factor_rets: pd.DataFrame,
    equity: float,
    *,
    lookback_days: int = DEFAULT_FACTOR_WINDOW,
) -> RiskSplit:
    """Split the backcast variance of the book into a factor and a residual part.

    On the dates where every modelled symbol and every factor has a return, within the last
    ``lookback_days`` rows of ``returns``:

    * ``r_t = Σ_i w_i r_i,t`` with ``w_i = E_i / equity`` (the backcast portfolio return);
    * ``b = Σ_i w_i β_i`` (portfolio factor betas = dollar exposures / equity);
    * systematic ``= bᵀ Σ_F b`` (Σ_F the sample factor covariance on those dates, ddof=1), which
      is ``var(bᵀ f_t)``;
    * idiosyncratic ``= var(ε_t)``, ``ε_t = r_t - bᵀ f_t`` = ``Σ_i w_i ε_i,t``: covariances
      between holdings' residuals count (``idiosyncratic_var_uncorrelated`` gives
      ``Σ_i w_i² var(ε_i,t)`` for comparison);
    * total ``= var(r_t)`` ``= systematic + idiosyncratic + 2 cov(bᵀ f_t, ε_t)``.

    The cross term is ~0 when the betas are OLS fits on the same dates (OLS residuals are
    uncorrelated with the regressors in sample); on a shorter look-back than the regression
    window it is whatever the data give, and is reported, never folded into a part.

    Parameters
    ----------
    exposures : Series, symbol -> signed dollars.
    betas : DataFrame (symbol x factor), e.g. ``FactorBetas.betas`` (fitted on any window).
    returns : DataFrame (date x symbol), daily simple returns up to the as-of date.
    factor_rets : DataFrame (date x factor) with at least the columns of ``betas``.
    equity : float, dollars, > 0.
    lookback_days : int, default 252 — the window (last rows of ``returns``), as the risk page's.

    Symbols without a full row of finite betas are left out and listed (reason
    ``no_factor_betas``), and so are symbols with no return in the window (``no_prices``);
    ``coverage`` is the modelled share of gross exposure.

    Raises
    ------
    NoPositions, InsufficientHistory
        No exposure; no exposed symbol modelled, or fewer than 2 complete dates.
    ArithmeticError
        The identity misses by more than 1e-9 × total (cannot happen barring a bug).
    """
    exposures = clean_exposures(exposures)
    equity = check_positive_equity(equity)
    if lookback_days < 2:
        raise ValueError("lookback_days must be >= 2")
    table = betas.astype(float)
    window = returns.sort_index().iloc[-lookback_days:]
    priced = window.columns[window.notna().any(axis=0)]
    modelled, left_out = _split_modelled(exposures, table, {}, "no_factor_betas")
    left_out += [
        {"symbol": str(s), "exposure": float(exposures[s]), "reason": NoPrices.reason}
        for s in modelled
        if s not in priced
    ]
    modelled = [s for s in modelled if s in priced]
    if not modelled:
        raise InsufficientHistory("no exposed symbol has factor betas", left_out=left_out)

    names = list(table.columns)
    frame = window[modelled].join(factor_rets[names], how="inner").astype(float).dropna()
    if len(frame) < 2:
        raise InsufficientHistory(
            "not enough complete dates for the risk split", required=2, available=len(frame)
        )
    w = exposures[modelled].to_numpy() / equity
    B = table.loc[modelled].to_numpy()  # N x K
    R = frame[modelled].to_numpy()  # T x N
    F = frame[names].to_numpy()  # T x K
    b = w @ B
    port = R @ w
    explained = F @ b
    resid_i = R - F @ B.T  # each holding's residual (its intercept only shifts the mean)
    resid = resid_i @ w  # = port - explained

    cov_f = np.atleast_2d(np.cov(F, rowvar=False, ddof=1))
    contributions = b * (cov_f @ b)
    systematic = float(contributions.sum())
    idiosyncratic = float(np.var(resid, ddof=1))
    cross = float(np.cov(explained, resid, ddof=1)[0, 1])
    total = float(np.var(port, ddof=1))
    error = systematic + idiosyncratic + 2.0 * cross - total
    if abs(error) > _IDENTITY_RTOL * max(total, np.finfo(float).tiny):
        raise ArithmeticError(f"risk split does not add up: off by {error:.3e}")
    uncorrelated = float((w**2 * np.var(resid_i, axis=0, ddof=1)).sum())

    def share(part: float) -> float:
        return part / total if total > 0 else float("nan")

    gross = float(exposures.abs().sum())
    return RiskSplit(
        systematic_var=systematic,
        idiosyncratic_var=idiosyncratic,
        cross_cov=cross,
        total_var=total,
        identity_error=float(error),
        idiosyncratic_var_uncorrelated=uncorrelated,
        systematic_share=share(systematic),
        idiosyncratic_share=share(idiosyncratic),
        cross_share=share(2.0 * cross),
        equity=equity,
        factor_betas=pd.Series(b, index=names, name="beta"),
        factor_contributions=pd.Series(contributions, index=names, name="variance"),
        coverage=float(exposures[modelled].abs().sum()) / gross,
        left_out=tuple(left_out),
        lookback_days=int(lookback_days),
        observations=len(frame),
        start=frame.index[0],
        end=frame.index[-1],
    )
