"""The client report's sections: each reads the stored results a page reads and lays them out.

Every number comes from the same service as its page (nothing is recalculated) and is printed by
the pages' own Jinja filters (``webapp.formatting`` and ``webapp.readings``, registered on the
app), so "-$70,909" in the report is the string the Stress page shows. The services sit below the
presentation layer, so the filters are taken from the app's Jinja environment rather than
imported. A section whose result is not available says why, in words.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from flask import current_app
from reportlab.lib.units import inch
from reportlab.platypus import Flowable, Image, PageBreak

from webapp.models import ModellingSession, Portfolio, ReportTemplate, User
from webapp.services import report_pdf as kit
from webapp.services.correlations import diversification_score
from webapp.services.factor_exposures import factor_exposures
from webapp.services.impacts import impacts
from webapp.services.modelling import trade_rows
from webapp.services.overview import overview
from webapp.services.performance import performance
from webapp.services.report_methods import data_sources, formulas
from webapp.services.results import Result
from webapp.services.risk_metrics import risk_metrics
from webapp.services.risk_profile import forward_range, risk_score
from webapp.services.stress_tests import stress_test

RISK_WINDOW = 252  # the report's risk look-back: one year, as the impacts and the book list read
TOP_CONTRIBUTORS = 10
FILTERS = (
    "money",
    "pct",
    "number",
    "quantity",
    "isodate",
    "about_money",
    "reason_words",
    "type_words",
    "position_name",
)


@dataclass(frozen=True)
class Formats:
    """The pages' number and word filters, as the templates call them."""

    money: Callable[..., str]
    pct: Callable[..., str]
    number: Callable[..., str]
    quantity: Callable[..., str]
    isodate: Callable[..., str]
    about_money: Callable[..., str]
    reason_words: Callable[..., str]
    type_words: Callable[..., str]
    position_name: Callable[..., str]

    @classmethod
    def of_app(cls) -> Formats:
        """The filters the app registered on its Jinja environment."""
        filters = current_app.jinja_env.filters
        return cls(**{name: filters[name] for name in FILTERS})


@dataclass
class Context:
    """What every section reads: the book, who the report is from, and the results (each read
    once, on first use)."""

    portfolio: Portfolio
    advisor: User
    template: ReportTemplate | None
    session: ModellingSession | None
    fmt: Formats
    keys: tuple[str, ...] = ()
    _results: dict[str, Any] = field(default_factory=dict)

    def result(self, name: str, read: Callable[[], Any]) -> Any:
        """``read()`` the first time ``name`` is asked for, the same object after."""
        if name not in self._results:
            self._results[name] = read()
        return self._results[name]

    def overview(self) -> Result:
        """The valuation: summary, sectors, positions."""
        return self.result("overview", lambda: overview(self.portfolio))

    @property
    def as_of(self) -> dt.date | None:
        """The report's as-of date: the valuation's (the last price date it was calculated on)."""
        return self.overview().as_of

    @property
    def firm(self) -> str:
        """The firm name on the cover and in the footer ('' without a template)."""
        return self.template.firm_name if self.template else ""

    @property
    def client_name(self) -> str | None:
        """The client the portfolio belongs to (None when none is linked)."""
        client = self.portfolio.client
        return client.name if client else None

    @property
    def advisor_name(self) -> str:
        """The advisor's full name with their e-mail, or the e-mail alone."""
        name = (self.advisor.full_name or "").strip()
        return f"{name} ({self.advisor.email})" if name else self.advisor.email


@dataclass(frozen=True)
class Section:
    """One part of the report: its key (what templates list), title and builder."""

    key: str
    title: str
    build: Callable[[Context], list[Flowable]]
    required: bool = False  # always printed (the cover and the disclaimer)
    needs_session: bool = False  # only in a report made from a modelling session


# ------------------------------------------------------------------------------------------------
# Shared pieces
# ------------------------------------------------------------------------------------------------
def unavailable(result: Result, ctx: Context, what: str) -> list[Flowable]:
    """The words for a result that is not there: its reason and, if any, the message."""
    reason = ctx.fmt.reason_words(result.reason) or "not calculated"
    text = f"The {what} is not available in this report: {reason}."
    if result.message and result.message not in text:
        text += f" {result.message}"
    return [kit.para(text, "notice")]


def stamp(result: Result, ctx: Context, extra: str = "") -> Flowable:
    """The small line under a heading: the result's as-of date and calculation time."""
    text = f"As of {ctx.fmt.isodate(result.as_of)}"
    if result.calculated_at:
        text += f", calculated {ctx.fmt.isodate(result.calculated_at)}"
    return kit.para(text + (f". {extra}" if extra else "."), "small")


def readings(sentences: list[str]) -> list[Flowable]:
    """The plain-language readings, one paragraph each (empty sentences left out)."""
    return [kit.para(s, "reading") for s in sentences if s]


def _share(value: float | None, equity: float | None) -> float | None:
    return value / equity if value is not None and equity else None


def section_heading(ctx: Context, key: str, room: float = 3 * inch) -> list[Flowable]:
    """A section's numbered heading ("3. Risk metrics"), on a new page unless ``room`` points
    are left on this one."""
    number = ctx.keys.index(key) if key in ctx.keys else 0
    title = SECTION_TITLES[key]
    return [kit.room(room), kit.heading(f"{number}. {title}" if number else title)]


