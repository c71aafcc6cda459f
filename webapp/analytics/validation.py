"""Out-of-sample validation of the stress models on the dataset's historical episodes.

For each historical episode of ``scenarios.json`` (``replay`` start/end), every model is fitted
only on the ``window`` trading days of returns dated strictly before the episode start, is given
the episode's actual moves (SPY's return for the market-only models, every factor's for the
multi-factor one), and predicts each symbol's episode return. The predictions are compared with
the realized episode returns (``replay.episode_returns``: P_end / P_start - 1 between the last
closes on or before the start and end dates) of every symbol with prices.

Models (predicted episode return of symbol i, decimal):

* ``raw_capm``      beta_i * m, raw OLS CAPM beta on the pre-episode window;
* ``blume``         (1/3 + 2/3 beta_i) * m, Blume's published coefficients;
* ``blume_fitted``  (a + b beta_i) * m, (a, b) fitted on pre-episode history only
  (``shrinkage.fit_blume``: next-window betas on previous-window betas; the defaults when the
  history holds fewer than two windows);
* ``vasicek``       beta_V,i * m, Vasicek shrinkage toward the cross-sectional mean;
* ``multi_factor``  sum_f beta_if m_f, per-symbol OLS on the eight factors of
  ``factors.factor_returns`` over the same window, given every factor's actual episode move;
* ``multi_factor_vasicek``  the same with each factor's betas Vasicek-shrunk across symbols
  (``shrinkage.vasicek_factor_betas``, se = |beta / t|);
* ``conditional_vasicek``  only SPY's move is given, the other factors move by
  Sigma_us Sigma_ss^-1 m on the calm pre-episode factor covariance
  (``factor_shocks.correlated_shocks``), with the Vasicek-shrunk factor betas;
* ``shipped``       what the stress engine does with a market-only scenario, with its default
  settings: the other factors move by their conditional expectation on the scenario covariance
  (``shrinkage.scenario_covariance``: stress days of the whole pre-episode history blended with
  the calm window), raw multi-factor betas give the raw move, and ``MoveShrinkage`` (Blume)
  pulls it toward the market's move;
* ``shipped_all_factors``  the same model given every factor's actual move.

Vasicek priors (cross-sectional mean and variance) are taken over the scored symbols only, so the
factor ETFs (left out of the scoring) do not pull the prior.

Errors per episode over the symbols (the same symbols for every model):
RMSE = sqrt(mean((pred - real)²)), MAE = mean(|pred - real|), in decimal return units; the
average is the plain mean over episodes (each episode counts once, whatever its symbol count).

No intercept (alpha) is added: a daily alpha estimated on one year is noise when compounded over
an episode, and the stress engine applies none.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterable, Mapping, Sequence

import numpy as np
import pandas as pd

from webapp.analytics import factors as factors_module
from webapp.analytics._common import json_date, json_float
from webapp.analytics.constants import (
    BENCHMARK_SYMBOL,
    DEFAULT_FACTOR_WINDOW,
    MIN_FACTOR_OBSERVATIONS,
)
from webapp.analytics.errors import InsufficientHistory
from webapp.analytics.factor_shocks import correlated_shocks
from webapp.analytics.factors import FACTOR_ETFS, FACTORS, factor_betas, factor_returns
from webapp.analytics.replay import episode_returns
from webapp.analytics.returns import simple_returns
from webapp.analytics.shrinkage import (
    DEFAULT_STRESS_BLEND,
    BlumeFit,
    MoveShrinkage,
    blume_beta,
    capm_fit,
    fit_blume,
    scenario_covariance,
    vasicek_beta,
    vasicek_factor_betas,
)

SCENARIOS_PATH = Path(__file__).with_name("scenarios.json")

MODELS: tuple[str, ...] = (
    "raw_capm",
    "blume",
    "blume_fitted",
    "vasicek",
    "multi_factor",
    "multi_factor_vasicek",
    "conditional_vasicek",
    "shipped",
    "shipped_all_factors",
)
#: The stress engine's model (market-only variant) and the same given every factor's move.
SHIPPED_MODEL = "shipped"
SHIPPED_ALL_FACTORS = "shipped_all_factors"
#: Models given only the market's move (the others are given every factor's actual move).
MARKET_ONLY_MODELS: tuple[str, ...] = (
    "raw_capm",
    "blume",
    "blume_fitted",
    "vasicek",
    "conditional_vasicek",
    "shipped",
)
BASELINE_MODEL = "raw_capm"

METHOD = (
    "Out of sample: each model is fitted on the last {window} trading days of returns before the "
    "episode start, given the episode's actual SPY move (market-only models) or every factor's "
    "actual move (multi_factor), and predicts each symbol's episode return P_end/P_start - 1. "
    "RMSE and MAE over the symbols per episode (decimal); the average is the mean over episodes."
)


@dataclass(frozen=True)
class Episode:
    """A historical episode: id, name, and its start (peak) and end (trough) dates."""

    id: str
    name: str
    start: pd.Timestamp
    end: pd.Timestamp


def historical_episodes(path: Path | str = SCENARIOS_PATH) -> tuple[Episode, ...]:
    """The historical (``replay``) scenarios of a scenario library file, in file order."""
    with open(path, encoding="utf-8") as fh:
        library = json.load(fh)
    return tuple(
        Episode(
            id=s["id"],
            name=s.get("name", s["id"]),
            start=pd.Timestamp(s["replay"]["start"]),
            end=pd.Timestamp(s["replay"]["end"]),
        )
        for s in library["scenarios"]
        if "replay" in s
    )


def rmse(predicted: np.ndarray, realized: np.ndarray) -> float:
    """Root-mean-square error sqrt(mean((p - r)²)) (units of the inputs)."""
    d = np.asarray(predicted, float) - np.asarray(realized, float)
    return float(np.sqrt(np.mean(d * d)))


def mae(predicted: np.ndarray, realized: np.ndarray) -> float:
    """Mean absolute error mean(|p - r|) (units of the inputs)."""
    return float(np.mean(np.abs(np.asarray(predicted, float) - np.asarray(realized, float))))


@dataclass(frozen=True, eq=False)
class EpisodeValidation:
    """One episode's fit window, actual moves, predictions and errors.

    ``predictions`` is symbol x model (decimal episode return), ``realized`` the symbol's actual
    episode return; both cover exactly the evaluated symbols.
    """

    episode: Episode
    fit_start: pd.Timestamp
    fit_end: pd.Timestamp
    fit_observations: int
    market_move: float
    factor_moves: pd.Series
    realized: pd.Series
    predictions: pd.DataFrame
    rmse: dict[str, float]
    mae: dict[str, float]
    blume_fit: BlumeFit
    left_out: tuple[str, ...] = field(default=())

    def to_dict(self) -> dict:
        """JSON-ready: the episode, fit window, moves, errors and the scatter pairs per model."""
        return {
            "id": self.episode.id,
            "name": self.episode.name,
            "start": json_date(self.episode.start),
            "end": json_date(self.episode.end),
            "fit_start": json_date(self.fit_start),
            "fit_end": json_date(self.fit_end),
            "fit_observations": self.fit_observations,
            "market_move": json_float(self.market_move),
            "factor_moves": {str(k): json_float(v) for k, v in self.factor_moves.items()},
            "symbols": len(self.realized),
            "rmse": {m: json_float(v) for m, v in self.rmse.items()},
            "mae": {m: json_float(v) for m, v in self.mae.items()},
            "blume_fit": self.blume_fit.to_dict(),
            "left_out": list(self.left_out),
            "pairs": [
                {
                    "symbol": str(sym),
                    "realized": json_float(self.realized[sym]),
                    "predicted": {
                        m: json_float(self.predictions.at[sym, m]) for m in self.predictions
                    },
                }
                for sym in self.realized.index
            ],
        }


@dataclass(frozen=True, eq=False)
class ModelValidation:
    """Every episode's validation and the errors averaged over episodes."""

    episodes: tuple[EpisodeValidation, ...]
    models: tuple[str, ...]
    window: int
    average_rmse: dict[str, float]
    average_mae: dict[str, float]

    def improvement(self, model: str, baseline: str = BASELINE_MODEL) -> float:
        """Relative average-RMSE gain over ``baseline``: 1 - RMSE_model / RMSE_baseline."""
        return 1.0 - self.average_rmse[model] / self.average_rmse[baseline]

    def table(self) -> list[dict]:
        """Rows ``{episode, model, rmse, mae}`` per episode and model, then the ``average`` rows."""
        rows = [
            {"episode": ev.episode.id, "model": m, "rmse": ev.rmse[m], "mae": ev.mae[m]}
            for ev in self.episodes
            for m in self.models
        ]
        rows += [
            {
                "episode": "average",
                "model": m,
                "rmse": self.average_rmse[m],
                "mae": self.average_mae[m],
            }
            for m in self.models
        ]
        return rows

    def to_dict(self) -> dict:
        """JSON-ready: method, models, the table, averages, improvements and each episode."""
        return {
            "method": METHOD.format(window=self.window),
            "window": self.window,
            "models": list(self.models),
            "baseline": BASELINE_MODEL,
            "table": [
                {**r, "rmse": json_float(r["rmse"]), "mae": json_float(r["mae"])}
                for r in self.table()
            ],
            "average_rmse": {m: json_float(v) for m, v in self.average_rmse.items()},
            "average_mae": {m: json_float(v) for m, v in self.average_mae.items()},
            "rmse_improvement_vs_raw_capm": {
                m: json_float(self.improvement(m)) for m in self.models
            },
            "episodes": [ev.to_dict() for ev in self.episodes],
        }


