"""The risk-tolerance questionnaire: hand-worked scores, the capacity cap, validation."""

from __future__ import annotations

import random

import pytest

from webapp.analytics import questionnaire as qn
from webapp.analytics.questionnaire import (
    MAPPING_TEXT,
    QUESTIONS,
    VERSION,
    InvalidAnswers,
    category_for,
    describe,
    question_by_key,
    score,
)


def lowest() -> dict[str, str]:
    return {q.key: min(q.choices, key=lambda c: c.points).value for q in QUESTIONS}


def highest() -> dict[str, str]:
    return {q.key: max(q.choices, key=lambda c: c.points).value for q in QUESTIONS}


def points_of(answers: dict[str, str], dimension: str) -> int:
    return sum(q.choice(answers[q.key]).points for q in QUESTIONS if q.dimension == dimension)


# --- the question set ---------------------------------------------------------------------------


def test_ten_questions_unique_keys_and_choice_values():
    assert len(QUESTIONS) == 10
    assert len({q.key for q in QUESTIONS}) == 10
    for q in QUESTIONS:
        values = [c.value for c in q.choices]
        assert len(values) == len(set(values)), q.key
        assert len(q.choices) >= 4
        assert q.dimension in ("willingness", "capacity")
        assert q.text.endswith("?")
        assert min(c.points for c in q.choices) == 0
        assert all(0 <= c.points <= 5 for c in q.choices)


def test_both_dimensions_and_the_required_topics_are_covered():
    keys = {q.key for q in QUESTIONS}
    assert keys == {
        "horizon",
        "life_stage",
        "withdrawals",
        "reserves",
        "wealth_share",
        "drawdown_reaction",
        "max_loss",
        "experience",
        "goal",
        "volatility",
    }
    dims = [q.dimension for q in QUESTIONS]
    assert dims.count("willingness") == 5 and dims.count("capacity") == 5
    goal = question_by_key("goal")
    assert [c.value for c in goal.choices] == [
        "preserve",
        "income",
        "balanced",
        "growth",
        "aggressive_growth",
    ]
    limits = [c.loss_limit_pct for c in question_by_key("max_loss").choices]
    assert limits == [5.0, 10.0, 15.0, 20.0, 30.0, 40.0]


def test_question_by_key():
    assert question_by_key("horizon").dimension == "capacity"
    with pytest.raises(KeyError, match="nope"):
        question_by_key("nope")


def test_to_dicts_are_plain():
    q = question_by_key("max_loss").to_dict()
    assert q["key"] == "max_loss" and q["choices"][2]["loss_limit_pct"] == 15.0
    d = score(highest()).to_dict()
    assert d["score"] == 99 and d["version"] == VERSION and d["limited_by"] is None


def test_mapping_text_documents_the_method():
    for fragment in ("0.6 W + 0.4 C", "20 + 79 C", "1-20", "81-99", VERSION, "/ 21", "/ 20"):
        assert fragment in MAPPING_TEXT


# --- hand-worked scores -------------------------------------------------------------------------


def test_all_minimum_answers_score_1():
    got = score(lowest())
    assert got.score == 1
    assert got.willingness == 0.0 and got.capacity == 0.0
    assert not got.capped and got.limited_by is None
    assert got.loss_limit_pct == 5.0
    assert got.category == "Conservative"
    assert got.ceiling == 20  # round(20 + 79*0); min(25 horizon, 20) = 20


def test_all_maximum_answers_score_99():
    got = score(highest())
    assert got.score == 99
    assert got.willingness == 1.0 and got.capacity == 1.0
    assert not got.capped
    assert got.loss_limit_pct == 40.0
    assert got.category == "Aggressive"


def test_mixed_case_worked_by_hand():
    answers = {
        "horizon": "6_10y",  # capacity 2
        "life_stage": "55_64",  # capacity 2
        "withdrawals": "under_3",  # capacity 3
        "reserves": "3_6m",  # capacity 2
        "wealth_share": "25_50",  # capacity 2   -> C = 11/20 = 0.55
        "drawdown_reaction": "hold",  # willingness 2
        "max_loss": "loss_15",  # willingness 2
        "experience": "moderate",  # willingness 2
        "goal": "growth",  # willingness 3
        "volatility": "moderate",  # willingness 2 -> W = 11/21
    }
    # raw = 0.6 * 11/21 + 0.4 * 0.55 = 0.314285... + 0.22 = 0.534285...
    # 1 + 98 * raw = 1 + 30.8 + 21.56 = 53.36 -> 53
    # ceiling = 20 + 79 * 0.55 = 63.45 -> 63; 53 <= 63, not capped
    got = score(answers)
    assert got.willingness == pytest.approx(11 / 21)
    assert got.capacity == pytest.approx(0.55)
    assert got.uncapped_score == 53
    assert got.ceiling == 63
    assert got.score == 53
    assert not got.capped
    assert got.category == "Moderate"
    assert got.loss_limit_pct == 15.0
    assert describe(got) == "Moderate (score 53): accepts a loss of up to 15% in a bad year."