# ------------------------------------------------------------------------------------------------
# Cover
# ------------------------------------------------------------------------------------------------
LOGO_BOX = (2.2 * inch, 1.0 * inch)


def logo(png: bytes) -> Image:
    """The template's logo scaled into the cover's logo box, aspect kept."""
    from io import BytesIO

    from reportlab.lib.utils import ImageReader

    width, height = ImageReader(BytesIO(png)).getSize()
    scale = min(LOGO_BOX[0] / width, LOGO_BOX[1] / height, 1.0)
    return Image(BytesIO(png), width=width * scale, height=height * scale, hAlign="LEFT")


def cover(ctx: Context) -> list[Flowable]:
    """Firm and logo, the client, the account, the advisor, the as-of date and the contents."""
    story: list[Flowable] = []
    if ctx.template is not None and ctx.template.logo:
        story += [logo(ctx.template.logo), kit.gap(10)]
    if ctx.firm:
        story.append(kit.para(ctx.firm, "subtitle"))
    story += [kit.gap(40), kit.para("Portfolio risk report", "title")]
    # Without a linked client the report is prepared for the account itself.
    story.append(kit.para(f"Prepared for {ctx.client_name or ctx.portfolio.name}", "subtitle"))
    facts = [
        ("Client", ctx.client_name or "none linked"),
        ("Account", ctx.portfolio.name),
        ("Advisor", ctx.advisor_name),
        ("As of", ctx.fmt.isodate(ctx.as_of)),
        ("Benchmark", ctx.portfolio.benchmark),
    ]
    if ctx.firm:
        facts.insert(3, ("Firm", ctx.firm))
    if ctx.session is not None:
        facts.append(("Proposal", f"modelling session '{ctx.session.name}'"))
    story += [kit.gap(24), kit.facts(facts), kit.gap(24), kit.heading("Contents", 2)]
    numbered = [k for k in ctx.keys if k != "cover"]
    story += [kit.para(f"{i}. {SECTION_TITLES[k]}") for i, k in enumerate(numbered, start=1)]
    story.append(kit.gap(18))
    story.append(
        kit.para(
            "Every figure is as of the date above: the last day with stored closing prices. "
            "Amounts are US dollars; percentages are of the account's equity unless a table "
            "says otherwise.",
            "small",
        )
    )
    return story


# ------------------------------------------------------------------------------------------------
# Holdings and allocation
# ------------------------------------------------------------------------------------------------
HOLDING_COLUMNS = (
    kit.Column("Holding", 150),
    kit.Column("Type", 62),
    kit.Column("Quantity", 52, True),
    kit.Column("Price", 52, True),
    kit.Column("Market value", 70, True),
    kit.Column("% of equity", 48, True),
    kit.Column("Unrealized P&L", 70, True),
)


def _holding_rows(positions: list[dict], equity: float, f: Formats) -> list[list[str]]:
    ordered = sorted(positions, key=lambda p: abs(p.get("market_value") or 0.0), reverse=True)
    return [
        [
            f.position_name(p),
            f.type_words(p.get("position_type")),
            f.quantity(p.get("quantity")),
            f.money(p.get("price"), 2),
            f.money(p.get("market_value")),
            f.pct(_share(p.get("market_value"), equity)),
            f.money(p.get("unrealized_pnl")),
        ]
        for p in ordered
        if p.get("status") == "ok"
    ]


def _sector_chart(sectors: list[dict], equity: float, f: Formats) -> Flowable:
    ordered = sorted(sectors, key=lambda s: s["net"], reverse=True)
    return kit.bar_chart(
        [s["sector"] for s in ordered],
        [s["net"] / equity for s in ordered],
        title="Sector weights (net, % of equity)",
        tick=lambda v: f.pct(v, 0),
        label_width=1.9 * inch,
    )


def _holdings_readings(positions: list[dict], sectors: list[dict], equity: float, f: Formats):
    valued = sorted(
        (p for p in positions if p.get("status") == "ok"),
        key=lambda p: abs(p.get("market_value") or 0.0),
        reverse=True,
    )
    out = []
    if valued:
        top = valued[0]
        ten = sum(abs(p["market_value"]) for p in valued[:10])
        out.append(
            f"The largest holding, {f.position_name(top)}, is "
            f"{f.pct(_share(top['market_value'], equity))} of equity; the "
            f"{min(10, len(valued))} largest together are {f.pct(ten / equity)} "
            "(shorts counted by their size)."
        )
    if sectors:
        big = max(sectors, key=lambda s: abs(s["net"]))
        out.append(
            f"The largest sector position is {big['sector']}, {f.pct(big['net'] / equity)} "
            "of equity net of shorts."
        )
    return readings(out)


