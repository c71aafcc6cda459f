"""Constants shared by the engines (one place, as empyrical's periods.py).

The engines import these rather than repeating a literal, so a convention (252 trading days, a
7-day staleness rule, the factor names) cannot drift between two of them. Engines that used to
define one still re-export it under its old name for their callers.
"""

# Calendars. Returns are annualised over trading days; option time to expiry counts calendar days
# (mibian's t = days / 365).
TRADING_DAYS_PER_YEAR = 252
CALENDAR_DAYS_PER_YEAR = 365

OPTION_MULTIPLIER = 100.0
BENCHMARK_SYMBOL = "SPY"

# Windows (trading days of returns) and the fewest observations a statistic is computed from.
STANDARD_WINDOWS = (30, 60, 90, 180, 252)
DEFAULT_RISK_WINDOW = 90
DEFAULT_FACTOR_WINDOW = 252
MIN_FACTOR_OBSERVATIONS = 60
REALIZED_VOL_WINDOW = 60
# Fewer daily returns than this give a volatility too noisy to price an option with.
MIN_VOL_OBSERVATIONS = 20
# Reference backlog: fewer than 20 overlapping observations -> insufficient_overlap for the
# regression.
MIN_RISK_OBSERVATIONS = 20
# Correlations (reference backlog's correlation-matrix / diversification-score contract): the
# fewest overlapping dates for a pair, and how many symbols the matrix shows by default / at most.
DEFAULT_MIN_OVERLAP = 30
DEFAULT_MAX_SYMBOLS = 25
MAX_SYMBOLS_CAP = 50

# A close more than this many calendar days before the date it stands for is stale: not a
# current price (valuation), not an episode's start or end price (historical replay).
MAX_PRICE_AGE_DAYS = 7

# Position types: shares long/short, and long/short calls (LC, SC) and puts (LP, SP). The model's
# CHECK constraints, the forms, the importers and the engines all use these.
LONG_TYPES = ("LONG", "LC", "LP")
SHORT_TYPES = ("SHORT", "SC", "SP")
STOCK_TYPES = ("LONG", "SHORT")
OPTION_TYPES = ("LC", "LP", "SC", "SP")
CALL_TYPES = ("LC", "SC")
POSITION_TYPES = ("LONG", "SHORT", "LC", "LP", "SC", "SP")

# The factor model's factors, in the order of its columns (webapp/analytics/factors.py defines
# each one's ETF proxy; the stress library may shock only these).
FACTOR_NAMES: tuple[str, ...] = (
    "Market",
    "Value",
    "Growth",
    "Momentum",
    "Quality",
    "Size",
    "Low Volatility",
    "Rates",
)

# Performance (TWR, IRR, risk-adjusted statistics). Cumulative returns are annualised over
# calendar days (ACT/365) and only once the window spans a year; GIPS forbids annualising less.
MIN_ANNUALISED_DAYS = 365
# Month-based statistics (best/worst month, monthly hit rate) need this many complete months.
MIN_MONTH_OBSERVATIONS = 3
# Blend benchmark weights must sum to 1 within this tolerance.
BLEND_WEIGHT_TOLERANCE = 1e-9
# A day's base (V_{t-1} + F_t) and close within this fraction of the day's largest amount
# (|V_{t-1}|, |F_t|) of zero are an empty book (rounding left by a full withdrawal), not a return.
EMPTY_BOOK_RELATIVE = 1e-9

# Stress option revaluation.
# Default vol rule of a factor scenario without ``vol_shock``: when the scenario's Market factor
# move m (shocked or implied) is negative, every option's implied vol rises by
# ``-VOL_PER_MARKET_FALL * m`` (decimal vol points; 1.35 x a 10% fall = +0.135). Fitted on the
# dataset's five replay episodes (the library's historical scenarios): SPY's realized vol over
# the episode minus its 60-day realized vol before the start, regressed through the origin on
# SPY's fall over the episode, gives 1.36 (non-overlapping 21-day falls of SPY 2018-2026 give
# 1.75). An assumption, not a measurement of implied vol: the dataset has no implied vols (no
# VIX), realized vol overshoots implied vol in crashes, and five points dominated by COVID.
VOL_PER_MARKET_FALL = 1.35
# Largest |vol_shock| the loader accepts (decimal vol points: 1.0 = 100 points).
MAX_VOL_SHOCK = 1.0
# A negative vol shock never takes an option's vol below this (decimal per year): Black-Scholes
# needs sigma > 0, and 1% is below any listed equity option's implied vol.
MIN_STRESSED_VOL = 0.01
