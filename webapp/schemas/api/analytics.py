"""/analytics: each payload under ``data`` and its result (a stored result with the contract's top-
level fields, or why there is none).
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import RootModel

from webapp.schemas.api.base import ApiModel, IsoDate
from webapp.schemas.api.common import ResultMetadata, Totals, Unavailable
from webapp.schemas.contract import (
    DiversificationContract,
    FactorExposuresContract,
    OverviewContract,
    PositionFactorContract,
    RiskContract,
    StressImpact,
)


class OverviewDataSector(ApiModel):
    """One sector's long, short, net and gross exposure in dollars."""

    sector: str


class OverviewDataPosition(ApiModel):
    """One position of the overview: its valued fields (dollars) and valuation status."""

    position_id: int
    symbol: str
    status: str


class OverviewData(ApiModel):
    """Book totals in dollars, exposure per sector, the valued positions and those left out."""

    summary: Totals
    sectors: list[OverviewDataSector]
    positions: list[OverviewDataPosition]
    left_out: list[dict[str, Any]]
    method: str = None


class CorrelationData(ApiModel):
    """Pairwise return correlations of the largest holdings (null where overlap is thin), overlap
    days per pair, exposure weights (fractions) and the diversification score (0-1)."""

    symbols: list[str]
    matrix: dict[str, dict[str, float | None]]
    matrix_rows: list[list[float | None]]
    data_points: list[list[int]]
    weights: dict[str, float | None] = None
    average_correlation: float | None = None
    diversification_score: float | None = None
    start: IsoDate | None = None
    end: IsoDate | None = None
    left_out: list[dict[str, Any]] = None


class DiversificationData(ApiModel):
    """The diversification score: exposure-weighted mean |pairwise correlation| (0 = uncorrelated,
    1 = moving as one), its reading in words and the symbols counted."""

    portfolio_correlation: float | None
    diversification_score: float | None = None
    label: str | None = None
    symbols_included: int


class FactorExposuresDataFactor(ApiModel):
    """One factor's portfolio beta and dollar exposure (beta x equity)."""

    name: str
    beta: float | None
    exposure_dollar: float | None


class FactorExposuresData(ApiModel):
    """Portfolio betas and dollar exposures per factor, equity in dollars and the share of gross
    exposure modelled (0.9 = 90%)."""

    factors: list[FactorExposuresDataFactor]
    equity: float = None
    coverage: float | None = None
    left_out: list[dict[str, Any]] = None


class PositionFactorDataPosition(ApiModel):
    """One position's factor betas, or available false when it has none."""

    position_id: int
    symbol: str
    available: bool
    betas: dict[str, float | None] = None


class PositionFactorData(ApiModel):
    """A page of positions with their factor betas, and the factors' names."""

    positions: list[PositionFactorDataPosition]
    factors: list[str]


class RiskDataVarItem(ApiModel):
    """One-day VaR and expected shortfall at one confidence level (0.95): loss fractions, $."""

    confidence: float


class RiskData(ApiModel):
    """Risk over the look-back: beta vs the benchmark, annualized volatility and max drawdown
    (fractions, drawdown <= 0), VaR per confidence level and each symbol's contribution."""

    portfolio_beta: float | None
    annualized_volatility: float | None
    max_drawdown: float | None
    var: list[RiskDataVarItem]
    nobs: int
    start: IsoDate | None = None
    end: IsoDate | None = None
    contributions: list[dict[str, Any]] = None


class StressDataScenarioMoveExplainedItem(ApiModel):
    """How one underlying's scenario move was built: beta x move per factor, their sum,
    the shrinkage and the final move (decimal returns)."""

    underlying: str
    terms: dict[str, float]
    raw_move: float
    shrinkage: float
    move: float


class StressDataScenario(ApiModel):
    """One scenario's result: P&L and new value in dollars, P&L as a fraction of equity
    (pnl_pct) and in percentage points (impact), and the factor moves."""

    scenario_id: str
    id: str
    impact: StressImpact
    name: str
    category: str
    severity: str = None
    impact_type: str = None
    pnl: float
    pnl_pct: float | None
    new_value: float
    positions: list[dict[str, Any]] = None
    left_out: list[dict[str, Any]] = None
    factor_moves: dict[str, float] = None
    move_explained: list[StressDataScenarioMoveExplainedItem] = None
    covariance: dict[str, Any] = None
    shrinkage: dict[str, Any] = None


class StressDataCovariance(ApiModel):
    """How the scenario factor covariance was estimated: the stress-day weight (blend), day
    counts, the market fall that makes a stress day (0.02 = 2%) and the history used."""

    method: str
    blend: float
    stress_days: int
    calm_days: int
    market_threshold: float | None = None
    history_start: IsoDate | None = None
    history_end: IsoDate | None = None
    note: str = None


