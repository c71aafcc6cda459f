"""Trade suggestions: the trades that move a book to a stated target, by closed form.

Every target here is linear in the size of the one trade that reaches it, so the size is solved
exactly rather than searched:

``beta``
    An index hedge. With equity ``V``, the book's beta ``b`` and a target ``b*``, a position of
    ``n`` index shares at price ``P`` (the index's own beta 1) moves the beta to
    ``b + n P / V``, so ``n = (b* - b) V / P`` (negative: sell or short the index).
``net_exposure``
    The same instrument: net exposure ``N`` (delta-adjusted, $) to ``x* V`` needs
    ``n = (x* V - N) / P``.
``weight``
    A trim (or add) of one underlying: its exposure ``E`` to ``w* V`` changes it by
    ``dE = w* V - E``; for a stock, ``dE / P`` shares (options on the name are left as they
    are, so the trim is in the stock).
``scenario_loss``
    A hedge of one stress scenario's loss ``L`` ($, negative) to ``l* V`` (``l*`` negative,
    e.g. -0.10) with an instrument whose scenario P&L per unit is ``h`` ($; the index short
    gains ``-m P`` when the scenario moves the index by ``m``; a put gains its repricing):
    ``n = (l* V - L) / h`` units, rounded up to whole units so the target is met.

One target is not linear in the trade, and is solved numerically:

``var``
    The index short that brings the 1-day historical VaR (delta-only backcast, the quantile rule
    of ``var.historical_var_es``) to ``v*``: with the book's daily backcast returns ``r`` and the
    index's ``r_I`` on the same days, the hedged return is ``r + (n P / V) r_I``, and
    ``f(n) = VaR(r + (n P / V) r_I) - v*`` is solved by Brent's method
    (``scipy.optimize.brentq``) on ``[n_min, 0]``, where ``n_min`` is the minimum-variance hedge
    ``-cov(r, r_I) / var(r_I) x V / P`` (VaR falls, not always strictly, as the short grows to
    it). Unattainable targets (below the VaR at the minimum-variance hedge) return that hedge,
    saying so.

Assumptions, stated with each suggestion: beta and exposures are linear in the trade (true for
stock and index trades; an option's delta changes with the market, so an option hedge of a
beta is not offered), the hedge trades at today's price, and its cost changes cash, not equity.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass

import numpy as np
from scipy.optimize import brentq

from webapp.analytics.var import historical_var_es

TARGET_KINDS = ("beta", "net_exposure", "weight", "scenario_loss", "var")


@dataclass(frozen=True)
class Suggestion:
    """One proposed trade and what it is expected to do.

    ``quantity`` is the number of shares or contracts (positive); ``kind`` the ledger entry
    (buy, sell, short, cover, option_open). ``expected`` is the targeted figure after the trade
    by the same linear rule (a fraction of equity for exposures and losses, a number for beta).
    """

    target: str
    kind: str
    symbol: str
    quantity: float
    price: float
    expected: float
    method: str
    position_type: str | None = None
    option: dict | None = None

    def to_dict(self) -> dict:
        """The suggestion's fields."""
        return asdict(self)

    def trade_fields(self) -> dict:
        """The ledger entry's fields as a modelling session takes them."""
        fields = {"kind": self.kind, "symbol": self.symbol, "quantity": self.quantity,
                  "price": self.price}  # fmt: skip
        if self.option:
            fields |= {"position_type": self.position_type, **self.option}
        return fields


def _index_trade(shares: float, held: float) -> tuple[str, float]:
    """The ledger kind that moves an index position of ``held`` shares by ``shares``: sell what
    is held long before shorting, cover a short before buying."""
    if shares >= 0:
        return ("cover", shares) if held < 0 else ("buy", shares)
    return ("sell", -shares) if held > 0 else ("short", -shares)


def _index_hedge(
    target_kind: str, current: float, target: float, *, equity: float, index_price: float,
    index_held: float, index: str, formula: str,
) -> Suggestion:  # fmt: skip
    """Whole index shares moving a figure that each share changes by ``P / V`` (a beta to the
    index, or net exposure as a fraction of equity) from ``current`` toward ``target``."""
    _positive(equity=equity, index_price=index_price)
    exact = (target - current) * equity / index_price
    shares = _whole(exact)
    kind, quantity = _index_trade(shares, index_held)
    return Suggestion(
        target=target_kind,
        kind=kind,
        symbol=index,
        quantity=quantity,
        price=index_price,
        expected=current + shares * index_price / equity,
        method=f"{formula} = {exact:,.2f} {index} shares",
    )


def hedge_beta(
    *, beta: float, target: float, equity: float, index_price: float, index_held: float = 0.0,
    index: str = "SPY",
) -> Suggestion:  # fmt: skip
    """Index shares that move the book's beta from ``beta`` to ``target``.

    ``n = (target - beta) x equity / index_price`` (whole shares, rounded toward the target);
    ``expected`` is the beta after those whole shares. ``index_held`` (shares, signed) decides
    between selling and shorting.
    """
    return _index_hedge(
        "beta", beta, target, equity=equity, index_price=index_price, index_held=index_held,
        index=index,
        formula=f"n = (b* - b) V / P = ({target:g} - {beta:.4f}) x {equity:,.0f} / "
        f"{index_price:,.2f} (index beta 1, linear)",
    )  # fmt: skip