def episode_factor_moves(
    realized: pd.Series, hedge_ratios: Mapping[str, Mapping[str, float]] | None = None
) -> pd.Series:
    """The factors' moves over an episode from the ETFs' episode returns (decimal).

    The construction of ``factors.FACTORS`` applied to the episode as one period: Market = SPY's
    episode return, Rates = TLT's; a style's leg is its ETF's return (minus its short leg's, if
    it has one); a ``"spread"`` style subtracts SPY's return, a ``"hedged"`` one subtracts
    ``sum_j h_j m_j`` with the hedge ratios fitted on the pre-episode window. This is how a
    scenario's ``shocks`` are stated (scenarios.json), so the factor model is given what a
    scenario would give it.

    Parameters
    ----------
    realized : Series
        Episode return per symbol (decimal), with every factor ETF.
    hedge_ratios : mapping factor -> {hedge factor -> h}, optional
        ``factors.FactorConstruction.hedge_ratios`` of the fit window (hedged styles only).
    """
    ratios = hedge_ratios or {}
    moves: dict[str, float] = {}
    for spec in FACTORS:  # FACTORS order: a hedge factor is built before it is used
        leg = float(realized[spec.etf_symbol])
        short = getattr(spec, "short_symbol", None)
        if short:
            leg -= float(realized[short])
        if spec.construction == "spread":
            leg -= float(realized[BENCHMARK_SYMBOL])
        for factor, h in ratios.get(spec.name, {}).items():
            leg -= h * moves[factor]
        moves[spec.name] = leg
    return pd.Series(moves, name="move")


