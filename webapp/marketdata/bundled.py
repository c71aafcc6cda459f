"""The bundled offline dataset (webapp/data, real daily prices; see DATASET.md there).

``prices_adjclose_extended.csv.gz`` gives adjusted close to 2026-08-03 and drives valuation and
returns; ``prices.csv.gz`` adds open/high/low/close/volume up to 2023-10-27. Its own adj_close is on
an older adjustment basis, so it is used only for the two symbols the extended file lacks (UNH,
^GSPC): mixing bases inside one series would fake a jump at the seam.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from functools import cached_property
from pathlib import Path

import pandas as pd

from webapp.marketdata.base import BAR_COLUMNS

DATA_DIR = Path(__file__).resolve().parent.parent / "data"


class BundledProvider:
    """Reads the CSVs shipped inside the package; no network, no key."""

    name = "bundled"

    def __init__(self, data_dir: Path | str = DATA_DIR) -> None:
        self.data_dir = Path(data_dir)

    @cached_property
    def _bars(self) -> pd.DataFrame:
        extended = pd.read_csv(self.data_dir / "prices_adjclose_extended.csv.gz")
        ohlcv = pd.read_csv(self.data_dir / "prices.csv.gz")
        only_ohlcv = ohlcv[~ohlcv["symbol"].isin(extended["symbol"].unique())]
        merged = extended.merge(
            ohlcv.drop(columns=["adj_close"]), on=["date", "symbol"], how="left"
        )
        bars = pd.concat([merged, only_ohlcv], ignore_index=True)
        bars["date"] = pd.to_datetime(bars["date"]).dt.date
        bars["volume"] = bars["volume"].astype("Int64")
        return bars[BAR_COLUMNS].sort_values(["symbol", "date"], ignore_index=True)

    def available_symbols(self) -> list[str]:
        """Every symbol in the bundled files, sorted."""
        return sorted(self._bars["symbol"].unique())

    def fetch_daily_bars(
        self, symbols: Sequence[str], start: dt.date | None = None, end: dt.date | None = None
    ) -> pd.DataFrame:
        """Bundled bars for ``symbols`` from ``start`` to ``end`` inclusive (None: unbounded)."""
        bars = self._bars
        mask = bars["symbol"].isin(list(symbols))
        if start is not None:
            mask &= bars["date"] >= start
        if end is not None:
            mask &= bars["date"] <= end
        return bars.loc[mask].reset_index(drop=True)

    def securities(self) -> pd.DataFrame:
        """symbol, name, asset_class, sector, industry."""
        return pd.read_csv(self.data_dir / "securities.csv", keep_default_na=False)

    def risk_free(self) -> pd.DataFrame:
        """date (datetime.date), rate_annual_pct (13-week T-bill, % per year)."""
        frame = pd.read_csv(self.data_dir / "risk_free.csv")
        frame["date"] = pd.to_datetime(frame["date"]).dt.date
        return frame
