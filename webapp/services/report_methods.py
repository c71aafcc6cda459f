"""The report's methodology appendix: the formula of every figure it prints, and the data sources.

The formulas are the ones the pages show beside their numbers ("show the math"), written as
ReportLab paragraph markup (``<sub>``, ``<sup>``); ``data_sources`` names where the prices, the
rates, the sectors and the tolerance come from for this report.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from flask import current_app

from webapp.analytics.constants import MAX_PRICE_AGE_DAYS
from webapp.services.factor_exposures import factor_definitions
from webapp.services.risk_profile import tolerance_for

if TYPE_CHECKING:  # the sections module imports this one
    from webapp.services.report_sections import Context

Entry = tuple[str, str, str]  # (figure, formula markup, what it means in words)

BACKCAST = (
    "P&amp;L<sub>t</sub> = Σ<sub>i</sub> E<sub>i</sub> × r<sub>i,t</sub>, "
    "r<sub>t</sub> = P&amp;L<sub>t</sub> ÷ equity"
)
RF = "r<sub>f</sub> = (1 + y ÷ 100)<sup>1/252</sup> − 1, y = the 3-month T-bill yield (% a year)"

FORMULAS: dict[str, tuple[Entry, ...]] = {
    "holdings": (
        (
            "Market value",
            "quantity × price × multiplier (100 for an option); shorts negative",
            "Shares at the last adjusted close; options by Black–Scholes at the implied "
            "volatility given, else the underlying's 60-day realized volatility.",
        ),
        ("Equity", "Σ market values + cash", "What the account is worth."),
        ("% of equity", "market value ÷ equity", ""),
        (
            "Unrealized P&amp;L",
            "market value − cost basis (quantity × entry price × multiplier)",
            "",
        ),
        (
            "Sector weight",
            "Σ market value of the sector's holdings ÷ equity (an option counts in its "
            "underlying's sector)",
            "Sectors are GICS sectors from the security master; ETFs by asset class.",
        ),
    ),
    "exposures": (
        ("Long / short", "Σ market value of the long / short positions", ""),
        ("Gross and net", "gross = long + |short|, net = long + short", ""),
        (
            "Delta-adjusted",
            "option exposure = Δ × 100 × contracts × the underlying's price; "
            "shares at market value",
            "Δ from Black–Scholes: how many shares of the underlying the option moves like.",
        ),
    ),
    "risk": (
        (
            "Backcast",
            BACKCAST,
            "Each past day's returns r applied to today's delta-adjusted exposures E: the "
            "history of the book as it is held today.",
        ),
        (
            "Volatility",
            "σ<sub>year</sub> = s × √252, s = sample standard deviation (n − 1) of r<sub>t</sub>",
            "",
        ),
        (
            "Maximum drawdown",
            "min<sub>t</sub> (V<sub>t</sub> ÷ max<sub>u ≤ t</sub> V<sub>u</sub> − 1), "
            "V<sub>t</sub> = (1 + r<sub>1</sub>) × … × (1 + r<sub>t</sub>)",
            "",
        ),
        (
            "Beta",
            "β = cov(r<sub>book</sub>, r<sub>bench</sub>) ÷ var(r<sub>bench</sub>) "
            "(least-squares slope with an intercept)",
            "",
        ),
        (
            "Historical VaR and expected shortfall",
            "VaR<sub>c</sub> = −q<sub>1−c</sub>(r) (linear interpolation between the two "
            "nearest days); ES<sub>c</sub> = −average of the returns at or below q<sub>1−c</sub>",
            "One day, 95% and 99%; in dollars × equity.",
        ),
        (
            "VaR with options repriced",
            "P&amp;L<sub>d</sub> = Σ<sub>stocks</sub> E<sub>i</sub> r<sub>i,d</sub> + "
            "Σ<sub>options</sub> contracts × 100 × [BS(S (1 + r<sub>d</sub>)) − BS(S)]",
            "Today's volatility and days to expiry; no delta approximation.",
        ),
        ("Parametric VaR", "VaR<sub>c</sub> = z<sub>c</sub> × s (mean taken as 0)", ""),
        (
            "Tracking error and information ratio",
            "TE = s(r<sub>book</sub> − r<sub>bench</sub>) × √252; IR = average(r<sub>book</sub> "
            "− r<sub>bench</sub>) × 252 ÷ TE",
            "",
        ),
        (
            "Up / down capture",
            "average r<sub>book</sub> ÷ average r<sub>bench</sub> over the days the benchmark "
            "rose (fell)",
            "",
        ),
        (
            "Risk contribution",
            "RC<sub>i</sub> = E<sub>i</sub> (C E)<sub>i</sub> ÷ σ<sub>P</sub>, "
            "σ<sub>P</sub> = √(E<sup>T</sup> C E); Σ<sub>i</sub> RC<sub>i</sub> = σ<sub>P</sub>",
            "C = covariance of the holdings' daily returns; a negative contribution is a hedge.",
        ),
        (
            "Diversification score",
            "Σ<sub>i&lt;j</sub> w<sub>i</sub> w<sub>j</sub> |c<sub>ij</sub>| ÷ "
            "Σ<sub>i&lt;j</sub> w<sub>i</sub> w<sub>j</sub>, w = |E| ÷ Σ|E|",
            "c = the correlation of two holdings' daily returns over 90 trading days.",
        ),
    ),
    "stress": (
        (
            "Factors not named",
            "m<sub>other</sub> = C<sub>other,shocked</sub> C<sub>shocked</sub><sup>−1</sup> s",
            "The factors a scenario does not move go the way they usually do when the named ones "
            "move so (C: a blend of the stress days' and the last year's factor covariance).",
        ),
        (
            "Each holding's move",
            "r = Σ<sub>f</sub> β<sub>f</sub> m<sub>f</sub>, "
            "then move = 1/3 × market move + 2/3 × r "
            "(Blume); stock P&amp;L = market value × move (at least −100%)",
            "",
        ),
        (
            "Options",
            "P&amp;L = contracts × 100 × [BS(S (1 + move), σ + Δσ) − BS(S, σ)]",
            "Repriced in full; a long option loses at most its value.",
        ),
        (
            "Historical replays",
            "P&amp;L = market value × the holding's actual return over the episode",
            "Today's holdings replayed over a past episode.",
        ),
    ),
    "factors": (
        (
            "Factor betas",
            "r<sub>i,t</sub> = α<sub>i</sub> + Σ<sub>f</sub> β<sub>if</sub> F<sub>f,t</sub> + "
            "ε<sub>i,t</sub> (least squares, 252 trading days, at least 60)",
            "",
        ),
        (
            "Book beta and dollar exposure",
            "β<sub>f</sub> = Σ<sub>i</sub> E<sub>i</sub> β<sub>if</sub> ÷ equity; exposure "
            "<sub>f</sub> = Σ<sub>i</sub> E<sub>i</sub> β<sub>if</sub>",
            "",
        ),
        (
            "Systematic share",
            "b<sup>T</sup> Σ<sub>F</sub> b ÷ var(r), the rest the book's own residual",
            "",
        ),
    ),
    "performance": (
        (
            "Time-weighted return",
            "r<sub>t</sub> = (V<sub>t</sub> − F<sub>t</sub>) ÷ V<sub>t−1</sub> − 1, chained: "
            "(1 + r<sub>1</sub>) × … × (1 + r<sub>t</sub>) − 1",
            "V = the account's value at the close, F = the day's deposits − withdrawals.",
        ),
        (
            "Money-weighted return (IRR)",
            "the rate i with Σ<sub>k</sub> F<sub>k</sub> ÷ (1 + i)<sup>days<sub>k</sub>/365</sup> "
            "= value today",
            "",
        ),
        ("Sharpe ratio", f"average(r − r<sub>f</sub>) ÷ s(r − r<sub>f</sub>) × √252; {RF}", ""),
        (
            "Sortino ratio",
            "average(r − r<sub>f</sub>) ÷ √(average of min(r − r<sub>f</sub>, 0)<sup>2</sup>) "
            "× √252",
            "",
        ),
        (
            "Alpha and beta",
            "(1 + a)<sup>252</sup> − 1 and β, the intercept a and slope of (r − r<sub>f</sub>) "
            "on (r<sub>b</sub> − r<sub>f</sub>)",
            "",
        ),
    ),
    "forward_range": (
        (
            "Paths",
            "L<sub>T</sub> = Σ<sub>t ≤ T</sub> ln(1 + r<sub>t</sub>), whole historical days "
            "drawn with replacement (bootstrap)",
            "5,000 paths with a fixed seed: the same book and prices give the same numbers.",
        ),
        (
            "Outcome",
            "stocks E (e<sup>L</sup> − 1); options BS(S e<sup>L</sup>, days − t × 365/252) − "
            "BS today; outcome = P&amp;L ÷ equity",
            "Bands: the 5th to 95th percentiles across paths.",
        ),
        (
            "Risk score",
            "D = max(−p5<sub>6 months</sub>, 0); score = interpolation of D through 0% → 1, "
            "5% → 20, 10% → 38, 20% → 64, 30% → 80, 60% → 99",
            "Within 5 points of the client's questionnaire score reads as in line with it.",
        ),
    ),
    "proposal": (
        (
            "Current vs proposed",
            "difference = proposed − current",
            "The proposed book is the account with the session's trades booked through the "
            "ledger; both are calculated by the same engines.",
        ),
    ),
}


def formulas(key: str) -> tuple[Entry, ...]:
    """The formulas behind section ``key`` (none for the cover, methodology and disclaimer)."""
    return FORMULAS.get(key, ())


PROVIDERS = {
    "bundled": (
        "the bundled dataset of real daily closes (adjusted for splits and dividends), copied "
        "from public GitHub repositories that committed Yahoo Finance downloads"
    ),
    "fmp": "Financial Modeling Prep (daily adjusted closes)",
    "polygon": "Polygon.io (daily adjusted closes)",
}


def data_sources(ctx: Context) -> list[str]:
    """Where this report's inputs come from, in sentences."""
    provider = str(current_app.config.get("MARKETDATA_PROVIDER") or "bundled").lower()
    etfs = ", ".join(
        f"{d['name']} ({d['etf_symbol']})" for d in factor_definitions() if d.get("etf_symbol")
    )
    profile = tolerance_for(ctx.portfolio)
    tolerance = (
        f"the client's risk questionnaire of {profile.answered_at:%Y-%m-%d} "
        f"(version {profile.version}, score {profile.score})"
        if profile is not None
        else "none on file (no risk questionnaire for this client)"
    )
    return [
        f"Prices: {PROVIDERS.get(provider, provider)}; the last stored close on or before the "
        f"as-of date, a close older than {MAX_PRICE_AGE_DAYS} days counts as no price.",
        "Risk-free rate: the 13-week US Treasury bill yield, daily.",
        "Sectors and asset classes: the security master (GICS sectors).",
        f"Factor proxies: {etfs or 'the factor ETFs'}.",
        "Holdings, cash and transactions: the account's ledger as recorded by the advisor.",
        f"Risk tolerance: {tolerance}.",
        "Calculations: the nightly batch (or the advisor's Recalculate) stores every figure; "
        "this report reads those stored results and recalculates nothing.",
    ]
