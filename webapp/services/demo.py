"""The three demo advisors and their books (``flask seed-demo``), built from the bundled dataset.

Books are defined by dollar targets; quantities come from the adjusted close on each entry date,
so entry prices are real closes and unrealized P&L is what the market actually did since then.
Option premiums at entry are Black–Scholes values (no option quotes ship with the dataset).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import select

from webapp.analytics.options import black_scholes_price, realized_vol
from webapp.extensions import db
from webapp.models import Portfolio, Position, PriceBar, Tag, User
from webapp.services.management import osi_symbol
from webapp.services.queries import latest_price_date, load_prices, risk_free_on

DEMO_PASSWORD = "demo12345"


@dataclass(frozen=True)
class Holding:
    """A demo stock or ETF position, sized in dollars at its entry date."""

    symbol: str
    dollars: float  # signed target at entry: negative = short
    entry: str  # YYYY-MM-DD (moved to the nearest earlier trading day)
    strategy: str | None = None
    tags: tuple[str, ...] = ()


@dataclass(frozen=True)
class OptionHolding:
    """A demo option position: signed contracts, strike relative to the underlying's price."""

    underlying: str
    kind: str  # C or P
    contracts: int  # signed: negative = written
    strike_pct: float  # strike as a fraction of the underlying's entry price, rounded to $5
    expiry: str
    entry: str
    strategy: str | None = None
    tags: tuple[str, ...] = ()


@dataclass(frozen=True)
class DemoBook:
    """One demo advisor and their portfolio: login, name, description, cash and holdings."""

    email: str
    full_name: str
    portfolio: str
    description: str
    cash: float
    holdings: tuple[Holding | OptionHolding, ...]