def hedge_net_exposure(
    *, net_exposure: float, target: float, equity: float, index_price: float,
    index_held: float = 0.0, index: str = "SPY",
) -> Suggestion:  # fmt: skip
    """Index shares that move the net (delta-adjusted) exposure to ``target`` x equity."""
    _positive(equity=equity, index_price=index_price)
    return _index_hedge(
        "net_exposure", net_exposure / equity, target, equity=equity, index_price=index_price,
        index_held=index_held, index=index,
        formula=f"n = (x* V - N) / P = ({target:g} x {equity:,.0f} - {net_exposure:,.0f}) / "
        f"{index_price:,.2f}",
    )  # fmt: skip


def trim_weight(
    *, symbol: str, exposure: float, shares_held: float, target: float, equity: float,
    price: float,
) -> Suggestion:  # fmt: skip
    """Shares of ``symbol`` to sell (or buy) so its exposure is ``target`` x equity.

    ``dE = target V - E`` in the stock: ``dE / P`` shares, limited to the shares held when
    selling (a trim never turns a long into a short).
    """
    _positive(equity=equity, price=price)
    exact = (target * equity - exposure) / price
    if exact < 0:
        quantity = float(min(_whole(-exact, up=True), max(shares_held, 0.0)))
        kind, change = "sell", -quantity
    else:
        quantity = _whole(exact)
        kind, change = "buy", quantity
    return Suggestion(
        target="weight",
        kind=kind,
        symbol=symbol,
        quantity=quantity,
        price=price,
        expected=(exposure + change * price) / equity,
        method=f"shares = (w* V - E) / P = ({target:g} x {equity:,.0f} - {exposure:,.0f}) / "
        f"{price:,.2f} = {exact:,.2f}",
    )


def hedge_scenario(
    *, scenario: str, loss: float, target: float, equity: float, hedge_pnl_per_unit: float,
    symbol: str, price: float, kind: str = "short", position_type: str | None = None,
    option: dict | None = None, description: str = "",
) -> Suggestion | None:  # fmt: skip
    """Units of a hedge that bring a scenario's loss ``loss`` ($) to ``target`` x equity.

    ``n = ceil((target V - loss) / h)`` with ``h`` the hedge's scenario P&L per unit (> 0);
    None when the loss is already within the target. ``expected`` is the loss after the hedge
    as a fraction of equity, by the same linear rule (each unit adds ``h``).
    """
    _positive(equity=equity, price=price)
    gap = target * equity - loss  # $ the hedge must earn in the scenario (> 0 when short of it)
    if gap <= 0:
        return None
    if not hedge_pnl_per_unit > 0:
        raise ValueError("the hedge must gain in the scenario (hedge_pnl_per_unit > 0)")
    units = _whole(gap / hedge_pnl_per_unit, up=True)
    return Suggestion(
        target="scenario_loss",
        kind=kind,
        symbol=symbol,
        quantity=units,
        price=price,
        expected=(loss + units * hedge_pnl_per_unit) / equity,
        method=f"{scenario}: n = ceil((l* V - L) / h) = ceil(({target:g} x {equity:,.0f} - "
        f"({loss:,.0f})) / {hedge_pnl_per_unit:,.2f}) = {units:,.0f}{description}",
        position_type=position_type,
        option=option,
    )


def hedge_var(
    *, returns: np.ndarray, index_returns: np.ndarray, target: float, equity: float,
    index_price: float, confidence: float = 0.95, index_held: float = 0.0, index: str = "SPY",
) -> Suggestion | None:  # fmt: skip
    """Index shares (short) that bring the 1-day historical VaR of the backcast to ``target``.

    ``returns`` and ``index_returns`` are the book's backcast and the index's daily returns on
    the same days (decimal). None when the VaR is already at or below the target. Whole shares
    are rounded away from zero so the target is met (unless unattainable).
    """
    _positive(equity=equity, index_price=index_price)
    r, ri = np.asarray(returns, dtype=float), np.asarray(index_returns, dtype=float)
    if r.shape != ri.shape or len(r) < 2:
        raise ValueError("returns and index_returns must be aligned samples of 2 or more days")

    def var(n: float) -> float:
        return historical_var_es(r + n * index_price / equity * ri, confidence)[0]

    now = var(0.0)
    if now <= target:
        return None
    n_min = -float(np.cov(r, ri)[0, 1] / np.var(ri, ddof=1)) * equity / index_price
    n_min = min(n_min, 0.0)
    reachable = var(n_min) <= target
    exact = brentq(lambda n: var(n) - target, n_min, 0.0) if reachable else n_min
    shares = _whole(exact, up=reachable)
    kind, quantity = _index_trade(shares, index_held)
    note = "" if reachable else f"; {target:.2%} is below the minimum-variance hedge's VaR"
    return Suggestion(
        target="var",
        kind=kind,
        symbol=index,
        quantity=quantity,
        price=index_price,
        expected=var(shares),
        method=f"brentq on VaR(r + n P/V r_I) = {target:.4%} over [{n_min:,.0f}, 0] "
        f"({len(r)} days, {confidence:.0%}): n = {exact:,.1f}{note}",
    )


def _whole(x: float, *, up: bool = False) -> float:
    """Whole units: toward zero (never past the target), or away from it with ``up`` (to meet
    it); a value within 1e-6 of a whole number is that number (float noise)."""
    nearest = round(x)
    if abs(x - nearest) < 1e-6:
        return float(nearest)
    if up:
        return float(math.ceil(x) if x >= 0 else math.floor(x))
    return float(math.trunc(x))


def _positive(**values: float) -> None:
    for name, value in values.items():
        if not (value > 0 and math.isfinite(value)):
            raise ValueError(f"{name} must be positive, got {value}")
