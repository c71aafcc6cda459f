"""Alert rules: validation per field, each kind firing / holding / not evaluable, keys, messages."""

from __future__ import annotations

import math

import numpy as np
import pytest

from webapp.analytics.alert_rules import (
    RULE_KINDS,
    Facts,
    Finding,
    InvalidRule,
    NotEvaluable,
    RuleSpec,
    evaluate,
    evaluate_all,
    validate_rule,
)


def rule(kind, threshold=None, param=None, comparison=None) -> RuleSpec:
    return validate_rule(kind, threshold, param, comparison)


def errors_of(kind, threshold=None, param=None, comparison=None) -> dict[str, str]:
    with pytest.raises(InvalidRule) as err:
        validate_rule(kind, threshold, param, comparison)
    assert isinstance(err.value, ValueError)
    return err.value.errors


# --- the catalogue ------------------------------------------------------------------------------


def test_every_kind_is_described():
    assert set(RULE_KINDS) == {
        "var_pct",
        "es_pct",
        "beta",
        "factor_beta",
        "single_name_pct",
        "sector_pct",
        "diversification_score",
        "scenario_loss_vs_limit",
        "risk_vs_tolerance",
        "option_expiry_days",
        "stale_prices",
    }
    for kind, spec in RULE_KINDS.items():
        assert spec.kind == kind
        assert spec.default_comparison in spec.comparisons
        assert set(spec.comparisons) <= {"above", "below"}
        assert spec.label and spec.description and spec.unit
        assert spec.needs_param == (spec.param_label is not None)
        assert spec.to_dict()["kind"] == kind
    assert RULE_KINDS["beta"].comparisons == ("above", "below")
    assert [k for k, s in RULE_KINDS.items() if s.needs_param] == [
        "factor_beta",
        "scenario_loss_vs_limit",
    ]


# --- validation ---------------------------------------------------------------------------------


def test_valid_rules_are_canonical():
    assert rule("var_pct", 2.5) == RuleSpec("var_pct", 2.5, None, "above")
    assert rule("var_pct", "2.5") == RuleSpec("var_pct", 2.5, None, "above")
    assert rule("beta", 0.5, comparison=" Below ") == RuleSpec("beta", 0.5, None, "below")
    assert rule("beta", -0.2).threshold == -0.2
    assert rule("factor_beta", 0.5, "momentum").param == "Momentum"
    assert rule("option_expiry_days", 7) == RuleSpec("option_expiry_days", 7.0, None, "below")
    assert rule("stale_prices", 0).threshold == 0.0
    assert rule("risk_vs_tolerance").threshold == 5.0
    assert rule("risk_vs_tolerance", 0).threshold == 0.0
    assert rule("scenario_loss_vs_limit") == RuleSpec(
        "scenario_loss_vs_limit", None, "any", "above"
    )
    assert rule("scenario_loss_vs_limit", 25, " gfc_2008 ").param == "gfc_2008"
    assert rule("diversification_score", 0.7).comparison == "above"
    assert rule("single_name_pct", 100).threshold == 100.0
    assert rule("sector_pct", 30, param="  ").param is None


def test_spec_to_dict_and_summary():
    d = rule("var_pct", 2.5).to_dict()
    assert d == {
        "kind": "var_pct",
        "threshold": 2.5,
        "param": None,
        "comparison": "above",
        "summary": "Value at risk above 2.5% of equity",
    }
    assert rule("factor_beta", 0.4, "Value").summary() == "Factor beta (Value) above 0.4 beta"
    assert "client's loss limit" in rule("scenario_loss_vs_limit").summary()


def test_unknown_kind():
    errs = errors_of("vol_pct", 5)
    assert set(errs) == {"kind"}
    assert "Unknown rule kind 'vol_pct'" in errs["kind"] and "var_pct" in errs["kind"]
    assert set(errors_of(None, 5, comparison="sideways")) == {"kind", "comparison"}


