"""Option values and Greeks (Black–Scholes) and the realized vol that feeds them.

The one Black–Scholes module. Every engine (valuation and Greeks, the value history, stress and
VaR revaluation, implied vol) evaluates the closed form on numpy arrays: ``black_scholes_vector``
(premiums) and ``black_scholes_greeks`` (premiums and Greeks), tested equal to mibian. mibian
stays the reference and the single-option calculator (``option_greeks``,
``black_scholes_price``). ``implied_vol`` root-finds a traded premium on the same closed form,
tested equal to mibian's ``impliedVolatility``.

Conventions: spot and strike in dollars per share, ``rate_pct`` the annual risk-free rate in
percent (mibian's unit), ``vol`` a decimal annual volatility (0.25 = 25%), ``days`` calendar days
to expiry counted from the as-of date (mibian uses days / 365). Greeks are per share of one
contract's deliverable; a position's Greeks are these × quantity × multiplier (signed by the
caller's quantity).
"""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import asdict, dataclass

import mibian
import numpy as np
import pandas as pd
from scipy.special import ndtr

from webapp.analytics.constants import (
    CALENDAR_DAYS_PER_YEAR,
    CALL_TYPES,
    MIN_VOL_OBSERVATIONS,
    REALIZED_VOL_WINDOW,
    TRADING_DAYS_PER_YEAR,
)
from webapp.analytics.errors import InsufficientHistory


@dataclass(frozen=True)
class Greeks:
    """Per-share value and sensitivities of one option.

    price: $ per share; delta: $ per $1 of underlying; gamma: delta per $1 of underlying;
    theta: $ per calendar day; vega: $ per 1 vol point (1%); rho: $ per 1 rate point (1%).
    """

    price: float
    delta: float
    gamma: float
    theta: float
    vega: float
    rho: float

    def to_dict(self) -> dict:
        """The per-share value and Greeks as a plain dict, keyed by field name."""
        return asdict(self)


def realized_vol(prices: pd.Series, window: int = REALIZED_VOL_WINDOW) -> float:
    """Annualized realized volatility (decimal) from daily adjusted closes.

    ``sigma = std(r, ddof=1) × √252`` over the last ``window`` daily simple returns
    ``r_t = P_t / P_{t-1} − 1``. NaNs are dropped before returns are taken, so a gap day
    contributes one multi-day return rather than a missing one.

    Parameters
    ----------
    prices : Series
        Adjusted closes ($ per share), ascending by date.
    window : int, default ``REALIZED_VOL_WINDOW`` (60)
        Number of most recent returns used.

    Returns
    -------
    float
        Annual volatility as a decimal (0.25 = 25%).

    Raises
    ------
    InsufficientHistory
        Fewer than ``MIN_VOL_OBSERVATIONS`` (20) returns.
    """
    clean = pd.Series(prices, dtype=float).dropna()
    returns = (clean / clean.shift(1) - 1.0).iloc[1:].iloc[-window:]
    if len(returns) < MIN_VOL_OBSERVATIONS:
        raise InsufficientHistory(
            f"{len(returns)} daily returns; realized vol needs at least {MIN_VOL_OBSERVATIONS}",
            observations=len(returns),
            required=MIN_VOL_OBSERVATIONS,
        )
    return float(returns.std(ddof=1) * math.sqrt(TRADING_DAYS_PER_YEAR))


def intrinsic_value(spot: float, strike: float, call: bool) -> float:
    """Value at expiry, $ per share: max(S − K, 0) for a call, max(K − S, 0) for a put."""
    return max(spot - strike, 0.0) if call else max(strike - spot, 0.0)


def option_greeks(
    spot: float, strike: float, rate_pct: float, vol: float, days: float, *, call: bool
) -> Greeks:
    """Black–Scholes value and Greeks of one option per share (mibian.BS, no dividends).

    The closed form of ``black_scholes_vector`` with t = days / 365, evaluated by mibian, which
    also gives the Greeks. At or past expiry (``days <= 0``) the option is worth its intrinsic
    value and its delta is 1/−1 in the money, 0 otherwise; the other Greeks are 0.

    Parameters
    ----------
    spot, strike : float
        Underlying price S and strike K, $ per share.
    rate_pct : float
        Risk-free rate, percent per year (4.5 = 4.5%; mibian's unit).
    vol : float
        Volatility, a decimal per year (0.25 = 25%); must be > 0 before expiry.
    days : float
        Calendar days to expiry.
    call : bool
        True for a call, False for a put.

    Returns
    -------
    Greeks
        Per share; units in ``Greeks``' docstring (theta per calendar day, vega and rho per
        point).

    Raises
    ------
    ValueError
        ``vol <= 0`` (or NaN) with ``days > 0``.
    """
    if days <= 0:
        itm = (spot > strike) if call else (spot < strike)
        return Greeks(
            price=intrinsic_value(spot, strike, call),
            delta=(1.0 if call else -1.0) if itm else 0.0,
            gamma=0.0,
            theta=0.0,
            vega=0.0,
            rho=0.0,
        )
    if not vol > 0:
        raise ValueError(f"volatility must be positive, got {vol!r}")
    bs = mibian.BS([spot, strike, rate_pct, days], volatility=vol * 100.0)
    return Greeks(
        price=float(bs.callPrice if call else bs.putPrice),
        delta=float(bs.callDelta if call else bs.putDelta),
        gamma=float(bs.gamma),
        theta=float(bs.callTheta if call else bs.putTheta),
        vega=float(bs.vega),
        rho=float(bs.callRho if call else bs.putRho),
    )