class StressDataShrinkage(ApiModel):
    """The move shrinkage applied: move = intercept x market move + slope x raw move."""

    method: str
    intercept: float
    slope: float
    rule: str


class StressData(ApiModel):
    """Every stress scenario's result on today's book, the equity it starts from ($) and how the
    factor moves are estimated."""

    equity: float = None
    scenarios: list[StressDataScenario]
    covariance: StressDataCovariance = None
    shrinkage: StressDataShrinkage = None
    portfolio_value: float
    calculation_date: IsoDate | None


class GreeksDataTotals(ApiModel):
    """The book's option Greeks summed: delta in shares, gamma in delta per $1, theta in $ per
    day, vega and rho in $ per point."""

    delta: float
    gamma: float
    theta: float
    vega: float
    rho: float


class GreeksData(ApiModel):
    """Each valued option's Greeks (per share and per position), the book's totals and the count."""

    options: list[dict[str, Any]]
    totals: GreeksDataTotals
    count: int


class PerformanceDataHistory(ApiModel):
    """The book's value history: trading dates and its equity in dollars on each."""

    dates: list[IsoDate]
    equity: list[float]


class PerformanceData(ApiModel):
    """Time-weighted returns per period (fractions) against the benchmark, and the value history."""

    periods: list[dict[str, Any]]
    history: PerformanceDataHistory
    benchmark: str = None


class ForwardRangeDataBand(ApiModel):
    """Simulated outcome percentiles (p5, ...) at one horizon: in percentage points of equity,
    as P&L in dollars and as account value in dollars."""

    horizon_days: int
    label: str
    pct: dict[str, float | None]
    dollars: dict[str, float | None]
    value: dict[str, float | None]


class ForwardRangeDataPathItem(ApiModel):
    """Outcome percentiles, in percentage points of equity, a number of trading days ahead."""

    day: int
    pct: dict[str, float | None]


class ForwardRangeDataBreachItem(ApiModel):
    """Probabilities (0-1) of a loss at or beyond the client's limit by one horizon: at the
    horizon, or at any checkpoint up to it."""

    horizon_days: int
    at_horizon: float
    any_checkpoint: float


class ForwardRangeData(ApiModel):
    """A Monte Carlo range of the book's outcome at each horizon (trading days) from today's
    equity ($), with the chance of breaching the client's loss limit (percent)."""

    method: str
    paths: int
    seed: int
    horizons: list[int]
    observations: int
    start_equity: float
    bands: list[ForwardRangeDataBand]
    path: list[ForwardRangeDataPathItem]
    loss_limit_pct: float | None
    breach: list[ForwardRangeDataBreachItem] | None
    window_start: IsoDate | None = None
    window_end: IsoDate | None = None
    left_out: list[dict[str, Any]] = None
    description: str = None


class RiskScoreDataGap(ApiModel):
    """The book's risk score against the client's: the difference in score points and a verdict."""

    verdict: str
    words: str
    difference: int | None
    portfolio_score: int


class RiskScoreDataTolerance(ApiModel):
    """The client's stated tolerance: score (1-99) and loss limit in percent (10.0 = 10%)."""

    score: int
    loss_limit_pct: float
    client_name: str
    category: str = None


class RiskScoreData(ApiModel):
    """The book's risk score (1-99) from its 6-month forward range: downside and upside in percent
    of equity, and the gap to the client's tolerance."""

    score: int
    downside_pct: float
    upside_pct: float
    horizon_days: int
    gap: RiskScoreDataGap
    tolerance: RiskScoreDataTolerance | None
    parametric_score: int = None
    method: str = None
    simulation: str = None


class OverviewAvailable(OverviewContract):
    """Overview: a stored result."""

    available: Literal[True]
    data: OverviewData
    metadata: ResultMetadata


class OverviewResult(RootModel[OverviewAvailable | Unavailable]):
    """Overview: the stored result, or why there is none."""


class CorrelationAvailable(ApiModel):
    """Correlation: a stored result."""

    available: Literal[True]
    data: CorrelationData
    metadata: ResultMetadata


class CorrelationResult(RootModel[CorrelationAvailable | Unavailable]):
    """Correlation: the stored result, or why there is none."""


class DiversificationAvailable(DiversificationContract):
    """Diversification: a stored result."""

    available: Literal[True]
    data: DiversificationData
    metadata: ResultMetadata


class DiversificationResult(RootModel[DiversificationAvailable | Unavailable]):
    """Diversification: the stored result, or why there is none."""


class FactorExposuresAvailable(FactorExposuresContract):
    """FactorExposures: a stored result."""

    available: Literal[True]
    data: FactorExposuresData
    metadata: ResultMetadata


class FactorExposuresResult(RootModel[FactorExposuresAvailable | Unavailable]):
    """FactorExposures: the stored result, or why there is none."""


