"""Fixtures for the pure engine tests: the bundled real price dataset, no app and no database.

Session-scoped and shared by every module in tests/analytics/: treat the frames as read-only
(``.copy()`` before mutating).
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from tests.analytics.stress_helpers import factor_covariance
from webapp.analytics.returns import simple_returns
from webapp.analytics.scenarios import Scenario, load_scenarios

DATASET = (
    Path(__file__).resolve().parents[2] / "webapp" / "data" / "prices_adjclose_extended.csv.gz"
)


@pytest.fixture(scope="session")
def real_prices() -> pd.DataFrame:
    """Wide adjusted closes, a column per symbol.

    DatetimeIndex ascending, 2018-01-02 .. 2026-08-03.
    """
    long = pd.read_csv(DATASET, parse_dates=["date"])
    wide = long.pivot(index="date", columns="symbol", values="adj_close").sort_index()
    wide.index = pd.DatetimeIndex(wide.index, name="date")
    wide.columns.name = None
    return wide


@pytest.fixture(scope="session")
def real_returns(real_prices: pd.DataFrame) -> pd.DataFrame:
    """Daily simple returns of ``real_prices`` (first date dropped, gaps left as NaN)."""
    return simple_returns(real_prices)


@pytest.fixture(scope="session")
def prices(real_prices: pd.DataFrame) -> pd.DataFrame:
    """``real_prices`` under the name the stress tests use."""
    return real_prices


@pytest.fixture(scope="session")
def factor_cov(real_prices: pd.DataFrame) -> pd.DataFrame:
    """The stress tests' 8-factor daily covariance over the dataset's last 252 returns."""
    return factor_covariance(real_prices)


@pytest.fixture(scope="session")
def library() -> list[Scenario]:
    """The shipped scenario library."""
    return load_scenarios()