def holdings(ctx: Context) -> list[Flowable]:
    """Key totals, the sector chart and table, and every holding by size."""
    result, f = ctx.overview(), ctx.fmt
    story: list[Flowable] = section_heading(ctx, "holdings")
    if not result.available:
        return story + unavailable(result, ctx, "valuation of the holdings")
    d = result.data
    s, equity = d["summary"], d["summary"]["equity"]
    story.append(stamp(result, ctx))
    story.append(
        kit.facts(
            [
                ("Equity (holdings + cash)", f.money(equity)),
                ("Cash", f"{f.money(s['cash'])} ({f.pct(_share(s['cash'], equity))})"),
                ("Positions", f"{s['valued_count']} valued of {s['position_count']}"),
                ("Unrealized P&L", f.money(s.get("unrealized_pnl"))),
            ]
        )
    )
    if equity and equity > 0:
        story += _holdings_readings(d["positions"], d["sectors"], equity, f)
        if d["sectors"]:
            story += [kit.gap(), _sector_chart(d["sectors"], equity, f)]
    story += [kit.heading("Holdings", 2)]
    story.append(kit.table(HOLDING_COLUMNS, _holding_rows(d["positions"], equity, f), wrap=0))
    story += _left_out(d.get("left_out") or [], ctx)
    return story


def _left_out(rows: list[dict], ctx: Context) -> list[Flowable]:
    if not rows:
        return []
    listed = "; ".join(
        f"{r['symbol']} ({ctx.fmt.reason_words(r.get('reason'))}"
        + (f": {r['detail']}" if r.get("detail") else "")
        + ")"
        for r in rows
    )
    return [kit.para(f"Not valued, so left out of every total: {listed}.", "notice")]


# ------------------------------------------------------------------------------------------------
# Exposures
# ------------------------------------------------------------------------------------------------
EXPOSURE_COLUMNS = (
    kit.Column("Exposure", 200),
    kit.Column("Dollars", 150, True),
    kit.Column("% of equity", 150, True),
)


def exposures(ctx: Context) -> list[Flowable]:
    """Long, short, gross and net exposure, by market value and counting options by delta."""
    result, f = ctx.overview(), ctx.fmt
    story: list[Flowable] = section_heading(ctx, "exposures")
    if not result.available:
        return story + unavailable(result, ctx, "exposure breakdown")
    s = result.data["summary"]
    equity = s["equity"]
    lines = [
        ("Long", "long_exposure"),
        ("Short", "short_exposure"),
        ("Gross (long + |short|)", "gross_exposure"),
        ("Net (long + short)", "net_exposure"),
        ("Long, delta-adjusted", "delta_long_exposure"),
        ("Short, delta-adjusted", "delta_short_exposure"),
        ("Gross, delta-adjusted", "delta_gross_exposure"),
        ("Net, delta-adjusted", "delta_net_exposure"),
    ]
    rows = [[label, f.money(s.get(k)), f.pct(_share(s.get(k), equity))] for label, k in lines]
    story += [stamp(result, ctx), kit.table(EXPOSURE_COLUMNS, rows)]
    story += readings(_exposure_readings(s, f))
    story.append(
        kit.para(
            "Delta-adjusted: an option counts as delta × 100 × contracts × the underlying's "
            "price, the amount of stock it moves like; shares count at their market value.",
            "small",
        )
    )
    return story


def _exposure_readings(s: dict, f: Formats) -> list[str]:
    equity = s["equity"]
    if not equity or equity <= 0:
        return ["Exposures are not shown as shares of equity: the book's equity is not positive."]
    long, short = s.get("long_exposure") or 0.0, abs(s.get("short_exposure") or 0.0)
    out = [
        f"For every $100 of equity the book holds ${long / equity * 100:,.0f} long and "
        f"${short / equity * 100:,.0f} short: net exposure {f.pct(s['net_exposure'] / equity)}, "
        f"gross exposure {f.pct(s['gross_exposure'] / equity)}."
    ]
    delta_net = s.get("delta_net_exposure")
    if delta_net is not None and abs(delta_net - s["net_exposure"]) > 0.005 * equity:
        out.append(
            f"Counting each option by how much stock it moves like, the net exposure is "
            f"{f.pct(delta_net / equity)} of equity."
        )
    return out


# ------------------------------------------------------------------------------------------------
# Risk metrics
# ------------------------------------------------------------------------------------------------
def _one_in(confidence: float) -> str:
    return f"1 in {round(1 / (1 - confidence))}"


def _risk_facts(d: dict, f: Formats) -> list[tuple[str, str]]:
    b, bsym = d.get("benchmark") or {}, d.get("benchmark_symbol") or "SPY"
    dd_when = f"{d.get('max_drawdown_peak_date') or 'start'} to {d.get('max_drawdown_trough_date')}"
    return [
        (f"Beta vs {bsym}", f.number(d.get("portfolio_beta"), 2)),
        (
            "Annualized volatility",
            f"{f.pct(d.get('annualized_volatility'))} "
            f"(about ±{f.about_money(d.get('annualized_volatility_dollars'))} a year)",
        ),
        ("Maximum drawdown", f"{f.pct(d.get('max_drawdown'))} ({dd_when})"),
        ("Tracking error", f.pct(b.get("tracking_error"))),
        ("Information ratio", f.number(b.get("information_ratio"), 2)),
        (
            "Up / down capture",
            f"{f.number(b.get('up_capture'), 2)} / {f.number(b.get('down_capture'), 2)}",
        ),
        ("Window", f"{d.get('nobs')} trading days, {d.get('start')} to {d.get('end')}"),
    ]


