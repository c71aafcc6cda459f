"""Client risk-tolerance questionnaire: ten questions, a 1-99 tolerance score and a loss limit.

Two dimensions are measured separately, as the CFA Institute's and FINRA's suitability guidance
ask: *willingness* (the client's attitude to risk: loss reaction, largest acceptable loss,
experience, goal, comfort with swings) and *capacity* (the client's financial ability to bear
losses: horizon, life stage, withdrawals, reserves, share of wealth). Every choice carries points,
0 for the most cautious answer; the largest-acceptable-loss question has six choices (0-5), the
other nine five (0-4).

Scoring (exact rational arithmetic, so a boundary never depends on float rounding):

* willingness W = Σ willingness points / Σ their maxima (21), in [0, 1];
* capacity C = Σ capacity points / Σ their maxima (20), in [0, 1];
* raw = 0.6·W + 0.4·C; uncapped score = round_half_up(1 + 98·raw), in 1..99;
* capacity ceiling = round_half_up(20 + 79·C), in 20..99; a short time horizon lowers it
  further (money needed within 3 years: at most 25; within 3-5 years: at most 50);
* score = min(uncapped score, ceiling); ``capped`` when the ceiling binds (score < uncapped).

So a client who wants aggressive growth but needs the money within two years scores at most 25,
whatever their appetite. The score is non-decreasing in every answer's points (raw and both
ceilings are). Categories: 1-20 Conservative, 21-40 Moderately conservative, 41-60 Moderate,
61-80 Moderately aggressive, 81-99 Aggressive. The loss limit (% of portfolio value, a positive
number) is the answer to the largest-acceptable-one-year-loss question, reported as given.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from fractions import Fraction

VERSION = "2026-12"

WILLINGNESS = "willingness"
CAPACITY = "capacity"
DIMENSIONS = (WILLINGNESS, CAPACITY)

# Weights of the combined score and the linear maps (see the module docstring).
WILLINGNESS_WEIGHT = Fraction(3, 5)
CAPACITY_WEIGHT = Fraction(2, 5)
MIN_SCORE = 1
MAX_SCORE = 99
CEILING_FLOOR = 20
CEILING_SPAN = 79

# Category bands: (highest score of the band, name), ascending.
CATEGORIES: tuple[tuple[int, str], ...] = (
    (20, "Conservative"),
    (40, "Moderately conservative"),
    (60, "Moderate"),
    (80, "Moderately aggressive"),
    (99, "Aggressive"),
)


class InvalidAnswers(ValueError):
    """The answers cannot be scored; ``errors`` maps each offending question key to a message."""

    def __init__(self, errors: dict[str, str]) -> None:
        self.errors = dict(errors)
        detail = "; ".join(f"{k}: {v}" for k, v in self.errors.items())
        super().__init__(f"invalid questionnaire answers ({detail})")


@dataclass(frozen=True)
class Choice:
    """One answer to a question.

    ``points``: 0 for the most cautious answer, higher for more risk. ``ceiling``: the highest
    tolerance score this answer allows (None = no limit of its own); ``loss_limit_pct``: the loss
    limit this answer states (% of portfolio value, positive; only the largest-loss question).
    """

    value: str
    label: str
    points: int
    ceiling: int | None = None
    loss_limit_pct: float | None = None

    def to_dict(self) -> dict:
        """JSON-ready ``{value, label, points, ceiling, loss_limit_pct}``."""
        return {
            "value": self.value,
            "label": self.label,
            "points": self.points,
            "ceiling": self.ceiling,
            "loss_limit_pct": self.loss_limit_pct,
        }


@dataclass(frozen=True)
class Question:
    """One question: a stable ``key``, the text shown, its dimension and its choices."""

    key: str
    text: str
    dimension: str
    choices: tuple[Choice, ...]

    @property
    def max_points(self) -> int:
        """The most points any choice gives."""
        return max(c.points for c in self.choices)

    def choice(self, value: str) -> Choice:
        """The choice with this value (KeyError if none)."""
        for c in self.choices:
            if c.value == value:
                return c
        raise KeyError(f"{self.key}: no choice {value!r}")

    def to_dict(self) -> dict:
        """JSON-ready ``{key, text, dimension, choices: [...]}``."""
        return {
            "key": self.key,
            "text": self.text,
            "dimension": self.dimension,
            "choices": [c.to_dict() for c in self.choices],
        }


QUESTIONS: tuple[Question, ...] = (
    Question(
        "horizon",
        "When do you expect to start withdrawing a significant part (a quarter or more) of "
        "this portfolio?",
        CAPACITY,
        (
            Choice("under_3y", "Within the next 3 years", 0, ceiling=25),
            Choice("3_5y", "In 3 to 5 years", 1, ceiling=50),
            Choice("6_10y", "In 6 to 10 years", 2),
            Choice("11_20y", "In 11 to 20 years", 3),
            Choice("over_20y", "More than 20 years from now", 4),
        ),
    ),
    Question(
        "life_stage",
        "Which best describes your age and stage of life?",
        CAPACITY,
        (
            Choice("75_plus", "75 or older, living on savings", 0),
            Choice("65_74", "65 to 74, retired or about to retire", 1),
            Choice("55_64", "55 to 64, planning for retirement within about ten years", 2),
            Choice("40_54", "40 to 54, in my peak earning years", 3),
            Choice("under_40", "Under 40, building my career and savings", 4),
        ),
    ),
    Question(
        "withdrawals",
        "Over the next five years, how much do you expect to withdraw from this portfolio each "
        "year, as a share of its value?",
        CAPACITY,
        (
            Choice("over_7", "More than 7% a year", 0),
            Choice("5_7", "5% to 7% a year", 1),
            Choice("3_5", "3% to 5% a year", 2),
            Choice("under_3", "Less than 3% a year", 3),
            Choice("none", "Nothing; I expect to keep adding to it", 4),
        ),
    ),
    Question(
        "reserves",
        "Outside this portfolio, how many months of essential living expenses do you hold in "
        "cash or other readily available savings?",
        CAPACITY,
        (
            Choice("none", "None", 0),
            Choice("under_3m", "Less than 3 months", 1),
            Choice("3_6m", "3 to 6 months", 2),
            Choice("6_12m", "6 to 12 months", 3),
            Choice("over_12m", "More than 12 months", 4),
        ),
    ),
    Question(
        "wealth_share",
        "Roughly what share of your total investable assets (excluding your home) does this "
        "portfolio represent?",
        CAPACITY,
        (
            Choice("over_75", "More than 75%", 0),
            Choice("50_75", "50% to 75%", 1),
            Choice("25_50", "25% to 50%", 2),
            Choice("10_25", "10% to 25%", 3),
            Choice("under_10", "Less than 10%", 4),
        ),
    ),
    Question(
        "drawdown_reaction",
        "Suppose the markets fall sharply and this portfolio loses 20% of its value over a few "
        "months. What would you most likely do?",
        WILLINGNESS,
        (
            Choice("sell_all", "Sell everything and move to cash", 0),
            Choice("sell_some", "Sell some investments to limit further losses", 1),
            Choice("hold", "Hold on and wait for a recovery", 2),
            Choice("rebalance", "Rebalance, buying more of what has fallen", 3),
            Choice("buy_more", "Add new money to invest at lower prices", 4),
        ),
    ),
    Question(
        "max_loss",
        "In a bad year, what is the largest fall in this portfolio's value you could accept "
        "without abandoning your plan?",
        WILLINGNESS,
        (
            Choice("loss_5", "5%", 0, loss_limit_pct=5.0),
            Choice("loss_10", "10%", 1, loss_limit_pct=10.0),
            Choice("loss_15", "15%", 2, loss_limit_pct=15.0),
            Choice("loss_20", "20%", 3, loss_limit_pct=20.0),
            Choice("loss_30", "30%", 4, loss_limit_pct=30.0),
            Choice("loss_40", "40% or more", 5, loss_limit_pct=40.0),
        ),
    ),
    Question(
        "experience",
        "How would you describe your experience with investing?",
        WILLINGNESS,
        (
            Choice("none", "None: I have only used bank deposits", 0),
            Choice("limited", "Limited: CDs, money market or bond funds", 1),
            Choice("moderate", "Moderate: stock and balanced funds or ETFs for several years", 2),
            Choice(
                "substantial",
                "Substantial: individual stocks, held through at least one bear market",
                3,
            ),
            Choice("extensive", "Extensive: also options, margin or alternative investments", 4),
        ),
    ),
    Question(
        "goal",
        "What is the primary goal for this portfolio?",
        WILLINGNESS,
        (
            Choice("preserve", "Preserve capital: avoid losses above all", 0),
            Choice("income", "Income: a steady stream of interest and dividends", 1),
            Choice("balanced", "Balanced: some growth, with moderate swings in value", 2),
            Choice("growth", "Growth: grow the portfolio over time, accepting larger swings", 3),
            Choice(
                "aggressive_growth",
                "Aggressive growth: the highest long-term return, accepting large losses",
                4,
            ),
        ),
    ),
    Question(
        "volatility",
        "Investments that can earn more also swing more in value. Which statement describes you "
        "best?",
        WILLINGNESS,
        (
            Choice("avoid", "Any decline makes me anxious; I want stable values", 0),
            Choice("small", "I can live with small, short-lived declines", 1),
            Choice("moderate", "I accept moderate ups and downs for a better long-term return", 2),
            Choice("large", "I accept large swings for a higher long-term return", 3),
            Choice("seek", "Swings do not worry me; I see big declines as opportunities", 4),
        ),
    ),
)

_BY_KEY = {q.key: q for q in QUESTIONS}
_MAX = {d: sum(q.max_points for q in QUESTIONS if q.dimension == d) for d in DIMENSIONS}

MAPPING_TEXT = (
    f"Questionnaire version {VERSION}: ten questions, five on willingness to take risk (reaction "
    "to a 20% fall, largest acceptable one-year loss, investment experience, primary goal, comfort "
    "with swings) and five on capacity to bear it (time horizon, life stage, planned withdrawals, "
    "cash reserves, share of total wealth). Each answer scores points, 0 for the most cautious. "
    f"Willingness W = willingness points / {_MAX[WILLINGNESS]} and capacity C = capacity points / "
    f"{_MAX[CAPACITY]}, each from 0 to 1. Score = round(1 + 98 x (0.6 W + 0.4 C)), from 1 to 99, "
    "then capped by capacity: at most round(20 + 79 C), at most 25 when the money is needed within "
    "3 years and at most 50 within 3 to 5 years (rounding halves up). Categories: 1-20 "
    "Conservative, 21-40 Moderately conservative, 41-60 Moderate, 61-80 Moderately aggressive, "
    "81-99 Aggressive. The loss limit is the client's answer to the largest-acceptable-loss "
    "question (5% to 40% of portfolio value in a bad year)."
)


@dataclass(frozen=True)
class Scored:
    """A scored questionnaire.

    Attributes
    ----------
    score : int, tolerance score 1..99 after the capacity cap.
    willingness, capacity : float, each dimension's share of its maximum points, 0..1.
    capped : bool, the capacity ceiling lowered the score (score < uncapped_score).
    loss_limit_pct : float, largest acceptable one-year loss, % of portfolio value (positive).
    category : str, the score's band ("Conservative" .. "Aggressive").
    version : str, the questionnaire version scored.
    uncapped_score : int, round(1 + 98·(0.6·W + 0.4·C)) before the cap.
    ceiling : int, the highest score capacity allows (20..99).
    limited_by : "capacity", "horizon" (the short-horizon ceiling binds) or None (not capped).
    """

    score: int
    willingness: float
    capacity: float
    capped: bool
    loss_limit_pct: float
    category: str
    version: str
    uncapped_score: int
    ceiling: int
    limited_by: str | None

    def to_dict(self) -> dict:
        """The fields as a plain dict."""
        return {
            "score": self.score,
            "willingness": self.willingness,
            "capacity": self.capacity,
            "capped": self.capped,
            "loss_limit_pct": self.loss_limit_pct,
            "category": self.category,
            "version": self.version,
            "uncapped_score": self.uncapped_score,
            "ceiling": self.ceiling,
            "limited_by": self.limited_by,
        }


def question_by_key(key: str) -> Question:
    """The question with this key; KeyError naming the known keys if there is none."""
    try:
        return _BY_KEY[key]
    except KeyError:
        raise KeyError(f"no question {key!r}; known: {', '.join(_BY_KEY)}") from None


def category_for(score: int) -> str:
    """The category of a 1..99 score (ValueError outside that range)."""
    if not MIN_SCORE <= score <= MAX_SCORE:
        raise ValueError(f"score must be between {MIN_SCORE} and {MAX_SCORE}, got {score}")
    return next(name for top, name in CATEGORIES if score <= top)


def _round_half_up(x: Fraction) -> int:
    """Nearest integer, halves up (exact on a Fraction)."""
    return math.floor(x + Fraction(1, 2))


def _validate(answers: Mapping[str, str]) -> dict[str, Choice]:
    """The chosen Choice per question key, or InvalidAnswers with one message per bad field."""
    if not isinstance(answers, Mapping):
        raise InvalidAnswers({"answers": "Answers must be a mapping of question key to choice."})
    errors: dict[str, str] = {}
    chosen: dict[str, Choice] = {}
    for q in QUESTIONS:
        options = ", ".join(c.value for c in q.choices)
        if q.key not in answers or answers[q.key] in (None, ""):
            errors[q.key] = f"Answer this question. Choose one of: {options}."
            continue
        value = answers[q.key]
        match = next((c for c in q.choices if c.value == value), None)
        if match is None:
            errors[q.key] = f"{value!r} is not a choice. Choose one of: {options}."
        else:
            chosen[q.key] = match
    for key in answers:
        if key not in _BY_KEY:
            errors[str(key)] = f"Unknown question. Questions are: {', '.join(_BY_KEY)}."
    if errors:
        raise InvalidAnswers(errors)
    return chosen


def score(answers: Mapping[str, str]) -> Scored:
    """Score a completed questionnaire (the method is the module docstring's).

    Parameters
    ----------
    answers : Mapping[str, str]
        Question key -> chosen ``Choice.value``, for every question in ``QUESTIONS``.

    Returns
    -------
    Scored

    Raises
    ------
    InvalidAnswers
        A question unanswered, an answer not among its question's choices, or a key that is no
        question; ``errors`` has a message per offending key.
    """
    chosen = _validate(answers)
    points = {d: 0 for d in DIMENSIONS}
    for q in QUESTIONS:
        points[q.dimension] += chosen[q.key].points
    w = Fraction(points[WILLINGNESS], _MAX[WILLINGNESS])
    c = Fraction(points[CAPACITY], _MAX[CAPACITY])
    uncapped = _round_half_up(
        MIN_SCORE + (MAX_SCORE - MIN_SCORE) * (WILLINGNESS_WEIGHT * w + CAPACITY_WEIGHT * c)
    )
    capacity_ceiling = _round_half_up(CEILING_FLOOR + CEILING_SPAN * c)
    answer_ceilings = [ch.ceiling for ch in chosen.values() if ch.ceiling is not None]
    ceiling = min([capacity_ceiling, *answer_ceilings])
    final = min(uncapped, ceiling)
    capped = final < uncapped
    limited_by = None
    if capped:
        limited_by = "capacity" if ceiling == capacity_ceiling else "horizon"
    loss = chosen["max_loss"].loss_limit_pct
    return Scored(
        score=final,
        willingness=float(w),
        capacity=float(c),
        capped=capped,
        loss_limit_pct=float(loss),
        category=category_for(final),
        version=VERSION,
        uncapped_score=uncapped,
        ceiling=ceiling,
        limited_by=limited_by,
    )


def describe(scored: Scored) -> str:
    """Plain-language reading, e.g. "Moderate (score 48): accepts a loss of up to 15% in a bad
    year; capacity limits the score."."""
    text = (
        f"{scored.category} (score {scored.score}): accepts a loss of up to "
        f"{scored.loss_limit_pct:g}% in a bad year"
    )
    if scored.limited_by == "horizon":
        text += f"; a short time horizon limits the score ({scored.uncapped_score} before the cap)"
    elif scored.capped:
        text += f"; capacity limits the score ({scored.uncapped_score} before the cap)"
    return text + "."
