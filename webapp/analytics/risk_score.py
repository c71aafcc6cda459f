"""Portfolio risk score, 1-99, from the forward range's 6-month downside.

The score is one number an advisor can put beside a client's risk questionnaire. It is read
off the forward range (``forward_range.simulate``): the downside ``D`` is the 6-month (126
trading days) 5th-percentile loss in percent of today's equity, ``D = max(-p5, 0)``, mapped to
a score by piecewise-linear interpolation between ``DOWNSIDE_ANCHORS``::

    D (% loss)   0   2   5   10   15   20   30   45   60
    score        1  10  20   38   52   64   80   95   99

    score = round(interp(D, anchors)),  D >= 60 -> 99

so a book whose bad-case (1 in 20) half-year costs it 10% scores 38, and one that may lose 30%
scores 80. Rounding is half up. ``loss_for_score`` is the inverse interpolation (score -> D),
for a questionnaire's score read as the loss it tolerates. The anchors are a house convention,
not an estimate: documented in ``MAPPING_TEXT`` for the methodology page.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass

import numpy as np

from webapp.analytics.forward_range import ForwardRange

#: (downside % of equity, score) anchors of the piecewise-linear map, both increasing.
DOWNSIDE_ANCHORS: tuple[tuple[float, int], ...] = (
    (0.0, 1),
    (2.0, 10),
    (5.0, 20),
    (10.0, 38),
    (15.0, 52),
    (20.0, 64),
    (30.0, 80),
    (45.0, 95),
    (60.0, 99),
)
MIN_SCORE, MAX_SCORE = 1, 99
#: The forward range's horizon the score reads (trading days, 6 months).
SCORE_HORIZON_DAYS = 126
#: The band percentile that defines the downside.
SCORE_PERCENTILE = 5
#: |portfolio - tolerance| at or below this many points reads "in line".
GAP_TOLERANCE = 5

_LOSSES = np.array([a[0] for a in DOWNSIDE_ANCHORS])
_SCORES = np.array([float(a[1]) for a in DOWNSIDE_ANCHORS])

#: The mapping in words, for the methodology page and the result's ``method``.
MAPPING_TEXT = (
    "Risk score 1-99: the downside D is the 6-month (126 trading days) 5th-percentile loss of "
    "the forward-range simulation in % of today's equity (D = max(-p5, 0)); the score is "
    "round(interpolation of D between the anchors "
    + ", ".join(f"{loss:g}% -> {score}" for loss, score in DOWNSIDE_ANCHORS)
    + "), 99 at or beyond a 60% downside. Higher = riskier. Scores within "
    f"{GAP_TOLERANCE} points of a stated tolerance read as in line with it."
)


def _round_half_up(value: float) -> int:
    return int(math.floor(value + 0.5))


def score_for_loss(downside_pct: float) -> int:
    """Risk score (1..99) of a downside, the 6-month 5th-percentile loss in % of equity.

    ``score = round_half_up(interp(max(D, 0), DOWNSIDE_ANCHORS))``, monotone non-decreasing in
    ``D``, 1 at no loss, 99 at or beyond 60%.

    Parameters
    ----------
    downside_pct : float
        Loss as a positive percentage (12.5 = a 12.5% loss); a negative value (a gain at the
        5th percentile) scores as 0.

    Returns
    -------
    int
        1..99.

    Raises
    ------
    ValueError
        ``downside_pct`` is NaN.
    """
    d = float(downside_pct)
    if math.isnan(d):
        raise ValueError("downside_pct is NaN")
    raw = float(np.interp(max(d, 0.0), _LOSSES, _SCORES))
    return min(max(_round_half_up(raw), MIN_SCORE), MAX_SCORE)


def loss_for_score(score: float) -> float:
    """The downside (% loss of equity) a score stands for: the anchors' inverse interpolation.

    ``D = interp(clamp(score, 1, 99), scores, losses)``, so ``score_for_loss(loss_for_score(s))
    == s`` for every integer ``s`` in 1..99, and ``loss_for_score(score_for_loss(D))`` is ``D``
    within the rounding of the score (half a point times the local slope) for ``D`` in 0..60.

    Parameters
    ----------
    score : float
        A risk score; values outside 1..99 are clamped.

    Returns
    -------
    float
        Downside in percent (0..60).

    Raises
    ------
    ValueError
        ``score`` is NaN.
    """
    s = float(score)
    if math.isnan(s):
        raise ValueError("score is NaN")
    return float(np.interp(min(max(s, MIN_SCORE), MAX_SCORE), _SCORES, _LOSSES))


@dataclass(frozen=True)
class RiskScore:
    """A book's risk score and the forward-range figures it comes from.

    Attributes
    ----------
    score : 1..99, ``score_for_loss(downside_pct)``.
    downside_pct : the 6-month 5th-percentile loss, % of equity, floored at 0.
    upside_pct : the 6-month 95th-percentile outcome, % of equity (negative if even it loses).
    horizon_days : trading days of the band read (126).
    simulation : the forward range's method (``"bootstrap"`` or ``"parametric"``).
    method : ``MAPPING_TEXT``.
    """

    score: int
    downside_pct: float
    upside_pct: float
    horizon_days: int
    simulation: str
    method: str = MAPPING_TEXT

    def to_dict(self) -> dict:
        """The fields as a plain dict."""
        return asdict(self)


def from_forward_range(fr: ForwardRange) -> RiskScore:
    """The risk score of a simulated forward range (its 126-day band).

    Parameters
    ----------
    fr : ForwardRange
        Simulated with a 126-trading-day horizon (the default horizons include it).

    Returns
    -------
    RiskScore

    Raises
    ------
    ValueError
        ``fr`` has no 126-day band.
    """
    try:
        band = fr.band(SCORE_HORIZON_DAYS)
    except KeyError:
        raise ValueError(
            f"the risk score needs a {SCORE_HORIZON_DAYS}-day horizon; simulated {fr.horizons}"
        ) from None
    downside = max(-float(band.pct[SCORE_PERCENTILE]), 0.0)
    return RiskScore(
        score=score_for_loss(downside),
        downside_pct=downside,
        upside_pct=float(band.pct[95]),
        horizon_days=SCORE_HORIZON_DAYS,
        simulation=fr.method,
    )


@dataclass(frozen=True)
class Gap:
    """The portfolio's score against the client's stated tolerance.

    Attributes
    ----------
    portfolio_score, tolerance_score : the two scores (tolerance None without a questionnaire).
    difference : ``portfolio - tolerance`` in score points, None without a tolerance.
    verdict : ``"riskier"``, ``"in_line"`` (|difference| <= ``GAP_TOLERANCE``),
        ``"more_conservative"`` or ``"no_tolerance"``.
    words : one sentence for the page.
    """

    portfolio_score: int
    tolerance_score: int | None
    difference: int | None
    verdict: str
    words: str

    def to_dict(self) -> dict:
        """The fields as a plain dict."""
        return asdict(self)


def _check_score(name: str, value: int) -> int:
    if isinstance(value, bool) or int(value) != value or not MIN_SCORE <= value <= MAX_SCORE:
        raise ValueError(f"{name} must be an integer in {MIN_SCORE}..{MAX_SCORE}, got {value!r}")
    return int(value)


def gap_words(
    portfolio_score: int, tolerance_score: int | None, client_name: str | None = None
) -> Gap:
    """Compare a portfolio's risk score with the client's questionnaire score, in words.

    ``difference = portfolio - tolerance``; ``in_line`` when ``|difference| <= GAP_TOLERANCE``
    (5 points), else ``riskier`` (positive) or ``more_conservative`` (negative).

    Parameters
    ----------
    portfolio_score : int
        The account's score, 1..99.
    tolerance_score : int or None
        The client's stated tolerance on the same scale, None when no questionnaire is on file.
    client_name : str, optional
        Used in the sentence ("Maria's stated tolerance"); "the client" without one.

    Returns
    -------
    Gap

    Raises
    ------
    ValueError
        A score that is not an integer in 1..99.
    """
    portfolio = _check_score("portfolio_score", portfolio_score)
    name = (client_name or "").strip()
    if tolerance_score is None:
        who = name or "this client"
        words = (
            f"No risk questionnaire on file for {who}: the account's risk score is {portfolio}, "
            "with no stated tolerance to compare it with."
        )
        return Gap(portfolio, None, None, "no_tolerance", words)
    tolerance = _check_score("tolerance_score", tolerance_score)
    difference = portfolio - tolerance
    whose = f"{name}'s" if name else "the client's"
    if abs(difference) <= GAP_TOLERANCE:
        verdict, phrase = "in_line", "in line with"
    elif difference > 0:
        verdict, phrase = "riskier", "riskier than"
    else:
        verdict, phrase = "more_conservative", "more conservative than"
    words = f"This account is {phrase} {whose} stated tolerance (score {portfolio} vs {tolerance})."
    return Gap(portfolio, tolerance, difference, verdict, words)


__all__ = [
    "DOWNSIDE_ANCHORS",
    "GAP_TOLERANCE",
    "MAPPING_TEXT",
    "SCORE_HORIZON_DAYS",
    "Gap",
    "RiskScore",
    "from_forward_range",
    "gap_words",
    "loss_for_score",
    "score_for_loss",
]