def _factor_frame(
    returns: pd.DataFrame, window: int
) -> tuple[pd.DataFrame, dict[str, dict[str, float]]]:
    """Factor returns of ``returns`` and the hedge ratios they were built with ({} if none).

    ``factors.factor_construction`` (hedged styles, ratios fitted on the last ``window`` dates)
    is used when the factor module has it; the plain spread construction has no ratios.
    """
    construction = getattr(factors_module, "factor_construction", None)
    if construction is None:
        return factor_returns(returns), {}
    built = construction(returns, window=window)
    return built.returns, {k: dict(v) for k, v in built.hedge_ratios.items()}


def _predictions(
    fit_returns: pd.DataFrame,
    history: pd.DataFrame,
    market_history: pd.Series,
    factor_window: pd.DataFrame,
    all_factors: pd.DataFrame,
    moves: pd.Series,
    *,
    window: int,
    min_observations: int,
    stress_blend: float,
) -> tuple[pd.DataFrame, BlumeFit]:
    """Predicted episode return per symbol (rows) and model (columns)."""
    capm = capm_fit(fit_returns, factor_window["Market"], min_observations=min_observations)
    blume_fit = fit_blume(history, market_history, window=window, min_observations=min_observations)
    m = float(moves["Market"])
    fb = factor_betas(fit_returns, factor_window, window=window, min_observations=min_observations)
    multi = fb.betas.reindex(fit_returns.columns)
    multi_v = vasicek_factor_betas(fb.betas, fb.t_stats).reindex(fit_returns.columns)
    # What the stress engine computes for a market-only scenario: the other factors move by
    # Sigma_us Sigma_ss^-1 m on the (calm) pre-episode factor covariance.
    conditional = correlated_shocks({"Market": m}, factor_window.cov(ddof=1))
    factor_order = list(multi.columns)
    # The stress engine's path, with its own functions and defaults.
    covariance = scenario_covariance(all_factors, blend=stress_blend, calm_window=window)
    stressed = correlated_shocks({"Market": m}, covariance.matrix.loc[factor_order, factor_order])
    shrink = MoveShrinkage()
    shipped = shrink.apply(multi.to_numpy() @ stressed[factor_order].to_numpy(), m)
    shipped_all = shrink.apply(multi.to_numpy() @ moves[factor_order].to_numpy(), m)
    preds = pd.DataFrame(
        {
            "raw_capm": capm.beta * m,
            "blume": blume_beta(capm.beta) * m,
            "blume_fitted": blume_beta(
                capm.beta, intercept=blume_fit.intercept, slope=blume_fit.slope
            )
            * m,
            "vasicek": vasicek_beta(capm.beta, capm.se) * m,
            "multi_factor": multi.to_numpy() @ moves[factor_order].to_numpy(),
            "multi_factor_vasicek": multi_v.to_numpy() @ moves[factor_order].to_numpy(),
            "conditional_vasicek": multi_v.to_numpy() @ conditional[factor_order].to_numpy(),
            "shipped": shipped,
            "shipped_all_factors": shipped_all,
        },
        index=fit_returns.columns,
    )
    return preds, blume_fit