def _var_rows(d: dict, f: Formats) -> tuple[list[kit.Column], list[list[str]]]:
    full = bool(d.get("var") and d["var"][0].get("historical_full"))

    def cell(level: dict, key: str) -> str:
        v = level.get(key) or {}
        return f"{f.money(v.get('dollars'))} ({f.pct(v.get('return'), 2)})"

    columns = [kit.Column("Confidence", 70), kit.Column("Historical VaR", 110, True)]
    columns.append(kit.Column("Expected shortfall", 110, True))
    keys = ["historical", "expected_shortfall"]
    if full:
        columns.append(kit.Column("VaR, options repriced", 110, True))
        keys.append("historical_full")
    columns.append(kit.Column("Parametric VaR", 100, True))
    keys.append("parametric")
    rows = [
        [f"{round(v['confidence'] * 100)}%", *(cell(v, k) for k in keys)] for v in d.get("var", [])
    ]
    return columns, rows


def _risk_readings(d: dict, f: Formats) -> list[str]:
    b, bsym = d.get("benchmark") or {}, d.get("benchmark_symbol") or "SPY"
    out = []
    beta = d.get("portfolio_beta")
    if isinstance(beta, float):
        line = (
            f"A beta of {f.number(beta, 2)} means when {bsym} moves 1% the book tends to move "
            f"{f.number(beta, 2)}%" + (", the opposite way" if beta < 0 else "")
        )
        if isinstance(b.get("r_squared"), float):
            line += f"; {bsym}'s moves explain {f.pct(b['r_squared'], 0)} of the book's daily moves"
        out.append(line + ".")
    if isinstance(d.get("annualized_volatility_dollars"), float):
        out.append(
            "Over a year the book's value typically swings by about "
            f"±{f.about_money(d['annualized_volatility_dollars'])} (one standard deviation, "
            f"{f.pct(d['annualized_volatility'])} of equity)."
        )
    out.append(_drawdown_reading(d, f))
    out.append(_var_reading(d, f))
    return out


def _drawdown_reading(d: dict, f: Formats) -> str:
    mdd = d.get("max_drawdown")
    if not isinstance(mdd, float):
        return ""
    if mdd >= 0:
        return "The backcast never fell below an earlier peak in this window."
    recovered = d.get("max_drawdown_recovery_date")
    return (
        f"The worst fall from a peak in this window was {f.pct(-mdd)}, from "
        f"{d.get('max_drawdown_peak_date') or 'the start of the window'} to "
        f"{d.get('max_drawdown_trough_date')}"
        + (f", recovered by {recovered}." if recovered else ", not yet recovered.")
    )


def _var_reading(d: dict, f: Formats) -> str:
    levels = {v["confidence"]: v for v in d.get("var", [])}
    v95, v99 = levels.get(0.95), levels.get(0.99)
    if v95 is None:
        return ""
    text = (
        f"On a typical bad day ({_one_in(0.95)}) this book loses about "
        f"{f.about_money(v95['historical']['dollars'])} or more, and on those days the loss "
        f"averages about {f.about_money(v95['expected_shortfall']['dollars'])}"
    )
    if v99 is not None:
        worst = f.about_money(v99["historical"]["dollars"])
        text += f"; on {_one_in(0.99)} days, about {worst} or more"
    return text + "."


CONTRIBUTION_COLUMNS = (
    kit.Column("Holding", 150),
    kit.Column("Exposure", 110, True),
    kit.Column("Contribution ($/day σ)", 130, True),
    kit.Column("Share of risk", 110, True),
)


def _contributions(d: dict, f: Formats) -> list[Flowable]:
    ranked = sorted(d.get("contributions") or [], key=lambda c: c["contribution"], reverse=True)
    if not ranked:
        return []
    rows = [
        [c["symbol"], f.money(c["exposure"]), f.money(c["contribution"]), f.pct(c["pct"])]
        for c in ranked[:TOP_CONTRIBUTORS]
    ]
    top = ranked[0]
    words = (
        f"{top['symbol']} adds the most risk: {f.pct(top['pct'])} of the book's daily volatility"
    )
    if ranked[-1]["contribution"] < 0:
        words += (
            f"; {ranked[-1]['symbol']} hedges the most, taking away {f.pct(-ranked[-1]['pct'])}"
        )
    shown = min(TOP_CONTRIBUTORS, len(ranked))
    return [
        kit.heading(f"Largest risk contributors ({shown} of {len(ranked)})", 2),
        kit.table(CONTRIBUTION_COLUMNS, rows),
        *readings([words + "."]),
    ]


def _diversification(ctx: Context) -> list[Flowable]:
    result = ctx.result("diversification", lambda: diversification_score(ctx.portfolio))
    story: list[Flowable] = [kit.heading("Diversification", 2)]
    if not result.available:
        return story + unavailable(result, ctx, "diversification score")
    d, f = result.data, ctx.fmt
    return story + readings(
        [
            f"Diversification score {f.number(d['diversification_score'], 2)} on a scale from 0 "
            "(holdings move independently) to 1 (they move as one): higher means less "
            f"diversified. {d.get('label') or ''}",
            f"Over {d.get('observations')} trading days, {d.get('symbols_included')} holdings.",
        ]
    )


