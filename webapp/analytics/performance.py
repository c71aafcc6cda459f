"""Daily value history of the current holdings and period returns against a benchmark.

The history replays today's positions from their entry dates at stored closes: a position counts
from its entry date on, at quantity × close × multiplier; cash is held at today's balance. A
position's cost (quantity × entry price × multiplier) on its entry date is treated as an external
flow, so buying does not show up as a gain: daily P&L_t = V_t − V_{t−1} − flows_t and the daily
return is P&L_t / V_{t−1}. Options are valued by Black–Scholes at each day's underlying close with
the volatility used today (no historical option quotes ship with the dataset).

``ledger_history`` replays a transactions ledger instead: holdings and cash change on the days
trades happen, so nothing is assumed about today's book in the past. Each option lot keeps the
vol implied by its own opening premium, so a lot bought at fair value is worth its cost on the
entry day (no phantom P&L from repricing it at a different vol).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass
from typing import NamedTuple

import numpy as np
import pandas as pd

from webapp.analytics.constants import (
    CALL_TYPES,
    MAX_PRICE_AGE_DAYS,
    OPTION_MULTIPLIER,
    OPTION_TYPES,
)
from webapp.analytics.errors import InsufficientHistory, NoPositions, NoPrices
from webapp.analytics.options import black_scholes_vector, implied_vol, realized_vol

PERIODS = ("1M", "3M", "YTD", "1Y")


@dataclass(frozen=True)
class ValueHistory:
    """Daily rows: value, market values, P&L and return (decimals), indexed by date."""

    frame: pd.DataFrame  # columns: equity, long_mv, short_mv, daily_pnl, daily_return, positions


def value_history(
    valued: pd.DataFrame,
    prices: pd.DataFrame,
    cash: float,
    as_of: dt.date | pd.Timestamp,
    rate_pct: float,
) -> ValueHistory:
    """Replay the valued holdings day by day.

    ``valued`` is ``exposures.value_holdings`` output; only its status ``ok`` rows are replayed.

    Position i on day t is worth V_it = quantity × multiplier × P_it from its first trading day
    on or after the entry date, 0 before, where P_it is the underlying's close carried forward
    over gaps (stocks) or the Black–Scholes value at that close (options); a missing close counts
    as 0. Book value V_t = Σ_i V_it + cash; flows_t = Σ quantity × entry price × multiplier of
    the positions entering on t; P&L_t = V_t − V_{t−1} − flows_t; return_t = P&L_t / V_{t−1}.
    long_mv/short_mv sum the positive/negative V_it; ``positions`` counts V_it ≠ 0.

    Parameters
    ----------
    valued : DataFrame
        ``exposures.value_holdings`` output: ``status, underlying, position_type, quantity,
        multiplier, entry_date, entry_price`` and, for options, ``strike, expiry, vol``.
    prices : DataFrame
        Wide adjusted closes ($ per share), DatetimeIndex ascending; its dates are the calendar.
    cash : float
        Cash balance ($), held constant.
    as_of : date or Timestamp
        Last day of the history.
    rate_pct : float
        Risk-free rate, percent per year, for the option values.

    Returns
    -------
    ValueHistory
        One row per trading day of ``prices`` from the first entry date to ``as_of``; dollars
        except ``daily_return`` (decimal) and ``positions`` (a count). The first row's P&L and
        return are NaN.

    Raises
    ------
    NoPositions
        No row of ``valued`` has status ``ok``.
    InsufficientHistory
        Fewer than two trading days from the first entry date to ``as_of``.
    """
    ok = valued[valued["status"] == "ok"]
    if ok.empty:
        raise NoPositions("no valued positions to build a history from")
    as_of = pd.Timestamp(as_of)
    start = pd.Timestamp(min(ok["entry_date"]))
    calendar = prices.index[(prices.index >= start) & (prices.index <= as_of)]
    if len(calendar) < 2:
        raise InsufficientHistory("fewer than two trading days since the first entry date")
    underlying = ok["underlying"].to_numpy(dtype=object)
    symbols = list(dict.fromkeys(underlying))
    # Closes carried forward within the calendar only (never from before the first entry).
    paths = prices[symbols].reindex(calendar).ffill().to_numpy(dtype=float)
    # Positions x days.
    per_share = np.ascontiguousarray(paths.T[pd.Index(symbols).get_indexer(underlying)])
    qm = np.array([float(q) * float(m) for q, m in zip(ok["quantity"], ok["multiplier"])])
    ptype = ok["position_type"].to_numpy(dtype=object)
    for i in np.flatnonzero(np.isin(ptype, OPTION_TYPES)):
        row = ok.iloc[i]
        days = (pd.Timestamp(row["expiry"]) - calendar).days.to_numpy()
        per_share[i] = black_scholes_vector(
            per_share[i],
            float(row["strike"]),
            rate_pct / 100.0,
            float(row["vol"]),
            days,
            ptype[i] in CALL_TYPES,
        )
    first = np.array(
        [calendar.searchsorted(pd.Timestamp(d), side="left") for d in ok["entry_date"]],
        dtype=np.intp,
    )
    held = np.arange(len(calendar))[None, :] >= first[:, None]
    mv = np.where(held, qm[:, None] * per_share, 0.0)
    mv[np.isnan(mv)] = 0.0
    # Sums over positions are sequential (rows of a C-ordered array, reduced along axis 0), and
    # the order is the one the former column-by-column frame summed in: the last position, then
    # the others in book order. Another order moves equity in its last bit, which daily P&L
    # (a difference of two equities) shows at ~1e-9 $; keeping it keeps stored results identical.
    mv = mv[np.r_[len(mv) - 1, 0 : len(mv) - 1]]
    flows = np.zeros(len(calendar))
    entered = first < len(calendar)
    cost = qm * np.array([float(e) for e in ok["entry_price"]])
    np.add.at(flows, first[entered], cost[entered])  # in book order, like flows[t] += cost
    equity = pd.Series(mv.sum(axis=0), index=calendar) + float(cash)
    pnl = equity.diff() - pd.Series(flows, index=calendar)
    pnl.iloc[0] = np.nan
    prev = equity.shift(1)
    frame = pd.DataFrame(
        {
            "equity": equity,
            "long_mv": np.where(mv >= 0, mv, 0.0).sum(axis=0),
            "short_mv": np.where(mv <= 0, mv, 0.0).sum(axis=0),
            "daily_pnl": pnl,
            "daily_return": pnl / prev,
            "positions": (mv != 0).sum(axis=0),
        },
        index=calendar,
    )
    return ValueHistory(frame=frame)


def period_start(as_of: pd.Timestamp, period: str) -> pd.Timestamp:
    """First day of a trailing period: 1M/3M/1Y calendar months back; YTD = the prior year-end."""
    if period == "1M":
        return as_of - pd.DateOffset(months=1)
    if period == "3M":
        return as_of - pd.DateOffset(months=3)
    if period == "1Y":
        return as_of - pd.DateOffset(years=1)
    if period == "YTD":
        return pd.Timestamp(year=as_of.year - 1, month=12, day=31)
    raise ValueError(f"unknown period {period!r}; choose from {PERIODS}")


def period_returns(
    daily_returns: pd.Series, benchmark_returns: pd.Series, as_of: dt.date | pd.Timestamp
) -> list[dict]:
    """Compounded return Π(1 + r_t) − 1 over each period for the book and the benchmark.

    Uses the days after the period start up to ``as_of``. A period whose start comes more than
    five calendar days before the book's first return is reported with ``available: False``
    (reason ``insufficient_history``); the slack lets a start on a weekend or holiday count.

    Parameters
    ----------
    daily_returns, benchmark_returns : Series
        Daily simple returns (decimal) indexed by date; NaNs are dropped.
    as_of : date or Timestamp
        End of every period.

    Returns
    -------
    list of dict
        One per period of ``PERIODS`` (1M, 3M, YTD, 1Y): ``period, available, start`` and, when
        available, ``return``, ``benchmark_return``, ``excess_return`` (decimals) and ``days``.
    """
    as_of = pd.Timestamp(as_of)
    book = daily_returns.dropna()
    out = []
    for period in PERIODS:
        start = period_start(as_of, period)
        if book.empty or book.index[0] > start + pd.Timedelta(days=5):
            out.append(
                {
                    "period": period,
                    "available": False,
                    "reason": "insufficient_history",
                    "start": start.date().isoformat(),
                }
            )
            continue
        mask = (book.index > start) & (book.index <= as_of)
        bench = benchmark_returns[
            (benchmark_returns.index > start) & (benchmark_returns.index <= as_of)
        ]
        port = float((1 + book[mask]).prod() - 1)
        bm = float((1 + bench.dropna()).prod() - 1)
        out.append(
            {
                "period": period,
                "available": True,
                "start": start.date().isoformat(),
                "return": port,
                "benchmark_return": bm,
                "excess_return": port - bm,
                "days": int(mask.sum()),
            }
        )
    return out


# ---------------------------------------------------------------------------------------------
# Ledger replay
# ---------------------------------------------------------------------------------------------

LEDGER_COLUMNS = (
    "trade_date",
    "kind",
    "instrument",
    "underlying",
    "position_type",
    "quantity_delta",
    "multiplier",
    "amount",
    "is_flow",
    "price",
    "strike",
    "expiry",
    "implied_vol",
)
# Quantities closer to 0 than this are flat: halves of a lot summed in floats leave ~1e-16.
_FLAT = 1e-9
# Where an option lot's constant vol came from, in the order they are tried.
VOL_STORED = "stored"  # the ledger row's implied_vol
VOL_PREMIUM = "entry_premium"  # solved from the opening premium at the trade date's close
VOL_REALIZED = "realized"  # the underlying's realized vol at the trade date (no root)
VOL_EXPIRED = "expired"  # opened at or after expiry: worth intrinsic, no vol needed


@dataclass(frozen=True)
class LedgerHistory:
    """Daily book built from a transactions ledger, indexed by trading day.

    ``frame`` columns: cash, long_mv, short_mv, equity, flows ($) and positions (a count).
    ``market_values``: signed $ per instrument per day. ``lots``: one row per option lot
    (instrument, opened, quantity, vol, vol_source). ``vol_source``: instrument -> the sources
    of its lots' vols (``+``-joined when lots differ).
    """

    frame: pd.DataFrame
    market_values: pd.DataFrame
    lots: pd.DataFrame
    vol_source: dict[str, str]

    @property
    def values(self) -> pd.Series:
        """End-of-day book value V_t = equity ($): the TWR engine's ``values``."""
        return self.frame["equity"].rename("value")

    @property
    def flows(self) -> pd.Series:
        """External flows F_t ($, deposits +, withdrawals −) per day: the TWR engine's ``flows``."""
        return self.frame["flows"].rename("flow")