@pytest.mark.parametrize(
    "kind, threshold, fragment",
    [
        ("var_pct", None, "A threshold is required"),
        ("var_pct", "", "A threshold is required"),
        ("var_pct", "lots", "Enter a number"),
        ("var_pct", True, "Enter a number"),
        ("var_pct", [1], "Enter a number"),
        ("var_pct", math.nan, "finite"),
        ("var_pct", math.inf, "finite"),
        ("var_pct", 0, "above 0 up to 100"),
        ("es_pct", -1, "above 0 up to 100"),
        ("single_name_pct", 100.5, "above 0 up to 100"),
        ("sector_pct", 101, "% of equity"),
        ("scenario_loss_vs_limit", 0, "above 0 up to 100"),
        ("option_expiry_days", 7.5, "whole number"),
        ("option_expiry_days", -1, "from 0 up to 3650"),
        ("stale_prices", 3651, "from 0 up to 3650"),
        ("stale_prices", None, "A threshold is required"),
        ("risk_vs_tolerance", 99, "from 0 up to 98"),
        ("risk_vs_tolerance", -1, "from 0 up to 98"),
        ("beta", 11, "from -10 up to 10"),
        ("factor_beta", 0, "above 0 up to 10"),
        ("diversification_score", 1.2, "from 0 up to 1"),
    ],
)
def test_threshold_errors(kind, threshold, fragment):
    param = "Market" if kind == "factor_beta" else None
    errs = errors_of(kind, threshold, param)
    assert set(errs) == {"threshold"}
    assert fragment in errs["threshold"]


def test_param_errors():
    assert "Choose a factor: Market, Value" in errors_of("factor_beta", 0.5)["param"]
    assert "Unknown factor 'Crypto'" in errors_of("factor_beta", 0.5, "Crypto")["param"]
    assert errors_of("var_pct", 2, "NVDA") == {"param": "This rule takes no parameter."}
    long_id = "x" * 101
    assert "at most 100" in errors_of("scenario_loss_vs_limit", None, long_id)["param"]


def test_comparison_errors():
    assert errors_of("beta", 1.2, comparison="sideways") == {"comparison": "Choose above or below."}
    assert "only fires above" in errors_of("var_pct", 2, comparison="below")["comparison"]
    assert (
        "only fires below" in errors_of("option_expiry_days", 5, comparison="above")["comparison"]
    )


def test_all_field_errors_at_once():
    errs = errors_of("factor_beta", "x", None, "up")
    assert set(errs) == {"threshold", "param", "comparison"}
    with pytest.raises(InvalidRule, match="threshold: Enter a number"):
        validate_rule("factor_beta", "x", None, "up")


# --- scalar kinds -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "kind, field, threshold, value, message, reason",
    [
        (
            "var_pct",
            "var_pct",
            2.5,
            3.21,
            "1-day 95% VaR is 3.2% of equity, above the 2.5% limit.",
            "no VaR in this batch",
        ),
        (
            "es_pct",
            "es_pct",
            4,
            4.56,
            "1-day 95% expected shortfall is 4.6% of equity, above the 4% limit.",
            "no expected shortfall in this batch",
        ),
        (
            "beta",
            "beta",
            1.2,
            1.3449,
            "Portfolio beta to the market is 1.34, above the 1.2 limit.",
            "no market beta in this batch",
        ),
        (
            "diversification_score",
            "diversification_score",
            0.7,
            0.734,
            "Diversification score is 0.73 (0 = independent, 1 = lockstep), above the 0.7 limit.",
            "no diversification score in this batch",
        ),
    ],
)
def test_scalar_kinds(kind, field, threshold, value, message, reason):
    spec = rule(kind, threshold)
    found = evaluate(spec, Facts(**{field: value}))
    assert found == Finding(kind, kind, value, float(threshold), None, message)
    assert evaluate_all(spec, Facts(**{field: value})) == [found]
    # Equal to the threshold, or better: holds.
    assert evaluate(spec, Facts(**{field: float(threshold)})) is None
    assert evaluate(spec, Facts(**{field: threshold - 0.01})) is None
    assert evaluate_all(spec, Facts(**{field: threshold - 0.01})) == []
    # Missing or not a number: not evaluable.
    for missing in (Facts(), Facts(**{field: math.nan})):
        assert evaluate(spec, missing) == NotEvaluable(kind, reason)
        assert evaluate_all(spec, missing) == NotEvaluable(kind, reason)


def test_beta_below():
    spec = rule("beta", 0.5, comparison="below")
    found = evaluate(spec, Facts(beta=0.42))
    assert found.message == "Portfolio beta to the market is 0.42, below the 0.5 floor."
    assert found.key == "beta" and found.value == 0.42
    assert evaluate(spec, Facts(beta=0.5)) is None
    assert evaluate(spec, Facts(beta=0.9)) is None


def test_diversification_below():
    spec = rule("diversification_score", 0.2, comparison="below")
    assert evaluate(spec, Facts(diversification_score=0.1)).message.endswith("below the 0.2 floor.")
    assert evaluate(spec, Facts(diversification_score=0.2)) is None