def risk(ctx: Context) -> list[Flowable]:
    """Beta, volatility, drawdown, VaR and expected shortfall with their readings, the largest
    risk contributors and the diversification score (one-year look-back)."""
    result = ctx.result("risk", lambda: risk_metrics(ctx.portfolio, lookback_days=RISK_WINDOW))
    story: list[Flowable] = section_heading(ctx, "risk")
    if not result.available:
        return story + unavailable(result, ctx, "risk analysis")
    d, f = result.data, ctx.fmt
    story.append(
        stamp(result, ctx, f"Look-back {RISK_WINDOW} trading days of today's holdings (backcast)")
    )
    story.append(kit.facts(_risk_facts(d, f)))
    story += [kit.heading("What these numbers mean", 2), *readings(_risk_readings(d, f))]
    columns, rows = _var_rows(d, f)
    story += [kit.heading("Value at risk (1 day)", 2), kit.table(columns, rows)]
    story.append(
        kit.para(
            f"Losses over one day as positive amounts of equity ({f.money(d.get('equity'))}).",
            "small",
        )
    )
    story += _contributions(d, f)
    return story + _diversification(ctx)


# ------------------------------------------------------------------------------------------------
# Stress tests
# ------------------------------------------------------------------------------------------------
STRESS_COLUMNS = (
    kit.Column("Scenario", 210),
    kit.Column("Severity", 55),
    kit.Column("P&L", 80, True),
    kit.Column("% of equity", 65, True),
    kit.Column("New value", 90, True),
)


def _category_words(category: str) -> str:
    return category.replace("_", " ").capitalize()


def _stress_readings(scenarios: list[dict], f: Formats) -> list[str]:
    ordered = sorted(scenarios, key=lambda s: s["pnl"])
    worst, best = ordered[0], ordered[-1]
    if worst["pnl"] < 0:
        worst_words = (
            f"cost the book about {f.about_money(-worst['pnl'])} "
            f"({f.pct(-worst['pnl_pct'])} of equity)"
        )
    else:
        worst_words = f"still gain about {f.about_money(worst['pnl'])}"
    out = [
        f"The worst scenario, {worst['name']}, would {worst_words}, leaving it worth about "
        f"{f.about_money(worst['new_value'])}."
    ]
    if best["pnl"] > 0:
        out.append(
            f"The best, {best['name']}, would gain about {f.about_money(best['pnl'])} "
            f"({f.pct(best['pnl_pct'])})."
        )
    losing = sum(1 for s in ordered if s["pnl"] < 0)
    out.append(f"{losing} of {len(ordered)} scenarios lose money.")
    return out


def _stress_tables(scenarios: list[dict], f: Formats) -> list[Flowable]:
    story: list[Flowable] = []
    categories = sorted({s["category"] for s in scenarios})
    for category in categories:
        rows = [
            [s["name"], s.get("severity") or "", f.money(s["pnl"]), f.pct(s["pnl_pct"])]
            + [f.money(s["new_value"])]
            for s in sorted(scenarios, key=lambda s: s["pnl"])
            if s["category"] == category
        ]
        story += [kit.heading(_category_words(category), 2), kit.table(STRESS_COLUMNS, rows)]
    return story


def stress(ctx: Context) -> list[Flowable]:
    """Every scenario's P&L (table by category, and a chart), with the readings."""
    result = ctx.result("stress", lambda: stress_test(ctx.portfolio))
    scenarios = result.data["scenarios"] if result.available else []
    # The heading, the readings and the chart on one page.
    story = section_heading(ctx, "stress", kit.bar_chart_height(len(scenarios)) + 2 * inch)
    if not result.available:
        return story + unavailable(result, ctx, "stress test")
    f = ctx.fmt
    story.append(stamp(result, ctx, f"Equity {f.money(result.data.get('equity'))}"))
    if not scenarios:
        return story + [kit.para("No scenario applies to this book.", "notice")]
    story += readings(_stress_readings(scenarios, f))
    ordered = sorted(scenarios, key=lambda s: s["pnl"])
    story.append(
        kit.bar_chart(
            [s["name"] for s in ordered],
            [s["pnl"] for s in ordered],
            title="P&L by scenario",
            tick=lambda v: f.about_money(v),
        )
    )
    return story + _stress_tables(scenarios, f)


# ------------------------------------------------------------------------------------------------
# Factor exposures
# ------------------------------------------------------------------------------------------------
FACTOR_COLUMNS = (
    kit.Column("Factor", 160),
    kit.Column("Beta", 100, True),
    kit.Column("Dollar exposure", 140, True),
)


def _factor_readings(data: dict, f: Formats) -> list[str]:
    by_name = {x["name"]: x for x in data["factors"]}
    out = []
    market = by_name.get("Market", {}).get("beta")
    if isinstance(market, float):
        out.append(
            f"A Market beta of {f.number(market, 2)}: with the other factors held fixed, a 1% "
            f"move of the market moves the book about {f.number(market, 2)}%."
        )
    styles = [
        x for x in data["factors"] if x["name"] not in ("Market",) and x.get("beta") is not None
    ]
    if styles:
        tilt = max(styles, key=lambda x: abs(x["beta"]))
        out.append(
            f"The largest other tilt is {tilt['name']} (beta {f.number(tilt['beta'], 2)}, about "
            f"{f.about_money(tilt.get('exposure_dollar'))} of exposure)."
        )
    split = data.get("risk_split") or {}
    if split.get("available"):
        out.append(
            f"About {f.pct(split['systematic_share'], 0)} of the book's ups and downs come from "
            f"these factors and about {f.pct(split['idiosyncratic_share'], 0)} from the "
            "holdings themselves."
        )
    return out


