"""Helpers more than one engine needs: JSON conversion and input checks.

Private to ``webapp.analytics`` (the leading underscore of the module): the engines import these
instead of each other's underscored names, so no engine depends on another's internals and a
change here is visibly a change to all of them. Nothing here is re-exported.
"""

from __future__ import annotations

import datetime as dt
import math

import numpy as np
import pandas as pd

from webapp.analytics.errors import NoPositions


def json_float(value: object) -> float | None:
    """A plain ``float`` for JSON, or None for None, NaN and ±inf.

    Parameters
    ----------
    value : object
        Anything ``float()`` accepts (Python or numpy number), or None.

    Returns
    -------
    float or None
        ``float(value)`` when finite; JSON has no NaN, so a missing number is null.
    """
    if value is None:
        return None
    value = float(value)
    return value if math.isfinite(value) else None


def json_date(value: object) -> str | None:
    """``YYYY-MM-DD`` for a date, datetime or Timestamp; None for None or NaT.

    A datetime keeps only its date (the engines work on daily closes).
    """
    if value is None or value is pd.NaT:
        return None
    if isinstance(value, (pd.Timestamp, dt.datetime)):
        return value.date().isoformat()
    if isinstance(value, dt.date):
        return value.isoformat()
    return pd.Timestamp(value).date().isoformat()


def clean_exposures(exposures: pd.Series) -> pd.Series:
    """Validated exposures: float dollars, zeros dropped, one row per symbol.

    Parameters
    ----------
    exposures : Series
        Symbol -> signed dollar exposure (delta-adjusted for options).

    Returns
    -------
    Series
        The non-zero exposures as floats ($), in input order.

    Raises
    ------
    NoPositions
        Nothing non-zero is left.
    ValueError
        An exposure is NaN, or a symbol is listed twice (the caller aggregates per underlying
        before calling an engine; summing here would hide a caller's bug).
    """
    if exposures is None or len(exposures) == 0:
        raise NoPositions("the portfolio has no positions")
    exposures = pd.Series(exposures, dtype=float)
    if exposures.isna().any():
        bad = [str(s) for s in exposures.index[exposures.isna()]]
        raise ValueError(f"exposures contain NaN for {bad}")
    if exposures.index.has_duplicates:
        dup = sorted({str(s) for s in exposures.index[exposures.index.duplicated()]})
        raise ValueError(f"exposures must be aggregated per symbol; duplicated: {dup}")
    exposures = exposures[exposures != 0.0]
    if exposures.empty:
        raise NoPositions("every position has zero exposure")
    return exposures


def check_positive_equity(equity: float) -> float:
    """Equity ($) as a float; it must be positive and finite because percentages divide by it.

    Raises
    ------
    ValueError
        ``equity`` is NaN, infinite, zero or negative.
    """
    equity = float(equity)
    if not math.isfinite(equity) or equity <= 0.0:
        raise ValueError(f"equity must be positive and finite, got {equity}")
    return equity


def check_finite_equity(equity: float) -> float:
    """Equity ($) as a float; any finite value, for results that stay defined at equity <= 0.

    A stress scenario's dollar P&L means something for a book with no or negative equity (only
    its percentage does not), so the stress engines accept it where the others refuse.

    Raises
    ------
    ValueError
        ``equity`` is NaN or infinite.
    """
    equity = float(equity)
    if not math.isfinite(equity):
        raise ValueError("equity must be finite")
    return equity


def take_or_nan(values: np.ndarray, where: np.ndarray) -> np.ndarray:
    """``values[where]`` as floats, NaN where ``where`` is -1 (``get_indexer``'s "not found").

    Parameters
    ----------
    values : ndarray of float, shape (n,)
    where : ndarray of int, shape (m,)
        Positions into ``values``, -1 for a label that was not found.

    Returns
    -------
    ndarray of float, shape (m,)
        A new array (``values`` is never written to).
    """
    out = values[where] if len(values) else np.full(len(where), np.nan)
    out[where < 0] = np.nan
    return out