def validate_episode(
    prices: pd.DataFrame,
    episode: Episode,
    *,
    window: int = DEFAULT_FACTOR_WINDOW,
    min_observations: int = MIN_FACTOR_OBSERVATIONS,
    exclude: Iterable[str] = FACTOR_ETFS,
    returns: pd.DataFrame | None = None,
    stress_blend: float = DEFAULT_STRESS_BLEND,
) -> EpisodeValidation:
    """Fit every model before ``episode.start``, predict the episode, score against the realized.

    The fit window is the last ``window`` dates with complete factor returns dated strictly
    before ``episode.start`` (fewer when the dataset starts later: at least
    ``min_observations``). Symbols in ``exclude`` (by default the factor ETFs themselves, which
    the multi-factor model reproduces by construction) and symbols lacking a realized return or
    any model's prediction are left out and listed.

    Parameters
    ----------
    prices : DataFrame
        Wide adjusted closes ($), DatetimeIndex ascending, one column per symbol (with the
        factor ETFs).
    episode : Episode
    window, min_observations : int
        Regression window (trading days) and fewest dates per fit.
    exclude : iterable of str
        Symbols not scored.
    returns : DataFrame, optional
        ``simple_returns(prices)``, when the caller has it already.
    stress_blend : float, default ``shrinkage.DEFAULT_STRESS_BLEND``
        Weight of the stress-day covariance in the ``shipped`` model.

    Returns
    -------
    EpisodeValidation

    Raises
    ------
    InsufficientHistory
        Fewer than ``min_observations`` factor dates before the episode, or no symbol to score.
    """
    rets = simple_returns(prices) if returns is None else returns
    before = rets.loc[rets.index < episode.start]
    all_factors, hedge_ratios = _factor_frame(before, window)
    factor_window = all_factors.iloc[-window:]
    if len(factor_window) < min_observations:
        raise InsufficientHistory(
            f"not enough history before {episode.id}",
            required=min_observations,
            available=len(factor_window),
        )
    excluded = set(exclude)
    # Only the symbols to score are fitted: the Vasicek priors are their cross-section.
    candidates = [s for s in before.columns if s not in excluded]
    history = before.loc[all_factors.index, candidates]
    fit_returns = history.loc[factor_window.index]
    realized_all = episode_returns(prices, episode.start, episode.end)
    moves = episode_factor_moves(realized_all, hedge_ratios)
    preds, blume_fit = _predictions(
        fit_returns,
        history,
        all_factors["Market"],
        factor_window,
        all_factors,
        moves,
        window=window,
        min_observations=min_observations,
        stress_blend=stress_blend,
    )
    has_realized = realized_all.reindex(preds.index).notna()
    scored = list(preds.index[has_realized.to_numpy() & preds.notna().all(axis=1).to_numpy()])
    if not scored:
        raise InsufficientHistory(f"no symbol to score in {episode.id}")
    left_out = tuple(str(s) for s in prices.columns if s not in excluded and s not in scored)
    realized = realized_all[scored].astype(float)
    preds = preds.loc[scored]
    return EpisodeValidation(
        episode=episode,
        fit_start=factor_window.index[0],
        fit_end=factor_window.index[-1],
        fit_observations=len(factor_window),
        market_move=float(moves["Market"]),
        factor_moves=moves,
        realized=realized,
        predictions=preds,
        rmse={m: rmse(preds[m].to_numpy(), realized.to_numpy()) for m in preds},
        mae={m: mae(preds[m].to_numpy(), realized.to_numpy()) for m in preds},
        blume_fit=blume_fit,
        left_out=left_out,
    )