def factors(ctx: Context) -> list[Flowable]:
    """The book's beta and dollar exposure to each of the eight factors."""
    result = ctx.result("factors", lambda: factor_exposures(ctx.portfolio))
    story: list[Flowable] = section_heading(ctx, "factors")
    if not result.available:
        return story + unavailable(result, ctx, "factor analysis")
    d, f = result.data, ctx.fmt
    window = (result.parameters or {}).get("window")
    story.append(stamp(result, ctx, f"Fit on {window} trading days" if window else ""))
    rows = [
        [x["name"], f.number(x.get("beta"), 2), f.money(x.get("exposure_dollar"))]
        for x in d["factors"]
    ]
    story += [kit.table(FACTOR_COLUMNS, rows), *readings(_factor_readings(d, f))]
    coverage = d.get("coverage")
    if isinstance(coverage, float) and coverage < 0.999:
        story.append(kit.para(f"Modelled: {f.pct(coverage)} of gross exposure.", "small"))
    return story


# ------------------------------------------------------------------------------------------------
# Performance
# ------------------------------------------------------------------------------------------------
PERIOD_COLUMNS = (
    kit.Column("Period", 60),
    kit.Column("From", 80),
    kit.Column("Account", 85, True),
    kit.Column("Annualized", 85, True),
    kit.Column("Benchmark", 85, True),
    kit.Column("Difference", 85, True),
)
PERIOD_WORDS = {
    "1M": "the last month",
    "3M": "the last three months",
    "YTD": "the year to date",
    "1Y": "the last year",
    "3Y": "the last three years",
    "SI": "the whole history",
}
STAT_LABELS = {
    "sharpe_ratio": ("Sharpe ratio", "number"),
    "sortino_ratio": ("Sortino ratio", "number"),
    "alpha": ("Alpha (annualized)", "pct"),
    "beta": ("Beta vs benchmark", "number"),
    "max_drawdown": ("Maximum drawdown", "pct"),
    "best_month": ("Best month", "pct"),
    "worst_month": ("Worst month", "pct"),
}


def _period_rows(periods: list[dict], f: Formats) -> list[list[str]]:
    rows = []
    for p in periods:
        if not p.get("available"):
            rows.append([p["period"], p.get("start") or "—", "not available", "", "", ""])
            continue
        rows.append(
            [
                p["period"],
                p.get("start") or "—",
                f.pct(p["return"], 2),
                f.pct(p.get("annualized"), 2),
                f.pct(p.get("benchmark_return"), 2),
                f.pct(p.get("excess_return"), 2),
            ]
        )
    return rows


def _growth_chart(d: dict, f: Formats) -> Flowable | None:
    history = d.get("history") or {}
    dates = [dt.date.fromisoformat(x) for x in history.get("dates", [])]
    if len(dates) < 2 or not history.get("growth"):
        return None
    series = [("Account (time-weighted)", history["growth"], kit.ACCENT)]
    if history.get("benchmark_growth"):
        series.append((f"Benchmark ({d.get('benchmark')})", history["benchmark_growth"], kit.BENCH))
    return kit.line_chart(dates, series, title="Growth of $10,000", tick=lambda v: f.money(v))


def _stats_rows(d: dict, f: Formats) -> list[list[str]]:
    stats = (d.get("risk_adjusted") or {}).get("statistics") or {}
    rows = []
    for key, (label, kind) in STAT_LABELS.items():
        s = stats.get(key)
        if not s:
            continue
        if not s.get("available"):
            rows.append([label, f.reason_words(s.get("reason")) or "not available"])
            continue
        value = f.pct(s["value"], 2) if kind == "pct" else f.number(s["value"], 2)
        rows.append([label, value])
    return rows


def _performance_readings(d: dict, f: Formats) -> list[str]:
    out = []
    compared = [
        p for p in d.get("periods", []) if p.get("available") and p.get("excess_return") is not None
    ]
    if compared:
        p = compared[-1]
        ahead = "ahead" if p["excess_return"] >= 0 else "behind"
        out.append(
            f"Over {PERIOD_WORDS.get(p['period'], p['period'])} (from {p['start']}) the account "
            f"returned {f.pct(p['return'], 2)} against {d.get('benchmark')}'s "
            f"{f.pct(p['benchmark_return'], 2)}: "
            f"{f.number(abs(p['excess_return']) * 100, 2)} percentage points {ahead}."
        )
    mw = d.get("money_weighted") or {}
    if mw.get("value") is not None:
        out.append(
            f"Money-weighted return (IRR) since {d.get('first_date')}: {f.pct(mw['value'], 2)} a "
            "year, the client's own experience, which also counts when money came in or went out."
        )
    return out