def test_just_over_the_threshold_is_shown_with_enough_decimals():
    found = evaluate(rule("var_pct", 2), Facts(var_pct=2.004))
    assert "2.004% of equity, above the 2% limit" in found.message
    found = evaluate(rule("single_name_pct", 20), Facts(exposures_by_symbol={"A": 20.04}))
    assert found.message == "A is 20.04% of equity, above the 20% limit."


def test_numpy_numbers_are_numbers():
    assert evaluate(rule("var_pct", 2), Facts(var_pct=np.float64(3.0))) is not None
    assert evaluate(rule("stale_prices", 2), Facts(stale_symbols={"X": np.int64(3)})) is not None


# --- factor beta --------------------------------------------------------------------------------


def test_factor_beta_absolute_value():
    spec = rule("factor_beta", 0.5, "Momentum")
    found = evaluate(spec, Facts(factor_betas={"Market": 1.0, "Momentum": -0.62}))
    assert found.key == "factor_beta:Momentum" and found.subject == "Momentum"
    assert found.value == pytest.approx(0.62) and found.threshold == 0.5
    assert found.message == "Momentum beta is -0.62, beyond the ±0.5 limit (|beta| 0.62)."
    assert evaluate(spec, Facts(factor_betas={"Momentum": 0.62})).value == pytest.approx(0.62)
    assert evaluate(spec, Facts(factor_betas={"Momentum": -0.5})) is None
    assert evaluate(spec, Facts(factor_betas={"Momentum": 0.5})) is None
    assert evaluate(spec, Facts(factor_betas={"momentum": 0.7})) is not None


def test_factor_beta_not_evaluable():
    spec = rule("factor_beta", 0.5, "Rates")
    assert evaluate(spec, Facts()) == NotEvaluable("factor_beta", "no factor betas in this batch")
    assert evaluate(spec, Facts(factor_betas={"Market": 1.0})) == NotEvaluable(
        "factor_beta", "no Rates beta in this batch"
    )


# --- concentration ------------------------------------------------------------------------------


def test_single_name_fires_on_the_largest_absolute_exposure():
    spec = rule("single_name_pct", 20)
    facts = Facts(exposures_by_symbol={"AAPL": 21.0, "NVDA": 23.44, "TSLA": -22.0, "SPY": 20.0})
    found = evaluate(spec, facts)
    assert found == Finding(
        "single_name_pct",
        "single_name_pct:NVDA",
        23.44,
        20.0,
        "NVDA",
        "NVDA is 23.4% of equity, above the 20% limit.",
    )
    every = evaluate_all(spec, facts)
    assert [f.subject for f in every] == ["NVDA", "TSLA", "AAPL"]  # SPY at 20 does not fire
    assert every[1].message == "TSLA short exposure is 22.0% of equity, above the 20% limit."
    assert every[1].value == 22.0


def test_single_name_holds_and_not_evaluable():
    spec = rule("single_name_pct", 20)
    assert evaluate(spec, Facts(exposures_by_symbol={"A": 20.0, "B": -20.0})) is None
    assert evaluate(spec, Facts(exposures_by_symbol={})) is None
    assert evaluate_all(spec, Facts(exposures_by_symbol={"A": 5.0})) == []
    assert evaluate(spec, Facts()) == NotEvaluable(
        "single_name_pct", "no symbol exposures in this batch"
    )


def test_single_name_ties_are_broken_by_name():
    spec = rule("single_name_pct", 10)
    facts = Facts(exposures_by_symbol={"ZZZ": 15.0, "AAA": -15.0})
    assert evaluate(spec, facts).subject == "AAA"


def test_sector():
    spec = rule("sector_pct", 35)
    facts = Facts(exposures_by_sector={"Technology": 41.23, "Energy": 36.0, "Health Care": 35.0})
    found = evaluate(spec, facts)
    assert found.key == "sector_pct:Technology" and found.subject == "Technology"
    assert found.message == "Technology is 41.2% of equity, above the 35% limit."
    assert [f.subject for f in evaluate_all(spec, facts)] == ["Technology", "Energy"]
    assert evaluate(spec, Facts(exposures_by_sector={"Energy": 35.0})) is None
    assert evaluate(spec, Facts(exposures_by_symbol={"A": 90.0})) == NotEvaluable(
        "sector_pct", "no sector exposures in this batch"
    )


# --- scenario loss vs limit ---------------------------------------------------------------------

SCENARIOS = {
    "gfc_2008": ("2008 Financial Crisis", -27.34),
    "covid_2020": ("COVID-19 crash", -22.0),
    "rates_up": ("Rates +200bp", -20.0),
    "rally": ("Market +10%", 8.0),
}