def validate_models(
    prices: pd.DataFrame,
    episodes: Sequence[Episode] | None = None,
    *,
    window: int = DEFAULT_FACTOR_WINDOW,
    min_observations: int = MIN_FACTOR_OBSERVATIONS,
    exclude: Iterable[str] = FACTOR_ETFS,
    stress_blend: float = DEFAULT_STRESS_BLEND,
) -> ModelValidation:
    """``validate_episode`` on every episode (default: scenarios.json's) and the averages.

    ``average_rmse[m] = mean over episodes of RMSE_m`` (same for MAE); episodes are equally
    weighted. See the module docstring for the models and ``validate_episode`` for the rules.
    """
    eps = historical_episodes() if episodes is None else tuple(episodes)
    rets = simple_returns(prices)
    excl = tuple(exclude)
    results = tuple(
        validate_episode(
            prices,
            ep,
            window=window,
            min_observations=min_observations,
            exclude=excl,
            returns=rets,
            stress_blend=stress_blend,
        )
        for ep in eps
    )
    if not results:
        raise InsufficientHistory("no episode to validate on")
    return ModelValidation(
        episodes=results,
        models=MODELS,
        window=int(window),
        average_rmse={m: float(np.mean([r.rmse[m] for r in results])) for m in MODELS},
        average_mae={m: float(np.mean([r.mae[m] for r in results])) for m in MODELS},
    )


def _pct(x: float) -> str:
    return "n/a" if not math.isfinite(x) else f"{100 * x:.2f}"


def format_table(result: ModelValidation) -> str:
    """Plain-text RMSE and MAE tables in percentage points: a row per model, a column per episode.

    The last columns are the average over episodes and the average-RMSE gain over raw CAPM.
    """
    ids = [ev.episode.id for ev in result.episodes]
    width = max(len(i) for i in [*ids, "average"]) + 2
    name_w = max(len(m) for m in result.models) + 2
    header = "".join(f"{i:>{width}}" for i in [*ids, "average"])
    moves = "".join(f"{_pct(ev.market_move):>{width}}" for ev in result.episodes)
    counts = "".join(f"{len(ev.realized):>{width}}" for ev in result.episodes)
    lines = [f"{'SPY move (%)':<{name_w}}{moves}", f"{'symbols':<{name_w}}{counts}"]
    for label, per_episode, average in (
        ("RMSE", "rmse", result.average_rmse),
        ("MAE", "mae", result.average_mae),
    ):
        extra = f"{'vs raw':>10}" if label == "RMSE" else ""
        lines += ["", f"{label + ' (pp)':<{name_w}}{header}{extra}"]
        for m in result.models:
            cells = "".join(
                f"{_pct(getattr(ev, per_episode)[m]):>{width}}" for ev in result.episodes
            )
            gain = f"{100 * result.improvement(m):>+9.1f}%" if label == "RMSE" else ""
            lines.append(f"{m:<{name_w}}{cells}{_pct(average[m]):>{width}}{gain}")
    return "\n".join(lines)


__all__ = [
    "Episode",
    "EpisodeValidation",
    "MODELS",
    "ModelValidation",
    "SHIPPED_ALL_FACTORS",
    "SHIPPED_MODEL",
    "episode_factor_moves",
    "format_table",
    "historical_episodes",
    "mae",
    "rmse",
    "validate_episode",
    "validate_models",
]