def black_scholes_price(
    spot: float, strike: float, rate: float, vol: float, days: float, *, call: bool = True
) -> float:
    """Black–Scholes premium of one option, $ per share: ``option_greeks(...).price``.

    Parameters
    ----------
    spot, strike : float
        $ per share.
    rate : float
        Risk-free rate as a decimal per year (0.045 = 4.5%), unlike ``option_greeks``' percent.
    vol : float
        Volatility, a decimal per year.
    days : float
        Calendar days to expiry; <= 0 gives the intrinsic value.
    call : bool, default True
        False for a put.
    """
    return option_greeks(spot, strike, rate * 100.0, vol, days, call=call).price


@dataclass(frozen=True)
class GreekArrays:
    """Per-share value and sensitivities of many options, one array element per option.

    Units as in ``Greeks``: price $ per share; delta $ per $1 of underlying; gamma delta per $1;
    theta $ per calendar day; vega $ per vol point (1%); rho $ per rate point (1%).
    """

    price: np.ndarray
    delta: np.ndarray
    gamma: np.ndarray
    theta: np.ndarray
    vega: np.ndarray
    rho: np.ndarray


class _ClosedForm:
    """The closed form's shared terms over broadcast inputs: the live elements (days > 0 and
    vol > 0) get t, d1, D = K e^(−r t), the sign s (+1 call, −1 put), N(s d1), N(s d2) and the
    premium s (S N(s d1) − D N(s d2)); the others their intrinsic value. Elements with
    days > 0 but no positive vol (``bad``) are NaN in every output."""

    def __init__(self, spot, strike, rate, vol, days, call) -> None:
        arrays = np.broadcast_arrays(
            np.asarray(spot, dtype=float),
            np.asarray(strike, dtype=float),
            np.asarray(rate, dtype=float),
            np.asarray(vol, dtype=float),
            np.asarray(days, dtype=float),
            np.asarray(call, dtype=bool),
        )
        self.shape = arrays[0].shape
        s, k, r, v, d, c = (np.array(a, dtype=a.dtype).ravel() for a in arrays)
        self.s, self.k, self.c = s, k, c
        self.live = live = (d > 0) & (v > 0)
        self.bad = (d > 0) & ~(v > 0)
        self.t = t = d[live] / CALENDAR_DAYS_PER_YEAR
        self.v, self.r = v[live], r[live]
        a = self.v * np.sqrt(t)
        with np.errstate(divide="ignore", invalid="ignore"):  # S or K <= 0: NaN, not a warning
            self.d1 = (np.log(s[live] / k[live]) + (self.r + self.v * self.v / 2.0) * t) / a
        self.disc = k[live] * np.exp(-self.r * t)
        self.sign = np.where(c[live], 1.0, -1.0)
        self.n1 = ndtr(self.sign * self.d1)
        self.n2 = ndtr(self.sign * (self.d1 - a))
        self.price = np.maximum(np.where(c, s - k, k - s), 0.0)
        self.price[live] = self.sign * (s[live] * self.n1 - self.disc * self.n2)

    def out(self, values: np.ndarray) -> np.ndarray:
        """``values`` with the ``bad`` elements NaN, in the inputs' broadcast shape."""
        values[self.bad] = np.nan
        return values.reshape(self.shape)