@dataclass
class _Lot:
    """One option lot: its constant vol and the (day, quantity change) events that shape it."""

    opened: int
    vol: float
    vol_source: str
    quantity: float
    events: list[tuple[int, float]]


class _Closes:
    """Closes of the ledger's symbols carried forward at most ``MAX_PRICE_AGE_DAYS``."""

    def __init__(self, prices: pd.DataFrame, calendar: pd.DatetimeIndex) -> None:
        self.prices = prices
        self.calendar = calendar
        self._cache: dict[str, tuple[np.ndarray, np.ndarray]] = {}
        self._valid: dict[str, tuple[pd.DatetimeIndex, np.ndarray]] = {}

    def _closes(self, symbol: str) -> tuple[pd.DatetimeIndex, np.ndarray]:
        """The symbol's dates with a close and those closes (once per symbol: one per option
        lot's ``on`` was a dropna of the whole history each time)."""
        if symbol not in self._valid:
            series = self.prices[symbol].dropna()
            self._valid[symbol] = (series.index, series.to_numpy(dtype=float))
        return self._valid[symbol]

    def _carried(self, symbol: str, dates: pd.DatetimeIndex) -> tuple[np.ndarray, np.ndarray]:
        """The last close on or before each date and its age in calendar days (inf: none)."""
        values = np.full(len(dates), np.nan)
        age = np.full(len(dates), np.inf)
        if symbol not in self.prices.columns:
            return values, age
        index, closes = self._closes(symbol)
        where = index.searchsorted(dates, side="right") - 1
        has = where >= 0
        values[has] = closes[where[has]]
        age[has] = (dates[has] - index[where[has]]).days
        return values, age

    def _check(
        self, symbol: str, dates: pd.DatetimeIndex, age: np.ndarray, needed: np.ndarray
    ) -> None:
        """Raise NoPrices naming the first ``needed`` date whose close is older than allowed."""
        stale = needed & (age > MAX_PRICE_AGE_DAYS)
        if stale.any():
            day = dates[np.flatnonzero(stale)[0]].date().isoformat()
            raise NoPrices(
                f"no close for {symbol} within {MAX_PRICE_AGE_DAYS} days of {day}",
                symbol=symbol,
                date=day,
                max_age_days=MAX_PRICE_AGE_DAYS,
            )

    def path(self, symbol: str, needed: np.ndarray) -> np.ndarray:
        """Closes on every calendar day; raises NoPrices if a ``needed`` day has none fresh."""
        if symbol not in self._cache:
            self._cache[symbol] = self._carried(symbol, self.calendar)
        values, age = self._cache[symbol]
        self._check(symbol, self.calendar, age, needed)
        return values

    def on(self, symbol: str, date: pd.Timestamp) -> float:
        """The close standing for one date (e.g. an expiry); raises NoPrices if none fresh."""
        dates = pd.DatetimeIndex([date])
        values, age = self._carried(symbol, dates)
        self._check(symbol, dates, age, np.array([True]))
        return float(values[0])