def performance_section(ctx: Context) -> list[Flowable]:
    """Time-weighted returns by period against the benchmark, the growth chart, the IRR and the
    risk-adjusted figures (the ledger's actual history)."""
    result = ctx.result("performance", lambda: performance(ctx.portfolio))
    story: list[Flowable] = section_heading(ctx, "performance")
    if not result.available:
        return story + unavailable(result, ctx, "performance history")
    d, f = result.data, ctx.fmt
    story.append(stamp(result, ctx, f"Benchmark {d.get('benchmark')}"))
    periods = d.get("periods", [])
    story.append(kit.table(PERIOD_COLUMNS, _period_rows(periods, f)))
    missing = [
        f"{p['period']}: {f.reason_words(p.get('reason')) or 'not enough history'}"
        for p in periods
        if not p.get("available")
    ]
    if missing:
        story.append(kit.para("Not available: " + "; ".join(missing) + ".", "small"))
    story += readings(_performance_readings(d, f))
    chart = _growth_chart(d, f)
    if chart is not None:
        story += [kit.gap(), chart]
    rows = _stats_rows(d, f)
    if rows:
        columns = (kit.Column("Figure", 200), kit.Column("Value", 150, True))
        story += [kit.heading("Risk-adjusted figures", 2), kit.table(columns, rows)]
    story.append(
        kit.para(
            "Time-weighted: the growth of the investments with deposits and withdrawals left "
            "out; risk-free rate: the 3-month T-bill yield.",
            "small",
        )
    )
    return story


# ------------------------------------------------------------------------------------------------
# Forward range and risk score
# ------------------------------------------------------------------------------------------------
BAND_COLUMNS = (
    kit.Column("Horizon", 70),
    kit.Column("Percentile", 60),
    kit.Column("Gain / loss", 90, True),
    kit.Column("Gain / loss ($)", 120, True),
    kit.Column("Book value", 120, True),
)


def _band_rows(d: dict, f: Formats) -> list[list[str]]:
    rows = []
    for band in d.get("bands", []):
        for i, p in enumerate(d.get("percentiles", [])):
            rows.append(
                [
                    band["label"] if i == 0 else "",
                    f"{p[1:]}th",
                    f"{f.number(band['pct'][p], 1)}%",
                    f.money(band["dollars"][p]),
                    f.money(band["value"][p]),
                ]
            )
    return rows


def _band_readings(d: dict, f: Formats) -> list[str]:
    return [
        f"In {b['label']}, 9 of 10 simulated outcomes fall between {f.number(b['pct']['p5'], 1)}% "
        f"({f.money(b['dollars']['p5'])}) and {f.number(b['pct']['p95'], 1)}% "
        f"({f.money(b['dollars']['p95'])}); the middle outcome is {f.number(b['pct']['p50'], 1)}%."
        for b in d.get("bands", [])
        if {"p5", "p50", "p95"} <= set(b["pct"])
    ]


def _score(ctx: Context) -> list[Flowable]:
    result = ctx.result("risk_score", lambda: risk_score(ctx.portfolio))
    story: list[Flowable] = [kit.heading("Risk score", 2)]
    if not result.available:
        return story + unavailable(result, ctx, "risk score")
    s, f = result.data, ctx.fmt
    return story + readings(
        [
            f"Risk score {s['score']} on a scale of 1 (cautious) to 99 (aggressive).",
            (s.get("gap") or {}).get("words", ""),
            f"In 1 of 20 simulated 6-month paths the book loses {f.number(s['downside_pct'], 1)}% "
            f"or more; in 1 of 20 it gains {f.number(s['upside_pct'], 1)}% or more.",
        ]
    )


def forward(ctx: Context) -> list[Flowable]:
    """The simulated range of outcomes over 6 months and a year, and the risk score against the
    client's stated tolerance."""
    result = ctx.result("forward", lambda: forward_range(ctx.portfolio))
    story: list[Flowable] = section_heading(ctx, "forward_range")
    story += _score(ctx)
    story.append(kit.heading("Range of outcomes", 2))
    if not result.available:
        return story + unavailable(result, ctx, "forward range")
    d, f = result.data, ctx.fmt
    story.append(
        stamp(
            result,
            ctx,
            f"{f.number(d['paths'], 0)} simulated paths drawn from {d['observations']} trading "
            f"days ({d.get('window_start')} to {d.get('window_end')}), seed {d['seed']}",
        )
    )
    story += readings(_band_readings(d, f))
    return story + [kit.table(BAND_COLUMNS, _band_rows(d, f))]


# ------------------------------------------------------------------------------------------------
# Proposal (a report made from a modelling session)
# ------------------------------------------------------------------------------------------------
IMPACT_COLUMNS = (
    kit.Column("Figure", 200),
    kit.Column("Current", 100, True),
    kit.Column("Proposed", 100, True),
    kit.Column("Difference", 100, True),
)
IMPACT_GROUPS = (
    ("exposures", "Exposures"),
    ("risk", "Risk"),
    ("factors", "Factor betas"),
    ("sectors", "Sector weights (net, % of equity)"),
    ("stress", "Stress scenarios (P&L)"),
)
TRADE_COLUMNS = (
    kit.Column("#", 24, True),
    kit.Column("Trade", 80),
    kit.Column("Symbol", 150),
    kit.Column("Quantity", 70, True),
    kit.Column("Price", 80, True),
    kit.Column("Amount", 90, True),
)


def _in_unit(value: float | None, unit: str, f: Formats) -> str:
    if unit == "$":
        return f.money(value)
    if unit == "fraction":
        return f.pct(value, 2)
    if unit == "score":
        return f.number(value, 0)
    return f.number(value, 2)


