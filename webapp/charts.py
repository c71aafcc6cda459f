"""Plotly figure specs (plain dicts for plotly.js) built from service results.

Presentation only: engines never import this, and the JSON API returns numbers, not figures.
Every figure has a title, axis titles with units, and hover text with formatted values.
"""

from __future__ import annotations

from typing import Any

FONT = {"family": "system-ui, -apple-system, Segoe UI, Roboto, sans-serif", "size": 12}
NEG, POS, BRAND, MUTED = "#c62828", "#1b7f3b", "#2458d6", "#6b7686"


def _layout(title: str, x_title: str = "", y_title: str = "", **extra: Any) -> dict:
    layout = {
        "title": {"text": title, "font": {"size": 14}},
        "font": FONT,
        "margin": {"l": 70, "r": 20, "t": 40, "b": 60},
        "xaxis": {"title": {"text": x_title}, "automargin": True},
        "yaxis": {"title": {"text": y_title}, "automargin": True},
        "paper_bgcolor": "#fff",
        "plot_bgcolor": "#fff",
        "hovermode": "closest",
    }
    layout.update(extra)
    return layout


def columns(rows: list[dict], *keys: str) -> tuple[list, ...]:
    """One list per key of ``rows`` (e.g. the labels and the values of a bar chart)."""
    return tuple([row[key] for row in rows] for key in keys)


def signed_bars(
    labels: list[str],
    values: list[float],
    *,
    title: str,
    axes: tuple[str, str],
    hover: str = "%{x}: %{y:$,.0f}<extra></extra>",
    horizontal: bool = False,
    value_format: str | None = None,
) -> dict:
    """Bars coloured red for negatives and green for positives.

    ``axes`` are the (x, y) titles as drawn: with ``horizontal`` the values run along x. A
    ``value_format`` (d3, e.g. ".0%") formats the value axis ticks.
    """
    colors = [NEG if (v or 0) < 0 else POS for v in values]
    trace: dict[str, Any] = {"type": "bar", "marker": {"color": colors}, "hovertemplate": hover}
    layout = _layout(title, *axes)
    value_axis = "xaxis" if horizontal else "yaxis"
    if horizontal:
        trace.update(x=values, y=labels, orientation="h")
        layout["yaxis"]["autorange"] = "reversed"
        # One row per label: grow with the count so Plotly does not skip labels.
        layout["height"] = max(360, 24 * len(labels) + 120)
    else:
        trace.update(x=labels, y=values)
    if value_format:
        layout[value_axis]["tickformat"] = value_format
    return {"data": [trace], "layout": layout}


def grouped_bars(
    labels: list[str],
    series: dict[str, list[float]],
    *,
    title: str,
    y_title: str,
    x_title: str = "",
    hover_format: str = "$,.0f",
) -> dict:
    """Several bar series side by side (e.g. long and short exposure per sector)."""
    palette = [POS, NEG, BRAND, MUTED]
    data = [
        {
            "type": "bar",
            "name": name,
            "x": labels,
            "y": values,
            "marker": {"color": palette[i % len(palette)]},
            "hovertemplate": f"%{{x}}: %{{y:{hover_format}}}<extra>{name}</extra>",
        }
        for i, (name, values) in enumerate(series.items())
    ]
    layout = _layout(
        title,
        x_title,
        y_title,
        barmode="relative",
        legend={"orientation": "h", "y": 1.08, "x": 1, "xanchor": "right"},
    )
    layout["xaxis"]["tickangle"] = -35
    return {"data": data, "layout": layout}


def lines(
    x: list,
    series: dict[str, list[float]],
    *,
    title: str,
    y_title: str,
    x_title: str = "Date",
    hover_format: str = "$,.0f",
    fill: bool = False,
) -> dict:
    """Line chart with one trace per series."""
    palette = [BRAND, MUTED, POS, NEG]
    data = [
        {
            "type": "scatter",
            "mode": "lines",
            "name": name,
            "x": x,
            "y": values,
            "line": {"color": palette[i % len(palette)], "width": 1.6},
            "fill": "tozeroy" if fill else "none",
            "hovertemplate": f"%{{x}}: %{{y:{hover_format}}}<extra>{name}</extra>",
        }
        for i, (name, values) in enumerate(series.items())
    ]
    layout = _layout(title, x_title, y_title, legend={"orientation": "h", "y": -0.25})
    if "%" in hover_format:
        layout["yaxis"]["tickformat"] = ".0%"
    return {"data": data, "layout": layout}