def _normalised_ledger(transactions: pd.DataFrame) -> pd.DataFrame:
    """The ledger with parsed dates and numbers, stably sorted by trade date (trade order kept)."""
    missing = [c for c in LEDGER_COLUMNS if c not in transactions.columns]
    if missing:
        raise ValueError(f"transactions lack columns {missing}")
    if transactions.empty:
        raise NoPositions("the ledger has no transactions")
    ledger = transactions.reset_index(drop=True).copy()
    ledger["trade_date"] = pd.to_datetime(ledger["trade_date"]).dt.normalize()
    ledger["amount"] = pd.to_numeric(ledger["amount"], errors="coerce").astype(float)
    if ledger["amount"].isna().any():
        raise ValueError("every transaction needs a cash amount (0 for none)")
    ledger["quantity_delta"] = pd.to_numeric(ledger["quantity_delta"]).fillna(0.0).astype(float)
    ledger["is_flow"] = ledger["is_flow"].fillna(False).astype(bool)
    moves = ledger["quantity_delta"].abs() > _FLAT
    if ledger.loc[moves, "instrument"].isna().any():
        raise ValueError("a transaction that changes a quantity needs an instrument")
    return ledger.sort_values("trade_date", kind="stable").reset_index(drop=True)


def _ledger_calendar(
    first: pd.Timestamp,
    prices: pd.DataFrame,
    as_of: pd.Timestamp,
    trading_days: pd.DatetimeIndex | None,
) -> pd.DatetimeIndex:
    """Trading days (``trading_days``, else ``prices``' dates) from ``first`` to ``as_of``."""
    days = pd.DatetimeIndex(prices.index if trading_days is None else trading_days)
    days = days.normalize().unique().sort_values()
    calendar = days[(days >= first) & (days <= as_of)]
    if calendar.empty:
        raise InsufficientHistory(
            f"no trading day from the first transaction {first.date()} to {as_of.date()}",
            available=0,
        )
    return calendar


