"""Risk: beta, volatility, drawdown, VaR/ES, benchmark statistics, risk contributions."""

from __future__ import annotations

from webapp import charts
from webapp.analytics.constants import STANDARD_WINDOWS
from webapp.pages import nav_item, owned, page_params, result_page
from webapp.risk import bp
from webapp.schemas.params import RiskParams
from webapp.services.risk_metrics import risk_metrics

nav_item("risk.index", "Risk", 50)
LOOKBACKS = STANDARD_WINDOWS  # the windows the batch stores


def _figures(data: dict) -> dict:
    series = data["series"]
    var = {f"VaR {int(v['confidence'] * 100)}%": -v["historical"]["return"] for v in data["var"]}
    contributions = sorted(data["contributions"], key=lambda c: -abs(c["contribution"]))[:20]
    return {
        "drawdown": charts.lines(
            series["dates"],
            {"Drawdown": series["drawdown"]},
            title="Drawdown of the backcast portfolio",
            y_title="Drawdown (%)",
            hover_format=".2%",
            fill=True,
        ),
        "histogram": charts.histogram(
            series["returns"],
            title="Daily returns with historical VaR",
            x_title="Daily return (%)",
            markers=var,
        ),
        "contributions": charts.signed_bars(
            *charts.columns(contributions, "symbol", "pct"),
            title="Risk contribution by holding (share of daily volatility)",
            axes=("Holding", "Share of portfolio volatility"),
            hover="%{x}: %{y:.1%}<extra></extra>",
            value_format=".0%",
        ),
    }


@bp.get("/risk")
def index(portfolio_id: int):
    """The Risk page: beta, volatility, VaR/ES and drawdown of the portfolio, or its partial."""
    portfolio = owned(portfolio_id)
    params, error = page_params(RiskParams)
    lookback = params.lookback_days
    result = risk_metrics(portfolio, lookback_days=lookback)
    figures = _figures(result.data) if result.available else {}
    return result_page(
        "risk/index.html",
        "risk/_metrics.html",
        portfolio,
        "Risk",
        result,
        figures=figures,
        lookback=lookback,
        lookbacks=LOOKBACKS,
        param_error=error,
        bounds={"lookback_days": RiskParams.bounds("lookback_days")},
    )