def black_scholes_vector(
    spot: np.ndarray | float,
    strike: np.ndarray | float,
    rate: np.ndarray | float,
    vol: np.ndarray | float,
    days: np.ndarray | float,
    call: np.ndarray | bool,
) -> np.ndarray:
    """Black–Scholes premium of many options at once ($ per share), on whole arrays.

    The closed form mibian evaluates (no dividends), element by element::

        t  = days / 365
        d1 = (ln(S / K) + (r + vol² / 2) t) / (vol √t),   d2 = d1 − vol √t
        call = S N(d1) − K e^(−r t) N(d2)
        put  = K e^(−r t) N(−d2) − S N(−d1)

    with N the standard normal CDF (``scipy.special.ndtr``). Where ``days <= 0`` (at or past
    expiry) the value is intrinsic, max(S − K, 0) for a call and max(K − S, 0) for a put.
    The premium alone skips the Greeks' extra terms (history and stress need only values);
    ``black_scholes_greeks`` gives both from the same d1/d2.

    Parameters
    ----------
    spot, strike : array_like of float
        Underlying price S and strike K, $ per share; NaN gives NaN.
    rate : array_like of float
        Risk-free rate r, a decimal per year (0.045 = 4.5%; mibian and ``option_greeks`` take
        percent).
    vol : array_like of float
        Volatility, a decimal per year (0.25 = 25%); where ``days > 0`` a vol that is not > 0
        gives NaN.
    days : array_like of float
        Calendar days to expiry (mibian's convention: t = days / 365).
    call : array_like of bool
        True for a call, False for a put.

    Returns
    -------
    ndarray of float
        Premium in $ per share (times quantity and multiplier for a position's value), the
        arguments' broadcast shape.
    """
    bs = _ClosedForm(spot, strike, rate, vol, days, call)
    return bs.out(bs.price)


def black_scholes_greeks(
    spot: np.ndarray | float,
    strike: np.ndarray | float,
    rate: np.ndarray | float,
    vol: np.ndarray | float,
    days: np.ndarray | float,
    call: np.ndarray | bool,
) -> GreekArrays:
    """Black–Scholes value and Greeks of many options at once, per share (mibian's formulas).

    With t, d1, d2 and N as in ``black_scholes_vector``, φ the standard normal density and
    D = K e^(−r t)::

        delta = N(d1) (call),  N(d1) − 1 (put)
        gamma = φ(d1) / (S vol √t)
        theta = (−S φ(d1) vol / (2 √t) − r D N(d2)) / 365  (call)
                (−S φ(d1) vol / (2 √t) + r D N(−d2)) / 365 (put)   — $ per calendar day
        vega  = S φ(d1) √t / 100                                  — $ per vol point
        rho   = t D N(d2) / 100 (call),  −t D N(−d2) / 100 (put)   — $ per rate point

    At or past expiry (``days <= 0``) the value is intrinsic, delta is 1 (call) / −1 (put) in
    the money and 0 otherwise, and the other Greeks are 0 — as ``option_greeks``. Where
    ``days > 0`` and the vol is not > 0 every field is NaN. Arguments as
    ``black_scholes_vector``; the result's arrays have their broadcast shape.
    """
    bs = _ClosedForm(spot, strike, rate, vol, days, call)
    live, sl = bs.live, bs.s[bs.live]
    itm = np.where(bs.c, bs.s > bs.k, bs.s < bs.k)
    delta = np.where(itm, np.where(bs.c, 1.0, -1.0), 0.0)
    gamma, theta, vega, rho = (np.zeros(len(bs.s)) for _ in range(4))
    pdf = np.exp(-0.5 * bs.d1 * bs.d1) / math.sqrt(2.0 * math.pi)
    root_t = np.sqrt(bs.t)
    delta[live] = bs.sign * bs.n1
    gamma[live] = pdf / (sl * bs.v * root_t)
    theta[live] = (
        -sl * pdf * bs.v / (2.0 * root_t) - bs.sign * bs.r * bs.disc * bs.n2
    ) / CALENDAR_DAYS_PER_YEAR
    vega[live] = sl * pdf * root_t / 100.0
    rho[live] = bs.sign * bs.t * bs.disc * bs.n2 / 100.0
    return GreekArrays(*(bs.out(f) for f in (bs.price, delta, gamma, theta, vega, rho)))


# The implied-vol bracket (decimal per year): 0.01% .. 500%. A premium outside the values these
# two vols give (below the discounted intrinsic, or above what 500% vol prices) has no root.
IV_BRACKET = (1e-4, 5.0)
_PUT_KINDS = ("PUT", "P", "LP", "SP")


def _is_call(kind: object) -> bool:
    """True for a call (``call``/``C`` or a call position type LC/SC), False for a put."""
    key = str(kind).strip().upper()
    if key in ("CALL", "C") or key in CALL_TYPES:
        return True
    if key in _PUT_KINDS:
        return False
    raise ValueError(f"option kind must be call/put (or LC/SC/LP/SP), got {kind!r}")


# Bisection steps: the bracket's width 5.0 halves each time, so 52 steps leave it below
# 5 / 2**52 ≈ 1.1e-15 — the root to about double precision wherever it is in the bracket.
_IV_STEPS = 52