# An instrument's terms, each the first non-null value among its rows (``groupby.first``).
_TERMS = ("position_type", "strike", "expiry", "multiplier", "underlying")


def _term(terms: dict, column: str, default: object = None) -> object:
    """``terms[column]`` (one instrument's first non-null value), else ``default``."""
    value = terms.get(column)
    return default if value is None or pd.isna(value) else value


class _Trade(NamedTuple):
    """One ledger row of an option instrument, as the lot replay reads it."""

    row: int  # the row's label in the ledger
    day: int
    quantity_delta: float
    implied_vol: float
    price: float
    underlying: str
    instrument: str


def _trades(rows: pd.DataFrame) -> list[_Trade]:
    """``rows`` as ``_Trade`` tuples, column-wise (``itertuples`` builds a class per call)."""
    columns = [rows.index.to_numpy(), *(rows[name].to_numpy() for name in _Trade._fields[1:])]
    return [_Trade._make(values) for values in zip(*columns, strict=True)]


def _quantity_path(days: np.ndarray, deltas: np.ndarray, n: int) -> np.ndarray:
    """Quantity held at each day's close: the running sum of the changes booked by that day."""
    q = np.bincount(days, weights=deltas, minlength=n).cumsum()
    q[np.abs(q) < _FLAT] = 0.0
    return q