def test_scenario_any_uses_the_client_loss_limit():
    spec = rule("scenario_loss_vs_limit")
    facts = Facts(scenario_losses=SCENARIOS, loss_limit_pct=20.0)
    found = evaluate(spec, facts)
    assert found == Finding(
        "scenario_loss_vs_limit",
        "scenario_loss_vs_limit:gfc_2008",
        pytest.approx(27.34),
        20.0,
        "gfc_2008",
        "In the 2008 Financial Crisis scenario the book loses 27.3% of equity, more than the "
        "client's 20% loss limit.",
    )
    every = evaluate_all(spec, facts)
    assert [f.subject for f in every] == ["gfc_2008", "covid_2020"]  # -20.0 equals the limit


def test_scenario_explicit_threshold_and_single_scenario():
    facts = Facts(scenario_losses=SCENARIOS, loss_limit_pct=40.0)
    found = evaluate(rule("scenario_loss_vs_limit", 21, "covid_2020"), facts)
    assert found.key == "scenario_loss_vs_limit:covid_2020" and found.threshold == 21.0
    assert found.message.endswith("loses 22.0% of equity, more than the 21% limit.")
    assert evaluate(rule("scenario_loss_vs_limit", None, "covid_2020"), facts) is None
    assert evaluate(rule("scenario_loss_vs_limit", 22, "covid_2020"), facts) is None
    assert evaluate(rule("scenario_loss_vs_limit", 1, "rally"), facts) is None


def test_scenario_not_evaluable():
    spec = rule("scenario_loss_vs_limit")
    assert evaluate(spec, Facts(scenario_losses=SCENARIOS)) == NotEvaluable(
        "scenario_loss_vs_limit", "client has no loss limit"
    )
    assert evaluate(spec, Facts(loss_limit_pct=20.0)) == NotEvaluable(
        "scenario_loss_vs_limit", "no stress results in this batch"
    )
    assert evaluate(
        rule("scenario_loss_vs_limit", 10, "dotcom"), Facts(scenario_losses=SCENARIOS)
    ) == NotEvaluable("scenario_loss_vs_limit", "scenario 'dotcom' not in this batch")
    # An explicit threshold needs no client limit.
    assert evaluate(rule("scenario_loss_vs_limit", 25), Facts(scenario_losses=SCENARIOS))


# --- risk vs tolerance --------------------------------------------------------------------------


def test_risk_vs_tolerance():
    spec = rule("risk_vs_tolerance")
    found = evaluate(spec, Facts(risk_score=62, tolerance_score=48))
    assert found == Finding(
        "risk_vs_tolerance",
        "risk_vs_tolerance",
        14.0,
        5.0,
        None,
        "Portfolio risk score 62 is 14 points above the client's tolerance score 48 "
        "(allowed gap 5 points).",
    )
    assert evaluate(spec, Facts(risk_score=53, tolerance_score=48)) is None  # gap 5 = threshold
    assert evaluate(spec, Facts(risk_score=30, tolerance_score=48)) is None
    assert evaluate(rule("risk_vs_tolerance", 0), Facts(risk_score=49, tolerance_score=48))
    assert evaluate(spec, Facts(tolerance_score=48)) == NotEvaluable(
        "risk_vs_tolerance", "no portfolio risk score in this batch"
    )
    assert evaluate(spec, Facts(risk_score=60)) == NotEvaluable(
        "risk_vs_tolerance", "client has no tolerance score"
    )


# --- option expiry ------------------------------------------------------------------------------


def test_option_expiry_names_the_soonest():
    spec = rule("option_expiry_days", 7)
    facts = Facts(
        option_expiries=[("AAPL 260918C150", 3), ("MSFT 261016P300", 40), ("NVDA 260911C120", 7)]
    )
    found = evaluate(spec, facts)
    assert found == Finding(
        "option_expiry_days",
        "option_expiry_days:AAPL 260918C150",
        3.0,
        7.0,
        "AAPL 260918C150",
        "Option AAPL 260918C150 expires in 3 days (alert: fewer than 7 days to expiry).",
    )
    assert [f.subject for f in evaluate_all(spec, facts)] == ["AAPL 260918C150"]  # 7 = threshold


def test_option_expiry_wording_and_order():
    spec = rule("option_expiry_days", 2)
    facts = Facts(option_expiries=[("B", 1), ("A", 0), ("C", -2), ("D", 1)])
    every = evaluate_all(spec, facts)
    assert [f.subject for f in every] == ["C", "A", "B", "D"]
    assert "expired 2 days ago" in every[0].message
    assert "expires today" in every[1].message
    assert "expires in 1 day " in every[2].message