def test_capacity_cap_fires():
    # Every willingness answer at its maximum, capacity only from a > 20-year horizon.
    answers = lowest() | {
        q.key: max(q.choices, key=lambda c: c.points).value
        for q in QUESTIONS
        if q.dimension == "willingness"
    }
    answers["horizon"] = "over_20y"
    # W = 1, C = 4/20 = 0.2: 1 + 98 * (0.6 + 0.08) = 67.64 -> 68; ceiling 20 + 79*0.2 = 35.8 -> 36
    got = score(answers)
    assert got.uncapped_score == 68
    assert got.ceiling == 36
    assert got.score == 36
    assert got.capped and got.limited_by == "capacity"
    assert got.category == "Moderately conservative"
    assert got.loss_limit_pct == 40.0
    assert describe(got) == (
        "Moderately conservative (score 36): accepts a loss of up to 40% in a bad year; "
        "capacity limits the score (68 before the cap)."
    )


def test_aggressive_appetite_with_money_needed_in_two_years_scores_low():
    answers = highest() | {"horizon": "under_3y"}
    # W = 1, C = 16/20: 1 + 98 * 0.92 = 91.16 -> 91; capacity ceiling 20 + 63.2 -> 83; horizon 25
    got = score(answers)
    assert got.uncapped_score == 91
    assert got.ceiling == 25
    assert got.score == 25
    assert got.capped and got.limited_by == "horizon"
    assert "short time horizon limits the score (91 before the cap)" in describe(got)
    assert score(highest() | {"horizon": "3_5y"}).score == 50


def test_ceiling_rounds_half_up():
    # C = 10/20: ceiling 20 + 79 * 0.5 = 59.5 -> 60; uncapped 1 + 98 * (0.6 + 0.2) = 79.4 -> 79
    answers = highest() | {"horizon": "6_10y", "life_stage": "55_64", "withdrawals": "3_5"}
    answers |= {"reserves": "3_6m", "wealth_share": "25_50"}
    assert points_of(answers, "capacity") == 10
    got = score(answers)
    assert (got.uncapped_score, got.ceiling, got.score) == (79, 60, 60)


@pytest.mark.parametrize(
    "value, limit",
    [("loss_5", 5.0), ("loss_10", 10.0), ("loss_20", 20.0), ("loss_30", 30.0), ("loss_40", 40.0)],
)
def test_loss_limit_comes_from_the_largest_loss_answer(value, limit):
    got = score(lowest() | {"max_loss": value})
    assert got.loss_limit_pct == limit
    assert f"up to {limit:g}% in a bad year" in describe(got)


def test_score_is_monotone_in_every_answer():
    rng = random.Random(20261201)
    for _ in range(300):
        base = {q.key: rng.choice(q.choices).value for q in QUESTIONS}
        before = score(base)
        assert 1 <= before.score <= 99
        assert before.capped == (before.score < before.uncapped_score)
        for q in QUESTIONS:
            now = q.choice(base[q.key]).points
            for c in q.choices:
                if c.points > now:
                    after = score(base | {q.key: c.value})
                    assert after.score >= before.score, (base, q.key, c.value)
                    assert after.uncapped_score >= before.uncapped_score


# --- categories ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "value, name",
    [
        (1, "Conservative"),
        (20, "Conservative"),
        (21, "Moderately conservative"),
        (40, "Moderately conservative"),
        (41, "Moderate"),
        (60, "Moderate"),
        (61, "Moderately aggressive"),
        (80, "Moderately aggressive"),
        (81, "Aggressive"),
        (99, "Aggressive"),
    ],
)
def test_category_boundaries(value, name):
    assert category_for(value) == name


@pytest.mark.parametrize("value", [0, 100, -5])
def test_category_out_of_range(value):
    with pytest.raises(ValueError):
        category_for(value)


# --- invalid answers ----------------------------------------------------------------------------


def test_missing_answer_is_a_field_error():
    answers = lowest()
    del answers["reserves"]
    with pytest.raises(InvalidAnswers) as err:
        score(answers)
    assert set(err.value.errors) == {"reserves"}
    assert err.value.errors["reserves"].startswith("Answer this question. Choose one of: none, ")
    assert isinstance(err.value, ValueError)


def test_empty_answer_is_missing():
    with pytest.raises(InvalidAnswers) as err:
        score(lowest() | {"goal": ""})
    assert "Answer this question" in err.value.errors["goal"]


def test_unknown_choice_is_a_field_error():
    with pytest.raises(InvalidAnswers) as err:
        score(lowest() | {"max_loss": "loss_25"})
    msg = err.value.errors["max_loss"]
    assert "'loss_25' is not a choice" in msg
    assert "Choose one of: loss_5, loss_10, loss_15, loss_20, loss_30, loss_40." in msg


def test_unknown_key_is_refused():
    with pytest.raises(InvalidAnswers) as err:
        score(lowest() | {"favourite_colour": "blue"})
    assert set(err.value.errors) == {"favourite_colour"}
    assert "Unknown question" in err.value.errors["favourite_colour"]


def test_every_problem_is_reported_at_once():
    answers = lowest()
    del answers["horizon"]
    answers["goal"] = "lottery"
    answers["extra"] = "x"
    with pytest.raises(InvalidAnswers) as err:
        score(answers)
    assert set(err.value.errors) == {"horizon", "goal", "extra"}
    assert "horizon" in str(err.value)


def test_not_a_mapping():
    with pytest.raises(InvalidAnswers) as err:
        score(["horizon"])  # type: ignore[arg-type]
    assert set(err.value.errors) == {"answers"}


def test_maxima_match_the_docstring():
    assert qn._MAX == {"willingness": 21, "capacity": 20}


def test_question_choice_lookup():
    assert question_by_key("goal").choice("growth").points == 3
    with pytest.raises(KeyError, match="goal: no choice 'lottery'"):
        question_by_key("goal").choice("lottery")