def _entry_vols(
    moves: pd.DataFrame, all_terms: dict[str, dict], closes: _Closes, rate_pct: float
) -> dict[int, float]:
    """The vol each option row's premium implies at its trade date's close, all solved at once.

    Keyed by ledger row label; only rows ``_lot_vol`` would solve (no stored vol, not expired)
    whose underlying has a fresh close that day — the others take ``_lot_vol``'s own path, which
    raises NoPrices for a stale close. NaN where the premium has no root.
    """
    terms = {i: t for i, t in all_terms.items() if str(_term(t, "position_type")) in OPTION_TYPES}
    rows = moves[moves["instrument"].isin(list(terms))]
    stored = pd.to_numeric(rows["implied_vol"], errors="coerce").to_numpy(dtype=float)
    rows = rows[~(stored > 0)]
    if rows.empty:
        return {}
    instrument = rows["instrument"].to_numpy()
    strike = np.array([float(_term(terms[i], "strike")) for i in instrument])
    expiry = pd.DatetimeIndex([pd.Timestamp(_term(terms[i], "expiry")) for i in instrument])
    call = np.array([str(_term(terms[i], "position_type")) in CALL_TYPES for i in instrument])
    trade_day = closes.calendar[rows["day"].to_numpy()]
    days = (expiry.normalize() - trade_day).days.to_numpy()
    spot = np.full(len(rows), np.nan)
    fresh = np.zeros(len(rows), dtype=bool)
    underlying = rows["underlying"].to_numpy()
    for symbol in pd.unique(underlying):
        at = np.flatnonzero(underlying == symbol)
        values, age = closes._carried(str(symbol), trade_day[at])
        spot[at], fresh[at] = values, age <= MAX_PRICE_AGE_DAYS
    solve = fresh & (days > 0)
    premium = pd.to_numeric(rows["price"], errors="coerce").to_numpy(dtype=float)
    vols = implied_vol(
        premium[solve],
        spot[solve],
        strike[solve],
        days[solve],
        rate_pct,
        np.where(call[solve], "call", "put"),
    )
    return dict(zip(rows.index[solve].tolist(), np.atleast_1d(vols).tolist(), strict=True))


