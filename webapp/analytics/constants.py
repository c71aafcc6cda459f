"""Constants shared by the engines (one place, as empyrical's periods.py)."""

TRADING_DAYS_PER_YEAR = 252
OPTION_MULTIPLIER = 100.0
BENCHMARK_SYMBOL = "SPY"
STANDARD_WINDOWS = (30, 60, 90, 180, 252)
DEFAULT_RISK_WINDOW = 90
DEFAULT_FACTOR_WINDOW = 252
MIN_FACTOR_OBSERVATIONS = 60
REALIZED_VOL_WINDOW = 60

# Position types: shares long/short, and long/short calls (LC, SC) and puts (LP, SP). The model's
# CHECK constraints, the forms, the importers and the engines all use these.
LONG_TYPES = ("LONG", "LC", "LP")
SHORT_TYPES = ("SHORT", "SC", "SP")
STOCK_TYPES = ("LONG", "SHORT")
OPTION_TYPES = ("LC", "LP", "SC", "SP")
POSITION_TYPES = ("LONG", "SHORT", "LC", "LP", "SC", "SP")
