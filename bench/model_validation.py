"""Out-of-sample validation table of the stress models on the bundled prices.

Run ``.venv/bin/python bench/model_validation.py`` (``--json`` prints ``to_dict()`` instead).
For each historical episode of webapp/analytics/scenarios.json every model is fitted on the 252
trading days before the episode start, given the episode's actual moves, and scored on every
symbol's realized episode return (``webapp.analytics.validation``). RMSE and MAE are in
percentage points of episode return; "vs raw" is the average-RMSE gain over raw CAPM.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from webapp.analytics.validation import (  # noqa: E402
    MARKET_ONLY_MODELS,
    format_table,
    validate_models,
)

DATASET = (
    Path(__file__).resolve().parents[1] / "webapp" / "data" / "prices_adjclose_extended.csv.gz"
)


def load_prices() -> pd.DataFrame:
    """Wide adjusted closes of the bundled dataset, as tests/analytics/conftest.py loads them."""
    long = pd.read_csv(DATASET, parse_dates=["date"])
    wide = long.pivot(index="date", columns="symbol", values="adj_close").sort_index()
    wide.index = pd.DatetimeIndex(wide.index, name="date")
    wide.columns.name = None
    return wide


def main() -> None:
    result = validate_models(load_prices())
    if "--json" in sys.argv:
        print(json.dumps(result.to_dict(), indent=1))
        return
    print(format_table(result))
    print()
    for ev in result.episodes:
        fit = ev.blume_fit
        blume = f"a={fit.intercept:.3f} b={fit.slope:.3f}" if fit.fitted else "defaults (1/3, 2/3)"
        print(
            f"{ev.episode.id:<20} fit {ev.fit_start.date()}..{ev.fit_end.date()} "
            f"({ev.fit_observations} days) "
            f"episode {ev.episode.start.date()}..{ev.episode.end.date()}"
            f"  fitted Blume: {blume}"
        )
    best = min(MARKET_ONLY_MODELS, key=result.average_rmse.get)
    print()
    print(f"best market-only model: {best} ({100 * result.improvement(best):+.1f}% RMSE vs raw)")
    for m in ("multi_factor", "multi_factor_vasicek"):
        print(f"{m}: {100 * result.improvement(m):+.1f}% RMSE vs raw")
    bar = [m for m in result.models if result.improvement(m) >= 0.10]
    print(f"models meeting the >= 10% bar: {', '.join(bar) or 'none'}")


if __name__ == "__main__":
    main()