def _lot_vol(
    row: _Trade,
    closes: _Closes,
    rate_pct: float,
    strike: float,
    expiry: pd.Timestamp,
    call: bool,
    entry_vols: dict[int, float],
) -> tuple[float, str]:
    """(vol, source) held constant over a new lot's life: stored, else implied, else realized.

    ``entry_vols`` holds the implied vols already solved (``_entry_vols``).
    """
    stored = float(row.implied_vol) if pd.notna(row.implied_vol) else np.nan
    if stored > 0:
        return stored, VOL_STORED
    trade_day = closes.calendar[row.day]
    days = (expiry - trade_day).days
    if days <= 0:
        return np.nan, VOL_EXPIRED
    # The trade happens at the close, so the premium is solved against that close.
    iv = entry_vols.get(row.row)
    if iv is None:
        spot = closes.on(row.underlying, trade_day)
        premium = float(row.price) if pd.notna(row.price) else np.nan
        iv = implied_vol(premium, spot, strike, days, rate_pct, "call" if call else "put")
    if np.isfinite(iv):
        return iv, VOL_PREMIUM
    history = closes.prices[row.underlying].loc[:trade_day]
    try:
        return realized_vol(history), VOL_REALIZED
    except InsufficientHistory as exc:
        raise InsufficientHistory(
            f"{row.instrument}: no implied vol from its premium and {exc.message}",
            symbol=row.underlying,
            date=trade_day.date().isoformat(),
            **exc.details,
        ) from exc


def _replay_lots(rows: pd.DataFrame, new_vol: Callable[[_Trade], tuple[float, str]]) -> list[_Lot]:
    """Option lots after replaying an instrument's rows: opposite trades close lots FIFO first.

    A change against the held direction shrinks the oldest lots; what is left of it (or a change
    with the held direction) opens a new lot whose vol ``new_vol(row)`` fixes once.
    """
    lots: list[_Lot] = []
    open_lots: list[_Lot] = []
    for row in _trades(rows):
        delta = float(row.quantity_delta)
        for lot in open_lots:
            if abs(delta) <= _FLAT or np.sign(lot.quantity) == np.sign(delta):
                break
            take = np.sign(delta) * min(abs(delta), abs(lot.quantity))
            lot.quantity += take
            lot.events.append((row.day, take))
            delta -= take
        open_lots = [lot for lot in open_lots if abs(lot.quantity) > _FLAT]
        if abs(delta) > _FLAT:
            vol, source = new_vol(row)
            lot = _Lot(row.day, vol, source, delta, [(row.day, delta)])
            lots.append(lot)
            open_lots.append(lot)
    return lots


def _option_values(
    rows: pd.DataFrame,
    terms: dict,
    closes: _Closes,
    rate_pct: float,
    entry_vols: dict[int, float],
) -> tuple[np.ndarray, np.ndarray, list[_Lot]]:
    """Signed market value ($) and quantity per day of one option instrument, and its lots.

    Lot k is worth q_k,t × multiplier × BS(S_t, K, r, σ_k, T − t) at each close, with S_t the
    underlying's close and T − t calendar days to expiry; after expiry, intrinsic at the close
    standing for the expiry date (the option's value was fixed then).
    """
    calendar = closes.calendar
    call = str(_term(terms, "position_type")) in CALL_TYPES
    strike = float(_term(terms, "strike"))
    expiry = pd.Timestamp(_term(terms, "expiry")).normalize()
    multiplier = float(_term(terms, "multiplier", OPTION_MULTIPLIER))
    underlying = str(_term(terms, "underlying"))
    lots = _replay_lots(
        rows, lambda r: _lot_vol(r, closes, rate_pct, strike, expiry, call, entry_vols)
    )
    n = len(calendar)
    quantity = _quantity_path(rows["day"].to_numpy(), rows["quantity_delta"].to_numpy(), n)
    held = quantity != 0
    live = calendar <= expiry
    spot = closes.path(underlying, held & live).copy()
    if (held & ~live).any():
        spot[~live] = closes.on(underlying, expiry)
    days = np.maximum((expiry - calendar).days.to_numpy(), 0)
    mv = np.zeros(n)
    for lot in lots:
        days_l, deltas_l = zip(*lot.events, strict=True)
        q = _quantity_path(np.array(days_l), np.array(deltas_l), n)
        if not q.any():
            continue
        unit = black_scholes_vector(spot, strike, rate_pct / 100.0, lot.vol, days, call)
        mv += np.where(q != 0, q * multiplier * unit, 0.0)
    return mv, quantity, lots