def mark_events(figure: dict, events: list[dict], *, name: str, y: list[float], x: list) -> dict:
    """Markers on a line chart's dates: ``events`` are {date, amount} (e.g. deposits and
    withdrawals), drawn on the series ``y`` at those dates, green in and red out, with the amount
    on hover."""
    at = dict(zip(x, y))
    points = [e for e in events if e["date"] in at]
    figure["data"].append(
        {
            "type": "scatter",
            "mode": "markers",
            "name": name,
            "x": [e["date"] for e in points],
            "y": [at[e["date"]] for e in points],
            "marker": {
                "size": 9,
                "symbol": "diamond",
                "color": [POS if e["amount"] > 0 else NEG for e in points],
            },
            "customdata": [e["amount"] for e in points],
            "hovertemplate": "%{x}: %{customdata:$,.0f}<extra>" + name + "</extra>",
        }
    )
    return figure


def heatmap(labels: list[str], matrix: list[list[float | None]], *, title: str) -> dict:
    """Correlation heatmap: diverging red–white–blue centred on 0, values on hover."""
    trace = {
        "type": "heatmap",
        "x": labels,
        "y": labels,
        "z": matrix,
        "zmin": -1,
        "zmax": 1,
        "zmid": 0,
        "colorscale": [[0, "#b2182b"], [0.5, "#f7f7f7"], [1, "#2166ac"]],
        "colorbar": {"title": {"text": "Correlation"}},
        "hovertemplate": "%{y} vs %{x}: %{z:.2f}<extra></extra>",
        "hoverongaps": False,
    }
    layout = _layout(title, "Symbol", "Symbol", height=max(420, 22 * len(labels) + 160))
    layout["yaxis"]["autorange"] = "reversed"
    return {"data": [trace], "layout": layout}


def histogram(values: list[float], *, title: str, x_title: str, markers: dict[str, float]) -> dict:
    """Return histogram with vertical lines at the given values (e.g. VaR 95/99)."""
    shapes, annotations = [], []
    for i, (name, x) in enumerate(markers.items()):
        shapes.append(
            {
                "type": "line",
                "x0": x,
                "x1": x,
                "yref": "paper",
                "y0": 0,
                "y1": 1,
                "line": {"color": NEG, "dash": "dash" if i else "solid", "width": 1.5},
            }
        )
        annotations.append(
            {
                "x": x,
                "yref": "paper",
                "y": 1 - 0.08 * i,
                "text": name,
                "showarrow": False,
                "xanchor": "right",
                "font": {"color": NEG},
            }
        )
    trace = {
        "type": "histogram",
        "x": values,
        "nbinsx": 40,
        "marker": {"color": BRAND},
        "hovertemplate": "%{x:.2%}: %{y} days<extra></extra>",
    }
    layout = _layout(title, x_title, "Days", shapes=shapes, annotations=annotations)
    layout["xaxis"]["tickformat"] = ".1%"
    return {"data": [trace], "layout": layout}


def fan(path: list[dict], *, title: str, loss_limit_pct: float | None = None) -> dict:
    """A fan chart of simulated outcomes: the 5–95% and 25–75% bands and the median, in % of
    today's equity, against trading days ahead (day 0 = today, outcome 0)."""
    days = [0, *(c["day"] for c in path)]

    def series(key: str) -> list[float]:
        return [0.0, *(c["pct"][key] / 100.0 for c in path)]

    def band(lo: str, hi: str, name: str, alpha: float) -> list[dict]:
        color = f"rgba(36, 88, 214, {alpha})"
        edge = {"type": "scatter", "mode": "lines", "x": days, "line": {"width": 0}}
        return [
            {**edge, "y": series(lo), "name": f"{name} low", "showlegend": False,
             "hovertemplate": f"day %{{x}}: %{{y:.1%}}<extra>{lo[1:]}th percentile</extra>"},
            {**edge, "y": series(hi), "name": name, "fill": "tonexty", "fillcolor": color,
             "hovertemplate": f"day %{{x}}: %{{y:.1%}}<extra>{hi[1:]}th percentile</extra>"},
        ]  # fmt: skip

    data = [
        *band("p5", "p95", "5–95% of outcomes", 0.15),
        *band("p25", "p75", "25–75% of outcomes", 0.3),
        {
            "type": "scatter",
            "mode": "lines",
            "name": "Median",
            "x": days,
            "y": series("p50"),
            "line": {"color": BRAND, "width": 2},
            "hovertemplate": "day %{x}: %{y:.1%}<extra>median</extra>",
        },
    ]
    if loss_limit_pct is not None:
        data.append(
            {
                "type": "scatter",
                "mode": "lines",
                "name": f"Client's loss limit (−{loss_limit_pct:g}%)",
                "x": [days[0], days[-1]],
                "y": [-loss_limit_pct / 100.0] * 2,
                "line": {"color": NEG, "dash": "dash", "width": 1.5},
                "hoverinfo": "skip",
            }
        )
    layout = _layout(
        title,
        "Trading days ahead",
        "Gain or loss (% of today's equity)",
        legend={"orientation": "h", "y": -0.25},
    )
    layout["yaxis"]["tickformat"] = ".0%"
    return {"data": data, "layout": layout}