DEMO_BOOKS = (
    DemoBook(
        email="demo_individual@sigmasight.com",
        full_name="Demo Individual Investor",
        portfolio="Individual Growth & Income",
        description="A balanced individual account: large-cap stocks and core ETFs.",
        cash=12_500.0,
        holdings=(
            Holding("AAPL", 38_000, "2024-03-15", "Core equity", ("core", "tech")),
            Holding("MSFT", 36_000, "2024-03-15", "Core equity", ("core", "tech")),
            Holding("AMZN", 24_000, "2024-06-03", "Core equity", ("tech",)),
            Holding("GOOGL", 22_000, "2024-06-03", "Core equity", ("tech",)),
            Holding("NVDA", 18_000, "2024-09-16", "Growth", ("tech", "growth")),
            Holding("JPM", 20_000, "2023-11-01", "Core equity", ("financials",)),
            Holding("JNJ", 15_000, "2023-11-01", "Defensive", ("dividend",)),
            Holding("PG", 15_000, "2023-11-01", "Defensive", ("dividend",)),
            Holding("KO", 12_000, "2024-01-10", "Defensive", ("dividend",)),
            Holding("V", 16_000, "2024-01-10", "Core equity", ("financials",)),
            Holding("HD", 14_000, "2024-09-16", "Core equity", ()),
            Holding("XOM", 12_000, "2025-01-06", "Value", ("energy",)),
            Holding("SPY", 45_000, "2023-06-01", "Index core", ("core", "index")),
            Holding("QQQ", 25_000, "2023-06-01", "Index core", ("index", "growth")),
            Holding("VTV", 18_000, "2024-01-10", "Index core", ("index", "value")),
            Holding("TLT", 15_000, "2025-02-03", "Rates", ("bonds",)),
        ),
    ),
    DemoBook(
        email="demo_hnw@sigmasight.com",
        full_name="Demo High Net Worth Client",
        portfolio="HNW Diversified",
        description=(
            "A high-net-worth household: factor ETFs, sectors, gold, Treasuries, quality stocks."
        ),
        cash=185_000.0,
        holdings=(
            Holding("SPY", 420_000, "2022-11-01", "Core beta", ("core", "index")),
            Holding("IWM", 120_000, "2023-05-01", "Core beta", ("index", "small-cap")),
            Holding("VUG", 150_000, "2023-05-01", "Style tilt", ("growth",)),
            Holding("VTV", 150_000, "2023-05-01", "Style tilt", ("value",)),
            Holding("QUAL", 110_000, "2024-02-01", "Factor sleeve", ("factor",)),
            Holding("USMV", 100_000, "2024-02-01", "Factor sleeve", ("factor", "defensive")),
            Holding("MTUM", 90_000, "2024-02-01", "Factor sleeve", ("factor",)),
            Holding("XLF", 70_000, "2024-08-01", "Sector tilt", ("sector",)),
            Holding("XLV", 70_000, "2024-08-01", "Sector tilt", ("sector", "defensive")),
            Holding("XLE", 60_000, "2024-08-01", "Sector tilt", ("sector",)),
            Holding("GLD", 120_000, "2023-10-02", "Real assets", ("gold",)),
            Holding("TLT", 160_000, "2024-04-01", "Rates", ("bonds",)),
            Holding("BRK-B", 130_000, "2022-11-01", "Quality stocks", ("quality",)),
            Holding("COST", 80_000, "2023-03-01", "Quality stocks", ("quality",)),
            Holding("LLY", 75_000, "2023-03-01", "Quality stocks", ("quality",)),
            Holding("MA", 80_000, "2023-03-01", "Quality stocks", ("quality",)),
            Holding("UNP", 60_000, "2024-04-01", "Quality stocks", ("quality",)),
        ),
    ),
    DemoBook(
        email="demo_hedgefundstyle@sigmasight.com",
        full_name="Demo Hedge Fund Style",
        portfolio="Long/Short Opportunities",
        description=(
            "A long/short book with option overlays: "
            "longs, shorts, and long and short calls and puts."
        ),
        cash=1_250_000.0,
        holdings=(
            Holding("NVDA", 420_000, "2025-04-08", "AI leaders", ("long", "tech")),
            Holding("MSFT", 350_000, "2025-04-08", "AI leaders", ("long", "tech")),
            Holding("META", 300_000, "2025-05-01", "AI leaders", ("long", "tech")),
            Holding("AMZN", 280_000, "2025-05-01", "AI leaders", ("long", "tech")),
            Holding("GOOGL", 260_000, "2025-06-02", "AI leaders", ("long", "tech")),
            Holding("AVGO", 240_000, "2025-06-02", "AI leaders", ("long", "tech")),
            Holding("LLY", 200_000, "2025-08-01", "Healthcare", ("long",)),
            Holding("JPM", 220_000, "2025-03-03", "Financials", ("long",)),
            Holding("GS", 180_000, "2025-03-03", "Financials", ("long",)),
            Holding("COST", 150_000, "2025-09-02", "Consumer", ("long",)),
            Holding("CAT", 160_000, "2025-09-02", "Industrials", ("long",)),
            Holding("NFLX", 140_000, "2025-10-01", "Consumer", ("long",)),
            Holding("TSLA", -220_000, "2025-12-01", "Shorts", ("short",)),
            Holding("INTC", -150_000, "2025-10-01", "Shorts", ("short",)),
            Holding("BA", -140_000, "2025-11-03", "Shorts", ("short",)),
            Holding("NKE", -120_000, "2025-11-03", "Shorts", ("short",)),
            Holding("DIS", -110_000, "2026-01-05", "Shorts", ("short",)),
            Holding("PFE", -100_000, "2026-01-05", "Shorts", ("short",)),
            Holding("CVS", -90_000, "2026-02-02", "Shorts", ("short",)),
            Holding("XLU", -150_000, "2026-02-02", "Hedges", ("short", "hedge")),
            OptionHolding(
                "AAPL", "C", 40, 1.05, "2026-10-16", "2026-06-01", "Options overlay", ("options",)
            ),
            OptionHolding(
                "NVDA", "C", 30, 1.10, "2026-12-18", "2026-06-01", "Options overlay", ("options",)
            ),
            OptionHolding(
                "META", "C", 15, 1.05, "2026-09-18", "2026-07-01", "Options overlay", ("options",)
            ),
            OptionHolding(
                "SPY", "P", 60, 0.95, "2026-09-18", "2026-06-15", "Hedges", ("options", "hedge")
            ),
            OptionHolding(
                "QQQ", "P", 40, 0.93, "2026-12-18", "2026-06-15", "Hedges", ("options", "hedge")
            ),
            OptionHolding(
                "MSFT", "C", -20, 1.10, "2026-09-18", "2026-07-01", "Income", ("options", "income")
            ),
            OptionHolding(
                "XOM", "C", -50, 1.08, "2026-10-16", "2026-07-01", "Income", ("options", "income")
            ),
            OptionHolding(
                "AMD", "P", -30, 0.90, "2026-09-18", "2026-07-01", "Income", ("options", "income")
            ),
            OptionHolding(
                "JPM", "P", -25, 0.92, "2026-10-16", "2026-07-01", "Income", ("options", "income")
            ),
            OptionHolding(
                "GOOGL", "P", -20, 0.90, "2027-01-15", "2026-07-01", "Income", ("options", "income")
            ),
        ),
    ),
)