def _trade_rows(session: ModellingSession, f: Formats) -> list[list[str]]:
    return [
        [
            str(i),
            t.kind.replace("_", " "),
            t.fields.get("symbol") or "cash",
            f.quantity(t.fields.get("quantity")),
            f.money(_number(t.fields.get("price")), 2),
            f.money(_number(t.fields.get("amount")), 2),
        ]
        for i, t in enumerate(trade_rows(session), start=1)
    ]


def _number(value: Any) -> float | None:
    try:
        return float(value)
    except (TypeError, ValueError):
        return None


def proposal(ctx: Context) -> list[Flowable]:
    """The session's proposed trades and every figure current vs proposed with the difference."""
    session, f = ctx.session, ctx.fmt
    story: list[Flowable] = section_heading(ctx, "proposal")
    if session is None:
        return story + [kit.para("This report was not made from a modelling session.", "notice")]
    story.append(kit.para(f"Modelling session '{session.name}' ({session.status}).", "small"))
    trades = _trade_rows(session, f)
    story += [kit.heading("Proposed trades", 2)]
    story.append(
        kit.table(TRADE_COLUMNS, trades) if trades else kit.para("No trades proposed yet.")
    )
    result = impacts(session)
    if not result.calculated:
        return story + [
            kit.para(
                "The proposed book has not been calculated yet, so no current-vs-proposed "
                "figures can be shown: open the session and let its calculation finish.",
                "notice",
            )
        ]
    if not result.up_to_date:
        story.append(
            kit.para(
                "The proposed figures are from before the session's latest trades: they are "
                "being recalculated.",
                "notice",
            )
        )
    for key, title in IMPACT_GROUPS:
        lines = result.groups.get(key) or []
        if not lines:
            continue
        rows = [
            [line.label]
            + [_in_unit(v, line.unit, f) for v in (line.current, line.proposed, line.difference)]
            for line in lines
        ]
        story += [kit.heading(title, 2), kit.table(IMPACT_COLUMNS, rows, wrap=0)]
    story.append(
        kit.para(
            f"Current: the account as it is; proposed: the account with these trades (as of "
            f"{result.as_of or '—'}). Difference = proposed − current.",
            "small",
        )
    )
    return story


# ------------------------------------------------------------------------------------------------
# Methodology and disclaimer
# ------------------------------------------------------------------------------------------------
def methodology(ctx: Context) -> list[Flowable]:
    """Every formula behind the sections printed, and where the data comes from."""
    story: list[Flowable] = [PageBreak(), *section_heading(ctx, "methodology")]
    for key in ctx.keys:
        entries = formulas(key)
        if not entries:
            continue
        story.append(kit.heading(SECTION_TITLES[key], 2))
        for name, formula, words in entries:
            story.append(kit.rich(f"<b>{name}</b>: {formula}", "formula"))
            if words:
                story.append(kit.para(words, "formula_note"))
    story.append(kit.heading("Data sources", 2))
    story += [kit.para(line, "small") for line in data_sources(ctx)]
    return story


DISCLAIMER = (
    "This report is provided for information only and is not an offer or a solicitation to buy "
    "or sell any security. It describes the account as recorded on the as-of date: holdings, "
    "prices and cash as entered or imported, valued at the last stored closing prices. Risk "
    "figures, stress scenarios and the simulated range of outcomes are estimates from past "
    "prices and stated assumptions (see the methodology); they are not forecasts or "
    "guarantees, and actual results can be worse. Past performance does not guarantee future "
    "results. Options involve risk and are not suitable for every investor. Please review this "
    "report with your advisor before making any investment decision."
)


def disclaimer(ctx: Context) -> list[Flowable]:
    """The notice every report ends with, and when it was produced."""
    from webapp.models._time import utcnow

    return [
        kit.heading("Important information", 2),
        kit.para(DISCLAIMER, "small"),
        kit.para(
            f"Generated {ctx.fmt.isodate(utcnow())} by {ctx.advisor_name}"
            + (f", {ctx.firm}" if ctx.firm else "")
            + f"; figures as of {ctx.fmt.isodate(ctx.as_of)}.",
            "small",
        ),
    ]


def _cover_page(ctx: Context) -> list[Flowable]:
    return [*cover(ctx), PageBreak()]


SECTIONS: tuple[Section, ...] = (
    Section("cover", "Cover", _cover_page, required=True),
    Section("holdings", "Holdings and allocation", holdings),
    Section("exposures", "Exposures", exposures),
    Section("risk", "Risk metrics", risk),
    Section("stress", "Stress tests", stress),
    Section("factors", "Factor exposures", factors),
    Section("performance", "Performance vs benchmark", performance_section),
    Section("forward_range", "Forward range and risk score", forward),
    Section("proposal", "Proposal: current vs proposed", proposal, needs_session=True),
    Section("methodology", "Methodology", methodology),
    Section("disclaimer", "Important information", disclaimer, required=True),
)
SECTION_TITLES = {s.key: s.title for s in SECTIONS}
SECTION_KEYS = tuple(SECTION_TITLES)

__all__ = ["SECTIONS", "SECTION_KEYS", "SECTION_TITLES", "Context", "Formats", "Section"]
