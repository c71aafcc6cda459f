"""Model validation: the out-of-sample error table and a predicted-vs-realized scatter."""

from __future__ import annotations

from flask import render_template, request

from webapp.methodology import bp
from webapp.pages import is_htmx
from webapp.services.model_validation import model_validation

#: The models drawn on the scatter: the baseline and the shipped model's two variants.
SCATTER_MODELS = ("raw_capm", "shipped", "shipped_all_factors")


def _scatter(episode: dict, labels: dict) -> dict:
    """Predicted (y) vs realized (x) episode return per symbol, one trace per model."""
    pairs = episode["pairs"]
    realized = [p["realized"] for p in pairs]
    symbols = [p["symbol"] for p in pairs]
    lo = min([*realized, *(p["predicted"][m] for p in pairs for m in SCATTER_MODELS)])
    hi = max([*realized, *(p["predicted"][m] for p in pairs for m in SCATTER_MODELS)])
    colors = {"raw_capm": "#9aa3ad", "shipped": "#1f5fbf", "shipped_all_factors": "#2e8b57"}
    data = [
        {
            "type": "scatter",
            "mode": "markers",
            "name": labels[m],
            "x": realized,
            "y": [p["predicted"][m] for p in pairs],
            "text": symbols,
            "marker": {"size": 6, "color": colors[m], "opacity": 0.8},
            "hovertemplate": "%{text}: realized %{x:.1%}, predicted %{y:.1%}<extra></extra>",
        }
        for m in SCATTER_MODELS
    ]
    data.append(
        {
            "type": "scatter",
            "mode": "lines",
            "name": "Perfect prediction",
            "x": [lo, hi],
            "y": [lo, hi],
            "line": {"color": "#444", "dash": "dot", "width": 1},
            "hoverinfo": "skip",
        }
    )
    axis = {"tickformat": ".0%", "automargin": True}
    return {
        "data": data,
        "layout": {
            "title": {"text": f"{episode['name']}: predicted vs realized", "font": {"size": 14}},
            "xaxis": {**axis, "title": {"text": "Realized episode return"}},
            "yaxis": {**axis, "title": {"text": "Predicted episode return"}},
            "legend": {"orientation": "h", "y": -0.25},
            "margin": {"l": 70, "r": 20, "t": 40, "b": 60},
            "hovermode": "closest",
        },
    }


@bp.get("/validation")
def validation():
    """The table of every model's errors per episode; HTMX swaps the scatter's episode."""
    result = model_validation()
    episode = None
    figure = None
    episode_error = None
    if result["available"]:
        wanted = request.args.get("episode")
        episodes = result["episodes"]
        episode = next((e for e in episodes if e["id"] == wanted), None)
        if episode is None:
            # An unknown episode is said aloud beside the picker, not silently replaced.
            episode_error = wanted if wanted else None
            episode = episodes[0]
        figure = _scatter(episode, result["labels"])
    template = (
        "methodology/_scatter.html"
        if is_htmx() and request.headers.get("HX-Target") == "validation-scatter"
        else "methodology/validation.html"
    )
    return render_template(
        template, result=result, episode=episode, figure=figure, episode_error=episode_error
    )