def _entry_close(symbol: str, day: dt.date) -> tuple[dt.date, float]:
    row = db.session.execute(
        select(PriceBar.date, PriceBar.adj_close)
        .where(PriceBar.symbol == symbol, PriceBar.date <= day)
        .order_by(PriceBar.date.desc())
        .limit(1)
    ).first()
    if row is None:
        raise RuntimeError(f"no price for {symbol} on or before {day}; run `flask marketdata sync`")
    return row[0], float(row[1])


def _tags(user: User, names: tuple[str, ...], cache: dict[str, Tag]) -> list[Tag]:
    out = []
    for name in names:
        if name not in cache:
            cache[name] = Tag(user_id=user.id, name=name)
            db.session.add(cache[name])
        out.append(cache[name])
    return out


def _stock_position(h: Holding) -> Position:
    day, price = _entry_close(h.symbol, dt.date.fromisoformat(h.entry))
    quantity = max(1, round(abs(h.dollars) / price)) * (1 if h.dollars > 0 else -1)
    return Position(
        symbol=h.symbol,
        position_type="LONG" if quantity > 0 else "SHORT",
        quantity=float(quantity),
        entry_price=round(price, 4),
        entry_date=day,
        multiplier=1.0,
    )


def _option_position(h: OptionHolding) -> Position:
    day, spot = _entry_close(h.underlying, dt.date.fromisoformat(h.entry))
    expiry = dt.date.fromisoformat(h.expiry)
    strike = max(5.0, round(spot * h.strike_pct / 5.0) * 5.0)
    history = load_prices([h.underlying], day - dt.timedelta(days=120), day)[h.underlying]
    vol = realized_vol(history)
    rate = risk_free_on(day) or 0.0
    premium = black_scholes_price(
        spot, strike, rate / 100.0, vol, (expiry - day).days, call=h.kind == "C"
    )
    long = h.contracts > 0
    return Position(
        symbol=osi_symbol(h.underlying, expiry, h.kind, strike),
        position_type=("L" if long else "S") + h.kind,
        quantity=float(h.contracts),
        entry_price=round(premium, 4),
        entry_date=day,
        underlying_symbol=h.underlying,
        strike_price=strike,
        expiration_date=expiry,
        multiplier=100.0,
    )


def seed_demo() -> list[str]:
    """Create missing demo users and books; existing ones are left untouched (idempotent)."""
    as_of = latest_price_date()
    if as_of is None:
        raise RuntimeError("no market data stored; run `flask marketdata sync` first")
    created = []
    for book in DEMO_BOOKS:
        user = db.session.scalar(select(User).where(User.email == book.email))
        if user is None:
            user = User(email=book.email, full_name=book.full_name)
            # Not users.create_user: the published demo password would fail the account policy.
            user.set_password(DEMO_PASSWORD)
            db.session.add(user)
            db.session.flush()
            created.append(book.email)
        exists = db.session.scalar(
            select(Portfolio).where(Portfolio.user_id == user.id, Portfolio.name == book.portfolio)
        )
        if exists is not None:
            continue
        portfolio = Portfolio(
            user_id=user.id, name=book.portfolio, description=book.description, cash=book.cash
        )
        tag_cache = {
            t.name: t for t in db.session.scalars(select(Tag).where(Tag.user_id == user.id))
        }
        # The entry-price lookups would otherwise autoflush half-built positions.
        with db.session.no_autoflush:
            for h in book.holdings:
                position = (
                    _option_position(h) if isinstance(h, OptionHolding) else _stock_position(h)
                )
                position.strategy = h.strategy
                position.tags = _tags(user, h.tags, tag_cache)
                portfolio.positions.append(position)
        db.session.add(portfolio)
        created.append(f"{book.email}: {book.portfolio} ({len(book.holdings)} positions)")
    db.session.commit()
    return created
