"""A portfolio's benchmark: one symbol, or a fixed-weight blend rebalanced monthly.

Specs are strings an advisor types: ``"SPY"`` or ``"SPY:0.6,TLT:0.4"`` (symbol:weight pairs,
weights > 0 summing to 1). A blend is rebalanced to its target weights at the start of the first
trading day of each month — at the previous close, so that day's return already earns the
target weights — and drifts with prices in between. Its return over a calendar month is
therefore exactly Σ_i w_i R_i,month.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass

import numpy as np
import pandas as pd

from webapp.analytics.constants import BLEND_WEIGHT_TOLERANCE
from webapp.analytics.errors import InsufficientHistory, NoPrices
from webapp.analytics.returns import simple_returns

# Tickers as the dataset and the providers spell them: BRK-B, ^GSPC, BF.B.
_SYMBOL = re.compile(r"^\^?[A-Z0-9][A-Z0-9.\-]{0,14}$")


class BenchmarkSpecError(ValueError):
    """A benchmark spec that cannot be parsed; the message names the problem."""


@dataclass(frozen=True)
class BenchmarkSpec:
    """Parsed benchmark: ``(symbol, weight)`` components, weights summing to 1."""

    components: tuple[tuple[str, float], ...]

    @property
    def symbols(self) -> tuple[str, ...]:
        """The component symbols, in spec order."""
        return tuple(s for s, _ in self.components)

    @property
    def weights(self) -> np.ndarray:
        """Target weights (decimal), aligned with ``symbols``."""
        return np.array([w for _, w in self.components], dtype=float)

    @property
    def is_blend(self) -> bool:
        """True for more than one component."""
        return len(self.components) > 1

    def to_spec(self) -> str:
        """Canonical string: ``SPY`` or ``SPY:0.6,TLT:0.4`` (what ``parse_benchmark`` reads)."""
        if not self.is_blend:
            return self.components[0][0]
        return ",".join(f"{s}:{w:g}" for s, w in self.components)

    def to_dict(self) -> dict:
        """JSON-ready: the spec, its components and the rebalancing rule."""
        return {
            "spec": self.to_spec(),
            "components": [{"symbol": s, "weight": w} for s, w in self.components],
            "rebalancing": (
                "monthly, to target weights at the start of each month's first trading day; "
                "weights drift with prices in between"
                if self.is_blend
                else None
            ),
        }


def _parse_symbol(text: str, position: int) -> str:
    """Upper-cased ticker, or BenchmarkSpecError naming the component."""
    symbol = text.strip().upper()
    if not _SYMBOL.match(symbol):
        raise BenchmarkSpecError(
            f"component {position}: {text.strip()!r} is not a ticker symbol "
            "(letters, digits, '.', '-', an optional leading '^')"
        )
    return symbol


def _parse_weight(text: str, symbol: str) -> float:
    """A finite weight > 0, or BenchmarkSpecError naming the symbol."""
    try:
        weight = float(text)
    except ValueError:
        raise BenchmarkSpecError(
            f"the weight of {symbol}, {text.strip()!r}, is not a number"
        ) from None
    if not math.isfinite(weight):
        raise BenchmarkSpecError(f"the weight of {symbol} must be a finite number, got {text!r}")
    if weight <= 0.0:
        raise BenchmarkSpecError(f"the weight of {symbol} must be > 0, got {weight:g}")
    return weight


def _parse_component(part: str, position: int, alone: bool) -> tuple[str, float]:
    """One ``SYMBOL:WEIGHT`` (or, alone in the spec, a bare ``SYMBOL``)."""
    if not part.strip():
        raise BenchmarkSpecError(f"component {position} is empty (a stray comma?)")
    if ":" not in part:
        if alone:
            return _parse_symbol(part, position), 1.0
        raise BenchmarkSpecError(
            f"component {position}: {part.strip()!r} has no weight; a blend is written "
            "SYMBOL:WEIGHT,SYMBOL:WEIGHT (e.g. SPY:0.6,TLT:0.4)"
        )
    if part.count(":") > 1:
        raise BenchmarkSpecError(f"component {position}: {part.strip()!r} has more than one ':'")
    name, weight = part.split(":")
    symbol = _parse_symbol(name, position)
    return symbol, _parse_weight(weight, symbol)


def parse_benchmark(spec: str) -> BenchmarkSpec:
    """Parse ``"SPY"`` or a blend ``"SPY:0.6,TLT:0.4"`` into a `BenchmarkSpec`.

    Symbols are upper-cased and whitespace is ignored. A blend's weights must each be > 0 and
    sum to 1 within 1e-9 (``math.fsum``); a symbol may appear once.

    Parameters
    ----------
    spec : str
        The benchmark as typed.

    Returns
    -------
    BenchmarkSpec
        Components in spec order (a single symbol has weight 1).

    Raises
    ------
    BenchmarkSpecError
        (a ValueError) Empty spec or component, a component without a weight in a blend, a
        malformed symbol, a weight that is not a finite number > 0, a repeated symbol, or
        weights not summing to 1; the message says which.
    """
    if not isinstance(spec, str) or not spec.strip():
        raise BenchmarkSpecError("the benchmark is empty; give a symbol (SPY) or a blend")
    parts = spec.split(",")
    components = [_parse_component(p, i, len(parts) == 1) for i, p in enumerate(parts, 1)]
    symbols = [s for s, _ in components]
    repeated = sorted({s for s in symbols if symbols.count(s) > 1})
    if repeated:
        raise BenchmarkSpecError(f"{', '.join(repeated)} appears more than once in the blend")
    total = math.fsum(w for _, w in components)
    if abs(total - 1.0) > BLEND_WEIGHT_TOLERANCE:
        raise BenchmarkSpecError(
            f"the weights sum to {total:.12g}, not 1 (tolerance {BLEND_WEIGHT_TOLERANCE:g})"
        )
    return BenchmarkSpec(components=tuple(components))


def _component_closes(spec: BenchmarkSpec, prices: pd.DataFrame) -> pd.DataFrame:
    """Closes of every component on the dates where all of them have one (ascending)."""
    have = [s for s in spec.symbols if s in prices.columns and prices[s].notna().any()]
    missing = [s for s in spec.symbols if s not in have]
    if missing:
        raise NoPrices(
            f"no prices for benchmark symbol(s) {', '.join(missing)} ({spec.to_spec()})",
            symbols=missing,
            benchmark=spec.to_spec(),
        )
    closes = prices[list(spec.symbols)].sort_index().dropna(how="any").astype(float)
    if len(closes) < 2:
        raise InsufficientHistory(
            f"fewer than two dates on which every symbol of {spec.to_spec()} has a price",
            available=len(closes),
        )
    return closes


def benchmark_returns(spec: str | BenchmarkSpec, prices: pd.DataFrame) -> pd.Series:
    """Daily simple returns (decimal) of a benchmark.

    One symbol: ``r_t = P_t / P_{t−1} − 1`` of its adjusted close (`returns.simple_returns`;
    days without a genuine one-day return are dropped). A blend with target weights w, on the
    dates where every component has a close: within calendar month m, with
    ``G_i,t = Π_{s in m, s ≤ t} (1 + r_i,s)`` each component's growth since the month began,
    ``r_t = Σ_i w_i G_i,t / Σ_i w_i G_i,t−1 − 1`` (G = 1 before the month's first day) — the
    book is reset to w at the close before each month's first trading day and drifts after.

    Parameters
    ----------
    spec : str or BenchmarkSpec
        ``"SPY"`` or ``"SPY:0.6,TLT:0.4"`` (see `parse_benchmark`).
    prices : DataFrame
        Wide adjusted closes ($), DatetimeIndex ascending, a column per symbol, NaN for no bar.

    Returns
    -------
    Series
        Daily returns named by the canonical spec, on the return dates (first date dropped).

    Raises
    ------
    BenchmarkSpecError
        The spec does not parse.
    NoPrices
        A component has no price at all (details: ``symbols``).
    InsufficientHistory
        Fewer than two dates with a price for every component.
    """
    spec = spec if isinstance(spec, BenchmarkSpec) else parse_benchmark(spec)
    closes = _component_closes(spec, prices)
    name = spec.to_spec()
    if not spec.is_blend:
        return simple_returns(prices[[name]]).iloc[:, 0].dropna().rename(name)
    growth = closes / closes.shift(1)
    growth = growth.iloc[1:]
    month = growth.index.to_period("M")
    since_month_start = growth.groupby(month).cumprod()
    level = pd.Series(since_month_start.to_numpy() @ spec.weights, index=growth.index)
    before = level.groupby(month).shift(1).fillna(1.0)
    return (level / before - 1.0).rename(name)