def test_option_expiry_holds_and_not_evaluable():
    spec = rule("option_expiry_days", 7)
    assert evaluate(spec, Facts(option_expiries=[])) is None
    assert evaluate(spec, Facts(option_expiries=[("X", 30)])) is None
    assert evaluate(spec, Facts()) == NotEvaluable(
        "option_expiry_days", "no option expiries in this batch"
    )


# --- stale prices -------------------------------------------------------------------------------


def test_stale_prices_names_the_oldest():
    spec = rule("stale_prices", 3)
    facts = Facts(stale_symbols={"XYZ": 6, "ABC": 4, "SPY": 0, "OLD": 3}, as_of="2026-08-03")
    found = evaluate(spec, facts)
    assert found == Finding(
        "stale_prices",
        "stale_prices:XYZ",
        6.0,
        3.0,
        "XYZ",
        "The last price of XYZ is 6 business days old as of 2026-08-03, more than the 3-day limit.",
    )
    assert [f.subject for f in evaluate_all(spec, facts)] == ["XYZ", "ABC"]  # 3 does not fire


def test_stale_prices_holds_and_not_evaluable():
    spec = rule("stale_prices", 3)
    assert evaluate(spec, Facts(stale_symbols={"A": 3, "B": 1})) is None
    assert evaluate(spec, Facts(stale_symbols={})) is None
    assert "as of" not in evaluate(spec, Facts(stale_symbols={"A": 4})).message
    assert evaluate(spec, Facts()) == NotEvaluable("stale_prices", "no price ages in this batch")


# --- keys, dicts --------------------------------------------------------------------------------


def test_keys_are_stable_across_batches():
    spec = rule("single_name_pct", 20)
    monday = evaluate(spec, Facts(exposures_by_symbol={"NVDA": 23.4, "AAPL": 5}))
    tuesday = evaluate(spec, Facts(exposures_by_symbol={"NVDA": 25.1, "AAPL": 6}))
    assert monday.key == tuesday.key == "single_name_pct:NVDA"
    assert monday.message != tuesday.message
    expiry = rule("option_expiry_days", 10)
    day1 = evaluate(expiry, Facts(option_expiries=[("AAPL C", 5)]))
    day2 = evaluate(expiry, Facts(option_expiries=[("AAPL C", 4)]))
    assert day1.key == day2.key
    var = rule("var_pct", 2)
    assert evaluate(var, Facts(var_pct=2.5)).key == evaluate(var, Facts(var_pct=3.5)).key


def test_to_dicts():
    found = evaluate(rule("var_pct", 2), Facts(var_pct=3.0))
    assert found.to_dict() == {
        "kind": "var_pct",
        "key": "var_pct",
        "value": 3.0,
        "threshold": 2.0,
        "subject": None,
        "message": "1-day 95% VaR is 3.0% of equity, above the 2% limit.",
    }
    assert NotEvaluable("var_pct", "no VaR in this batch").to_dict() == {
        "kind": "var_pct",
        "reason": "no VaR in this batch",
    }
    facts = Facts(scenario_losses={"a": ("A", -1.0)}, option_expiries=[("X", 3)])
    d = facts.to_dict()
    assert d["scenario_losses"] == {"a": ["A", -1.0]} and d["option_expiries"] == [["X", 3]]
    assert d["var_pct"] is None


def test_every_kind_is_not_evaluable_on_empty_facts():
    params = {"factor_beta": "Market"}
    for kind, spec in RULE_KINDS.items():
        threshold = 1 if spec.threshold_required else None
        got = evaluate(rule(kind, threshold, params.get(kind)), Facts())
        assert isinstance(got, NotEvaluable), kind
        assert got.kind == kind and got.reason


def test_edge_inputs():
    any_scenario = rule("scenario_loss_vs_limit", 10)
    assert evaluate(any_scenario, Facts(scenario_losses={})) == NotEvaluable(
        "scenario_loss_vs_limit", "no scenario results in this batch"
    )
    # The same option listed twice (two lots) fires once, at its soonest; NaN days are skipped.
    expiry = rule("option_expiry_days", 5)
    every = evaluate_all(expiry, Facts(option_expiries=[("X", 4), ("X", 2), ("Y", math.nan)]))
    assert [(f.subject, f.value) for f in every] == [("X", 2.0)]
    # A breach too small for six decimals is shown in full.
    found = evaluate(rule("var_pct", 20), Facts(var_pct=20.0000000001))
    assert "20.0000000001% of equity" in found.message