def _stock_values(
    rows: pd.DataFrame, terms: dict, closes: _Closes
) -> tuple[np.ndarray, np.ndarray]:
    """Signed market value ($) and quantity per day of one stock: q_t × multiplier × close_t."""
    n = len(closes.calendar)
    quantity = _quantity_path(rows["day"].to_numpy(), rows["quantity_delta"].to_numpy(), n)
    held = quantity != 0
    spot = closes.path(str(_term(terms, "underlying", rows["instrument"].iloc[0])), held)
    multiplier = float(_term(terms, "multiplier", 1.0))
    return np.where(held, quantity * multiplier * spot, 0.0), quantity


def _lots_frame(records: list[tuple[str, _Lot]], calendar: pd.DatetimeIndex) -> pd.DataFrame:
    """One row per option lot: instrument, opened (date), opening quantity, vol, vol_source."""
    return pd.DataFrame(
        [
            {
                "instrument": instrument,
                "opened": calendar[lot.opened].date(),
                "quantity": lot.events[0][1],
                "vol": lot.vol,
                "vol_source": lot.vol_source,
            }
            for instrument, lot in records
        ],
        columns=["instrument", "opened", "quantity", "vol", "vol_source"],
    )


def ledger_history(
    transactions: pd.DataFrame,
    prices: pd.DataFrame,
    as_of: dt.date | pd.Timestamp,
    rate_pct: float,
    *,
    trading_days: pd.DatetimeIndex | None = None,
) -> LedgerHistory:
    """Replay a transactions ledger day by day: cash, market values and equity at each close.

    Trades happen at the close of their trade date (the first trading day on or after it): that
    day's cash moves by the row's ``amount`` and the instrument's quantity by its
    ``quantity_delta``. At each close t::

        cash_t   = Σ_{rows booked by t} amount
        MV_i,t   = q_i,t × multiplier_i × P_i,t          (signed: shorts negative)
        equity_t = cash_t + Σ_i MV_i,t
        flows_t  = Σ_{is_flow rows booked on t} amount   (deposits +, withdrawals −)

    P is the underlying's adjusted close for a stock. For an option lot it is the Black–Scholes
    value (``black_scholes_vector``, rate ``rate_pct``) at the underlying's close with calendar
    days to expiry counted from t and one vol σ held constant over the lot's life, chosen in
    this order: the row's ``implied_vol`` if positive (``stored``); else the vol that prices the
    opening premium at the trade date's close (``entry_premium``: the lot is then worth its cost
    on the entry day); else, with no root, the underlying's 60-day realized vol at the trade date
    (``realized``). Lots of one instrument close first-in first-out. After its expiry date an
    option still held is worth intrinsic at the close standing for the expiry date; its
    option_expire/option_assign row sets the quantity to 0. A missing close is carried forward
    up to ``MAX_PRICE_AGE_DAYS`` (7) calendar days.

    Parameters
    ----------
    transactions : DataFrame
        One row per transaction in trade order, columns ``LEDGER_COLUMNS``: ``trade_date``,
        ``kind``, ``instrument`` (symbol or OSI key; None for cash rows), ``underlying`` (price
        symbol), ``position_type``, ``quantity_delta`` (signed change of the held quantity),
        ``multiplier``, ``amount`` (signed cash effect, $), ``is_flow``, ``price`` ($ per share
        of the deliverable: an option premium per share, not per contract), ``strike``,
        ``expiry``, ``implied_vol`` (decimal; NaN to solve it). Only ``quantity_delta`` and
        ``amount`` drive the replay; ``kind`` is carried for the caller.
    prices : DataFrame
        Wide adjusted closes ($ per share), DatetimeIndex ascending, a column per symbol; also
        the realized-vol history before the ledger starts.
    as_of : date or Timestamp
        Last day of the history. Rows dated after the last trading day on or before it would
        take effect on a later day and are left out.
    rate_pct : float
        Risk-free rate, percent per year, for option values and implied vols.
    trading_days : DatetimeIndex, optional
        The calendar (e.g. the benchmark's dates); default ``prices``' dates.

    Returns
    -------
    LedgerHistory
        One row per trading day from the first transaction to ``as_of``: ``cash, long_mv,
        short_mv, equity, flows`` ($) and ``positions`` (instruments with a non-zero quantity);
        ``values``/``flows`` for ``twr.twr_returns`` (a flow is in that day's value).

    Raises
    ------
    NoPositions
        The ledger is empty.
    InsufficientHistory
        No trading day from the first transaction to ``as_of``, or an option needing the
        realized-vol fallback has too little history (symbol and date in ``details``).
    NoPrices
        A held instrument (or an option's underlying on its trade date) has no close within
        ``MAX_PRICE_AGE_DAYS`` of a day (symbol and date in ``details``).
    ValueError
        Missing columns, a row without an amount, or a quantity change without an instrument.
    """
    ledger = _normalised_ledger(transactions)
    as_of = pd.Timestamp(as_of).normalize()
    calendar = _ledger_calendar(ledger["trade_date"].iloc[0], prices, as_of, trading_days)
    ledger["day"] = calendar.searchsorted(ledger["trade_date"], side="left")
    ledger = ledger[ledger["day"] < len(calendar)]
    n = len(calendar)
    day = ledger["day"].to_numpy()
    amount = ledger["amount"].to_numpy()
    flow = ledger["is_flow"].to_numpy()
    cash = np.bincount(day, weights=amount, minlength=n).cumsum()
    flows = np.bincount(day[flow], weights=amount[flow], minlength=n)
    closes = _Closes(prices, calendar)
    values: dict[str, np.ndarray] = {}
    held = np.zeros(n, dtype=int)
    records: list[tuple[str, _Lot]] = []
    moves = ledger[ledger["quantity_delta"].abs() > _FLAT]
    by_instrument = moves.groupby("instrument", sort=False)
    # One grouped pass for every instrument's terms instead of a dropna per column and row set.
    all_terms = by_instrument[list(_TERMS)].first().to_dict("index")
    entry_vols = _entry_vols(moves, all_terms, closes, rate_pct)
    for instrument, rows in by_instrument:
        terms = all_terms[instrument]
        if str(_term(terms, "position_type")) in OPTION_TYPES:
            mv, quantity, lots = _option_values(rows, terms, closes, rate_pct, entry_vols)
            records += [(instrument, lot) for lot in lots]
        else:
            mv, quantity = _stock_values(rows, terms, closes)
        values[instrument] = mv
        held += quantity != 0
    market_values = pd.DataFrame(values, index=calendar, columns=list(values), dtype=float)
    mv = market_values.to_numpy()
    frame = pd.DataFrame(
        {
            "cash": cash,
            "long_mv": np.where(mv > 0, mv, 0.0).sum(axis=1),
            "short_mv": np.where(mv < 0, mv, 0.0).sum(axis=1),
            "equity": cash + mv.sum(axis=1),
            "flows": flows,
            "positions": held,
        },
        index=calendar,
    )
    lots_frame = _lots_frame(records, calendar)
    vol_source = {
        str(k): "+".join(dict.fromkeys(g))
        for k, g in lots_frame.groupby("instrument")["vol_source"]
    }
    return LedgerHistory(frame, market_values, lots_frame, vol_source)