class PositionFactorAvailable(PositionFactorContract):
    """PositionFactor: a stored result."""

    available: Literal[True]
    data: PositionFactorData
    metadata: ResultMetadata


class PositionFactorResult(RootModel[PositionFactorAvailable | Unavailable]):
    """PositionFactor: the stored result, or why there is none."""


class RiskAvailable(RiskContract):
    """Risk: a stored result."""

    available: Literal[True]
    data: RiskData
    metadata: ResultMetadata


class RiskResult(RootModel[RiskAvailable | Unavailable]):
    """Risk: the stored result, or why there is none."""


class StressAvailable(ApiModel):
    """Stress: a stored result."""

    available: Literal[True]
    data: StressData
    metadata: ResultMetadata


class StressResult(RootModel[StressAvailable | Unavailable]):
    """Stress: the stored result, or why there is none."""


class GreeksAvailable(ApiModel):
    """Greeks: a stored result."""

    available: Literal[True]
    data: GreeksData
    metadata: ResultMetadata


class GreeksResult(RootModel[GreeksAvailable | Unavailable]):
    """Greeks: the stored result, or why there is none."""


class PerformanceAvailable(ApiModel):
    """Performance: a stored result."""

    available: Literal[True]
    data: PerformanceData
    metadata: ResultMetadata


class PerformanceResult(RootModel[PerformanceAvailable | Unavailable]):
    """Performance: the stored result, or why there is none."""


class ForwardRangeAvailable(ApiModel):
    """ForwardRange: a stored result."""

    available: Literal[True]
    data: ForwardRangeData
    metadata: ResultMetadata


class ForwardRangeResult(RootModel[ForwardRangeAvailable | Unavailable]):
    """ForwardRange: the stored result, or why there is none."""


class RiskScoreAvailable(ApiModel):
    """RiskScore: a stored result."""

    available: Literal[True]
    data: RiskScoreData
    metadata: ResultMetadata


class RiskScoreResult(RootModel[RiskScoreAvailable | Unavailable]):
    """RiskScore: the stored result, or why there is none."""


class FactorDefinitionsResponseFactor(ApiModel):
    """One factor: its ETF proxy, how its returns are built (hedged or raw) and its meaning."""

    name: str
    etf_symbol: str
    short_symbol: str | None = None
    construction: Literal["hedged", "raw"]
    hedged_against: list[str] = None
    formula: str | None = None
    description: str


class FactorDefinitionsResponse(ApiModel):
    """The factor model's factors in display order, and how many there are."""

    factors: list[FactorDefinitionsResponseFactor]
    count: int


class ModelValidationResponseShipped(ApiModel):
    """The shipped stress model's names and its average-RMSE gain over the baseline
    (1 - RMSE / baseline RMSE; 0.2 = 20% lower)."""

    market_only: str
    all_factors: str
    improvement_market_only: float
    improvement_all_factors: float
    baseline: str


class ModelValidationResponseTableItem(ApiModel):
    """One model's errors (RMSE, MAE in decimal returns) on one episode, or on average."""

    episode: str
    model: str
    rmse: float | None = None
    mae: float | None = None


class ModelValidationResponseEpisodePair(ApiModel):
    """One symbol's realized episode return and each model's prediction (decimals)."""

    symbol: str
    realized: float | None = None
    predicted: dict[str, float | None]


class ModelValidationResponseEpisode(ApiModel):
    """One historical episode: its dates, the pre-episode fit window, the actual moves, each
    model's errors and the realized-predicted pairs (decimal returns)."""

    id: str
    name: str
    start: IsoDate
    end: IsoDate
    fit_start: IsoDate
    fit_end: IsoDate
    fit_observations: int
    market_move: float | None = None
    factor_moves: dict[str, float | None] = None
    symbols: int
    rmse: dict[str, float | None]
    mae: dict[str, float | None]
    blume_fit: dict[str, Any] = None
    left_out: list[str] = None
    pairs: list[ModelValidationResponseEpisodePair]


class ModelValidationResponse(ApiModel):
    """The stress models scored out of sample on historical episodes: errors per episode and on
    average (decimal returns), or why there is no validation."""

    available: bool
    as_of: IsoDate | None = None
    price_version: int = None
    reason: str | None = None
    message: str | None = None
    method: str = None
    window: int = None
    models: list[str] = None
    baseline: str = None
    labels: dict[str, str] = None
    market_only_models: list[str] = None
    shipped: ModelValidationResponseShipped = None
    table: list[ModelValidationResponseTableItem] = None
    average_rmse: dict[str, float | None] = None
    average_mae: dict[str, float | None] = None
    rmse_improvement_vs_raw_capm: dict[str, float | None] = None
    episodes: list[ModelValidationResponseEpisode] = None