def implied_vol(
    price: float | np.ndarray,
    spot: float | np.ndarray,
    strike: float | np.ndarray,
    days: float | np.ndarray,
    rate_pct: float | np.ndarray,
    kind: str | np.ndarray,
) -> float | np.ndarray:
    """Black–Scholes implied volatility (decimal per year) of option premiums, element by element.

    Solves ``BS(S, K, r, σ, t) = price`` for σ by bisection on ``black_scholes_vector``,
    every option at once (t = days / 365, r = rate_pct / 100, no dividends), bracketed in
    ``IV_BRACKET`` = [1e-4, 5.0]. The premium is increasing in σ, so the root is unique when it
    exists. Inputs broadcast against each other like numpy arrays.

    Parameters
    ----------
    price : float or array_like
        Option premium, $ per share (a contract's premium / multiplier).
    spot, strike : float or array_like
        Underlying price S and strike K, $ per share.
    days : float or array_like
        Calendar days to expiry.
    rate_pct : float or array_like
        Risk-free rate, percent per year (4.5 = 4.5%; mibian's unit).
    kind : str or array_like of str
        ``call``/``put`` (also ``C``/``P`` or a position type: LC/SC are calls, LP/SP puts).

    Returns
    -------
    float or ndarray of float
        σ as a decimal (0.25 = 25%); a float when every input is a scalar. NaN where there is no
        root in the bracket (a premium below the vol-0 value, i.e. below the discounted
        intrinsic, or above the 500%-vol value), at or past expiry (``days <= 0``), or where an
        input is NaN.

    Raises
    ------
    ValueError
        A ``kind`` that is neither a call nor a put.
    """
    arrays = np.broadcast_arrays(
        np.asarray(price, dtype=float),
        np.asarray(spot, dtype=float),
        np.asarray(strike, dtype=float),
        np.asarray(days, dtype=float),
        np.asarray(rate_pct, dtype=float) / 100.0,
        np.asarray(kind, dtype=object),
    )
    shape = arrays[0].shape
    p, s, k, d, r, kinds = (a.ravel() for a in arrays)
    call = np.array([_is_call(c) for c in kinds], dtype=bool)
    with np.errstate(invalid="ignore"):
        live = np.isfinite(p) & np.isfinite(s) & np.isfinite(k) & np.isfinite(r)
        live &= np.isfinite(d) & (d > 0) & (s > 0)
    out = np.full(p.shape, np.nan)
    if live.any():
        p, s, k, d, r, call = (a[live] for a in (p, s, k, d, r, call))
        lo = np.full(p.shape, IV_BRACKET[0])
        hi = np.full(p.shape, IV_BRACKET[1])
        f_lo = black_scholes_vector(s, k, r, lo, d, call) - p
        f_hi = black_scholes_vector(s, k, r, hi, d, call) - p
        # The premium rises with vol, so a root exists iff the premium lies between the ends.
        root = (f_lo <= 0) & (f_hi >= 0)
        for _ in range(_IV_STEPS):
            mid = 0.5 * (lo + hi)
            below = black_scholes_vector(s, k, r, mid, d, call) < p
            lo = np.where(below, mid, lo)
            hi = np.where(below, hi, mid)
        vol = np.where(
            f_lo == 0, IV_BRACKET[0], np.where(f_hi == 0, IV_BRACKET[1], 0.5 * (lo + hi))
        )
        out[live] = np.where(root, vol, np.nan)
    out = out.reshape(shape)
    return float(out) if out.ndim == 0 else out


def position_greeks(greeks: Greeks, quantity: float, multiplier: float) -> dict[str, float]:
    """A position's Greeks: per-share Greeks × quantity × multiplier.

    Parameters
    ----------
    greeks : Greeks
        Per share (``option_greeks``).
    quantity : float
        Contracts, signed (negative = short).
    multiplier : float
        Shares per contract (100 for a listed equity option).

    Returns
    -------
    dict
        ``delta, gamma, theta, vega, rho`` for the position, signed by quantity (delta in shares
        equivalent, theta $ per day, vega/rho $ per point).
    """
    scale = quantity * multiplier
    return {
        "delta": greeks.delta * scale,
        "gamma": greeks.gamma * scale,
        "theta": greeks.theta * scale,
        "vega": greeks.vega * scale,
        "rho": greeks.rho * scale,
    }


def days_to_expiry(
    expiry: dt.date | pd.Timestamp | str, as_of: dt.date | pd.Timestamp | str
) -> int:
    """Calendar days from the as-of date to expiry: ``expiry − as_of`` (negative once expired)."""
    return int((pd.Timestamp(expiry) - pd.Timestamp(as_of)).days)


__all__ = [
    "GreekArrays",
    "Greeks",
    "black_scholes_greeks",
    "black_scholes_price",
    "black_scholes_vector",
    "days_to_expiry",
    "implied_vol",
    "intrinsic_value",
    "option_greeks",
    "position_greeks",
    "realized_vol",
]
