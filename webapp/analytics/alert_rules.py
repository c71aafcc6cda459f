"""Alert rules: what an advisor can watch on a book, how a rule is validated and evaluated.

A rule is a kind (``RULE_KINDS``), a threshold, an optional parameter and a comparison. The
nightly batch computes the book's figures once (``Facts``); ``evaluate`` compares them with one
rule and returns the worst breach (``Finding``), ``NotEvaluable`` when the batch lacks the figure
the rule needs, or None when the rule holds. ``evaluate_all`` returns one Finding per offending
subject (symbol, sector, scenario, option).

Conventions
-----------
* A rule fires only when the figure is strictly worse than the threshold: value > threshold for
  "above", value < threshold for "below"; a value equal to the threshold does not fire.
* Percentages are percentage points of the book's equity (23.4 = 23.4%); exposures are signed,
  and the single-name and sector rules compare |exposure|. ``factor_beta`` compares |beta|.
* ``scenario_loss_vs_limit`` compares a scenario's loss (−P&L %, positive = loss) with the
  threshold, or with the client's loss limit when the rule has none.
* ``risk_vs_tolerance`` compares the gap portfolio risk score − client tolerance score (points of
  the 1-99 scale) with the threshold (default 5 points).
* ``option_expiry_days`` fires for an option with fewer than ``threshold`` calendar days to expiry
  (0 = expires today; negative = past expiry); ``stale_prices`` for a symbol whose last price is
  more than ``threshold`` business days old.
* The diversification score is the weighted mean |pairwise correlation|
  (``correlations.diversification_score``): 0 = holdings move independently, 1 = in lockstep,
  so higher is *less* diversified and the rule's default comparison is "above".
* ``Finding.key`` is ``kind`` or ``kind:subject``: the same condition on consecutive batches gives
  the same key, so a caller can de-duplicate notifications.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Callable
from dataclasses import asdict, dataclass

from webapp.analytics.constants import FACTOR_NAMES

ABOVE = "above"
BELOW = "below"
COMPARISONS = (ABOVE, BELOW)
ANY_SCENARIO = "any"
DEFAULT_RISK_GAP = 5.0
MAX_PARAM_LENGTH = 100


class InvalidRule(ValueError):
    """The rule cannot be saved; ``errors`` maps each offending field to a message."""

    def __init__(self, errors: dict[str, str]) -> None:
        self.errors = dict(errors)
        detail = "; ".join(f"{k}: {v}" for k, v in self.errors.items())
        super().__init__(f"invalid alert rule ({detail})")


@dataclass(frozen=True)
class RuleKind:
    """One kind of rule and what its threshold means.

    Attributes
    ----------
    kind, label : identifier and the name shown to advisors.
    unit : the threshold's unit ("% of equity", "beta", "days", ...).
    default_comparison : "above" or "below"; comparisons : those the kind accepts.
    needs_param, param_label : the kind takes a parameter (factor, scenario) and its name.
    description : when the rule fires, in words.
    threshold_required : False when a missing threshold has a default (``default_threshold``,
        or the client's loss limit for ``scenario_loss_vs_limit``).
    min_threshold, max_threshold, min_inclusive : the accepted range (max always inclusive).
    integer : the threshold must be a whole number.
    """

    kind: str
    label: str
    unit: str
    default_comparison: str
    needs_param: bool
    param_label: str | None
    description: str
    comparisons: tuple[str, ...]
    threshold_required: bool = True
    default_threshold: float | None = None
    min_threshold: float = 0.0
    max_threshold: float = 100.0
    min_inclusive: bool = False
    integer: bool = False

    def to_dict(self) -> dict:
        """The fields as a plain dict (comparisons as a list)."""
        out = asdict(self)
        out["comparisons"] = list(self.comparisons)
        return out


_PCT = "% of equity"
_ABOVE_ONLY = (ABOVE,)
_BOTH = (ABOVE, BELOW)
_KINDS = (
    RuleKind(
        "var_pct",
        "Value at risk",
        _PCT,
        ABOVE,
        False,
        None,
        "Fires when the 1-day 95% historical VaR exceeds the threshold, as % of equity.",
        _ABOVE_ONLY,
    ),
    RuleKind(
        "es_pct",
        "Expected shortfall",
        _PCT,
        ABOVE,
        False,
        None,
        "Fires when the 1-day 95% expected shortfall (mean loss beyond VaR) exceeds the "
        "threshold, as % of equity.",
        _ABOVE_ONLY,
    ),
    RuleKind(
        "beta",
        "Market beta",
        "beta",
        ABOVE,
        False,
        None,
        "Fires when the portfolio's beta to the market is above (or, if chosen, below) the "
        "threshold.",
        _BOTH,
        min_threshold=-10.0,
        max_threshold=10.0,
        min_inclusive=True,
    ),
    RuleKind(
        "factor_beta",
        "Factor beta",
        "beta",
        ABOVE,
        True,
        "Factor",
        "Fires when the absolute value of the portfolio's beta to the chosen factor exceeds "
        "the threshold.",
        _ABOVE_ONLY,
        max_threshold=10.0,
    ),
    RuleKind(
        "single_name_pct",
        "Single-name concentration",
        _PCT,
        ABOVE,
        False,
        None,
        "Fires when any underlying's |delta-adjusted exposure| exceeds the threshold, as % of "
        "equity; names the symbol.",
        _ABOVE_ONLY,
    ),
    RuleKind(
        "sector_pct",
        "Sector concentration",
        _PCT,
        ABOVE,
        False,
        None,
        "Fires when any sector's |net exposure| exceeds the threshold, as % of equity; names the "
        "sector.",
        _ABOVE_ONLY,
    ),
    RuleKind(
        "diversification_score",
        "Diversification score",
        "score (0 = independent, 1 = lockstep)",
        ABOVE,
        False,
        None,
        "Fires when the diversification score (weighted mean |correlation| between holdings; "
        "higher = more concentrated) is above (or, if chosen, below) the threshold.",
        _BOTH,
        max_threshold=1.0,
        min_inclusive=True,
    ),
    RuleKind(
        "scenario_loss_vs_limit",
        "Stress loss vs. loss limit",
        "% of equity",
        ABOVE,
        True,
        "Scenario",
        "Fires when a stress scenario's loss (or the worst one, for 'any') exceeds the threshold, "
        "or the client's loss limit when no threshold is set.",
        _ABOVE_ONLY,
        threshold_required=False,
    ),
    RuleKind(
        "risk_vs_tolerance",
        "Risk above tolerance",
        "points",
        ABOVE,
        False,
        None,
        "Fires when the portfolio's risk score exceeds the client's tolerance score by more than "
        "the threshold (default 5 points).",
        _ABOVE_ONLY,
        threshold_required=False,
        default_threshold=DEFAULT_RISK_GAP,
        max_threshold=98.0,
        min_inclusive=True,
    ),
    RuleKind(
        "option_expiry_days",
        "Option expiry",
        "days",
        BELOW,
        False,
        None,
        "Fires when any option has fewer than the threshold calendar days to expiry; names them.",
        (BELOW,),
        max_threshold=3650.0,
        min_inclusive=True,
        integer=True,
    ),
    RuleKind(
        "stale_prices",
        "Stale prices",
        "business days",
        ABOVE,
        False,
        None,
        "Fires when any held symbol's last price is more than the threshold business days old; "
        "names them.",
        _ABOVE_ONLY,
        max_threshold=3650.0,
        min_inclusive=True,
        integer=True,
    ),
)
RULE_KINDS: dict[str, RuleKind] = {k.kind: k for k in _KINDS}


@dataclass(frozen=True)
class RuleSpec:
    """A validated rule.

    ``threshold`` is in the kind's unit; None only for ``scenario_loss_vs_limit`` (= the client's
    loss limit). ``param``: canonical factor name, scenario id or "any"; None for other kinds.
    """

    kind: str
    threshold: float | None
    param: str | None
    comparison: str

    def summary(self) -> str:
        """The rule in words, e.g. "Value at risk above 2.5% of equity"."""
        spec = RULE_KINDS[self.kind]
        subject = f"{spec.label} ({self.param})" if self.param else spec.label
        if self.threshold is None:
            return f"{subject} above the client's loss limit"
        unit = spec.unit if spec.unit.startswith("%") else f" {spec.unit}"
        return f"{subject} {self.comparison} {self.threshold:g}{unit}"

    def to_dict(self) -> dict:
        """``{kind, threshold, param, comparison, summary}``."""
        return {**asdict(self), "summary": self.summary()}


@dataclass(frozen=True)
class Facts:
    """What the batch computed for one book; every field optional (None = not available).

    Attributes
    ----------
    var_pct, es_pct : 1-day 95% VaR and expected shortfall, % of equity (positive = loss).
    beta : portfolio beta to the market.
    factor_betas : factor name -> portfolio beta.
    exposures_by_symbol, exposures_by_sector : underlying / sector -> signed delta-adjusted
        exposure, % of equity.
    diversification_score : weighted mean |correlation|, 0..1.
    scenario_losses : scenario id -> (name, P&L % of equity; negative = loss).
    loss_limit_pct : the client's largest acceptable one-year loss, % (positive).
    risk_score, tolerance_score : the portfolio's risk score and the client's tolerance, 1..99.
    option_expiries : (option symbol, calendar days to expiry) per option held.
    stale_symbols : symbol -> business days since its last price.
    as_of : the batch date, ISO ``YYYY-MM-DD``.
    """

    var_pct: float | None = None
    es_pct: float | None = None
    beta: float | None = None
    factor_betas: dict[str, float] | None = None
    exposures_by_symbol: dict[str, float] | None = None
    exposures_by_sector: dict[str, float] | None = None
    diversification_score: float | None = None
    scenario_losses: dict[str, tuple[str, float]] | None = None
    loss_limit_pct: float | None = None
    risk_score: float | None = None
    tolerance_score: float | None = None
    option_expiries: list[tuple[str, int]] | None = None
    stale_symbols: dict[str, int] | None = None
    as_of: str | None = None

    def to_dict(self) -> dict:
        """The fields as a plain dict (tuples as lists)."""
        out = asdict(self)
        if self.scenario_losses is not None:
            out["scenario_losses"] = {k: list(v) for k, v in self.scenario_losses.items()}
        if self.option_expiries is not None:
            out["option_expiries"] = [list(x) for x in self.option_expiries]
        return out


@dataclass(frozen=True)
class Finding:
    """A rule that fired: what, by how much, and a plain-language message.

    ``value`` is the compared figure in the kind's unit (|beta| for ``factor_beta``, |exposure|
    for concentration, loss % for scenarios, the score gap for ``risk_vs_tolerance``);
    ``threshold`` the one applied (the client's loss limit when the rule had none).
    """

    kind: str
    key: str
    value: float
    threshold: float
    subject: str | None
    message: str

    def to_dict(self) -> dict:
        """The fields as a plain dict."""
        return asdict(self)


@dataclass(frozen=True)
class NotEvaluable:
    """The batch lacks what the rule needs; ``reason`` says what, e.g. "no VaR in this batch"."""

    kind: str
    reason: str

    def to_dict(self) -> dict:
        """The fields as a plain dict."""
        return asdict(self)


# --- validation ---------------------------------------------------------------------------------


def _blank(value: object) -> bool:
    """None or a string of only whitespace."""
    return value is None or (isinstance(value, str) and not value.strip())


def _range_text(spec: RuleKind) -> str:
    """The accepted threshold range in words."""
    low = "from" if spec.min_inclusive else "above"
    what = "a whole number" if spec.integer else "a value"
    return f"Enter {what} {low} {spec.min_threshold:g} up to {spec.max_threshold:g} ({spec.unit})."


def _threshold(spec: RuleKind, threshold: object) -> tuple[float | None, str | None]:
    """(parsed threshold, None) or (None, error message)."""
    if _blank(threshold):
        if spec.threshold_required:
            return None, f"A threshold is required. {_range_text(spec)}"
        return spec.default_threshold, None
    if isinstance(threshold, bool):
        return None, "Enter a number."
    try:
        value = float(threshold.strip() if isinstance(threshold, str) else threshold)
    except (TypeError, ValueError):
        return None, "Enter a number."
    if not math.isfinite(value):
        return None, "Enter a finite number."
    low_ok = value >= spec.min_threshold if spec.min_inclusive else value > spec.min_threshold
    if not (low_ok and value <= spec.max_threshold) or (spec.integer and value != int(value)):
        return None, _range_text(spec)
    return value, None


def _param(spec: RuleKind, param: object) -> tuple[str | None, str | None]:
    """(canonical param, None) or (None, error message)."""
    if spec.kind == "factor_beta":
        if _blank(param):
            return None, f"Choose a factor: {', '.join(FACTOR_NAMES)}."
        by_lower = {f.lower(): f for f in FACTOR_NAMES}
        name = by_lower.get(str(param).strip().lower())
        if name is None:
            return None, f"Unknown factor {param!r}. Choose one of: {', '.join(FACTOR_NAMES)}."
        return name, None
    if spec.kind == "scenario_loss_vs_limit":
        if _blank(param) or str(param).strip().lower() == ANY_SCENARIO:
            return ANY_SCENARIO, None
        text = str(param).strip()
        if len(text) > MAX_PARAM_LENGTH:
            return None, f"A scenario id has at most {MAX_PARAM_LENGTH} characters."
        return text, None
    if not _blank(param):
        return None, "This rule takes no parameter."
    return None, None


def _comparison(spec: RuleKind, comparison: object) -> tuple[str | None, str | None]:
    """(comparison, None) or (None, error message)."""
    if _blank(comparison):
        return spec.default_comparison, None
    text = str(comparison).strip().lower()
    if text not in COMPARISONS:
        return None, "Choose above or below."
    if text not in spec.comparisons:
        return None, f"This rule only fires {spec.default_comparison} its threshold."
    return text, None


def validate_rule(
    kind: str, threshold: float | None, param: str | None, comparison: str | None
) -> RuleSpec:
    """Check a rule as entered and return it in canonical form.

    Parameters
    ----------
    kind : str
        A key of ``RULE_KINDS``.
    threshold : float or None
        In the kind's unit (a numeric string is accepted). Percent kinds: 0 < t ≤ 100; days:
        a whole number 0..3650; ``risk_vs_tolerance``: 0..98 points (None = 5); ``beta``:
        −10..10; ``factor_beta``: 0 < t ≤ 10; diversification: 0..1;
        ``scenario_loss_vs_limit``: None = the client's loss limit.
    param : str or None
        ``factor_beta``: a factor name (case-insensitive); ``scenario_loss_vs_limit``: a
        scenario id or "any" (None = "any"); other kinds take none.
    comparison : str or None
        "above" or "below" where the kind allows it; None = the kind's default.

    Raises
    ------
    InvalidRule
        ``errors`` maps "kind", "threshold", "param" or "comparison" to a message.
    """
    spec = RULE_KINDS.get(kind) if isinstance(kind, str) else None
    if spec is None:
        errors = {"kind": f"Unknown rule kind {kind!r}. Choose one of: {', '.join(RULE_KINDS)}."}
        if not _blank(comparison) and str(comparison).strip().lower() not in COMPARISONS:
            errors["comparison"] = "Choose above or below."
        raise InvalidRule(errors)
    errors: dict[str, str] = {}
    checked = {}
    for field, check, given in (
        ("threshold", _threshold, threshold),
        ("param", _param, param),
        ("comparison", _comparison, comparison),
    ):
        checked[field], error = check(spec, given)
        if error:
            errors[field] = error
    if errors:
        raise InvalidRule(errors)
    return RuleSpec(kind, checked["threshold"], checked["param"], checked["comparison"])


# --- evaluation ---------------------------------------------------------------------------------

Result = list[Finding] | NotEvaluable


def _finite(value: object) -> bool:
    """A real, finite number (not None, not bool)."""
    return isinstance(value, numbers.Real) and not isinstance(value, bool) and math.isfinite(value)


def _worse(value: float, threshold: float, comparison: str) -> bool:
    """Strictly past the threshold in the rule's direction."""
    return value > threshold if comparison == ABOVE else value < threshold


def _past(comparison: str) -> str:
    """'above the X limit' / 'below the X floor' wording."""
    return "limit" if comparison == ABOVE else "floor"


def _shown(value: float, threshold: float, places: int) -> str:
    """``value`` to ``places`` decimals, or more when that would print it equal to the threshold
    (a breach of 20 by 20.04 reads "20.04", not "20.0")."""
    for p in range(places, 7):
        text = f"{value:.{p}f}"
        if float(text) != threshold:
            return text
    return repr(float(value))


def _scalar(spec: RuleSpec, value: float | None, missing: str, template: str) -> Result:
    """One figure against the threshold: [Finding] if it fires, [] if not.

    ``template`` is the message's first clause; its ``{v}`` is the value shown (1 decimal for
    percentages, 2 otherwise) and ``{t}`` the threshold.
    """
    if not _finite(value):
        return NotEvaluable(spec.kind, missing)
    if not _worse(value, spec.threshold, spec.comparison):
        return []
    places = 1 if RULE_KINDS[spec.kind].unit == _PCT else 2
    first = template.format(v=_shown(value, spec.threshold, places), t=f"{spec.threshold:g}")
    message = f"{first} {_past(spec.comparison)}."
    return [Finding(spec.kind, spec.kind, float(value), spec.threshold, None, message)]


def _var(spec: RuleSpec, facts: Facts) -> Result:
    return _scalar(
        spec,
        facts.var_pct,
        "no VaR in this batch",
        "1-day 95% VaR is {v}% of equity, above the {t}%",
    )


def _es(spec: RuleSpec, facts: Facts) -> Result:
    return _scalar(
        spec,
        facts.es_pct,
        "no expected shortfall in this batch",
        "1-day 95% expected shortfall is {v}% of equity, above the {t}%",
    )


def _beta(spec: RuleSpec, facts: Facts) -> Result:
    return _scalar(
        spec,
        facts.beta,
        "no market beta in this batch",
        "Portfolio beta to the market is {v}, " + spec.comparison + " the {t}",
    )


def _diversification(spec: RuleSpec, facts: Facts) -> Result:
    return _scalar(
        spec,
        facts.diversification_score,
        "no diversification score in this batch",
        "Diversification score is {v} (0 = independent, 1 = lockstep), "
        + spec.comparison
        + " the {t}",
    )


def _factor_beta(spec: RuleSpec, facts: Facts) -> Result:
    if facts.factor_betas is None:
        return NotEvaluable(spec.kind, "no factor betas in this batch")
    by_lower = {str(k).lower(): v for k, v in facts.factor_betas.items()}
    beta = facts.factor_betas.get(spec.param, by_lower.get(spec.param.lower()))
    if not _finite(beta):
        return NotEvaluable(spec.kind, f"no {spec.param} beta in this batch")
    if not abs(beta) > spec.threshold:
        return []
    message = (
        f"{spec.param} beta is {beta:.2f}, beyond the ±{spec.threshold:g} limit "
        f"(|beta| {_shown(abs(beta), spec.threshold, 2)})."
    )
    key = f"{spec.kind}:{spec.param}"
    return [Finding(spec.kind, key, float(abs(beta)), spec.threshold, spec.param, message)]


def _concentration(spec: RuleSpec, exposures: dict[str, float] | None, what: str) -> Result:
    """Every subject whose |exposure| (% of equity) exceeds the threshold, largest first."""
    if exposures is None:
        return NotEvaluable(spec.kind, f"no {what} exposures in this batch")
    hits = sorted(
        ((name, pct) for name, pct in exposures.items() if _finite(pct)),
        key=lambda item: (-abs(item[1]), str(item[0])),
    )
    out = []
    for name, pct in hits:
        if not abs(pct) > spec.threshold:
            break
        lead = f"{name} short exposure is" if pct < 0 else f"{name} is"
        shown = _shown(abs(pct), spec.threshold, 1)
        message = f"{lead} {shown}% of equity, above the {spec.threshold:g}% limit."
        key = f"{spec.kind}:{name}"
        out.append(Finding(spec.kind, key, float(abs(pct)), spec.threshold, str(name), message))
    return out


def _single_name(spec: RuleSpec, facts: Facts) -> Result:
    return _concentration(spec, facts.exposures_by_symbol, "symbol")


def _sector(spec: RuleSpec, facts: Facts) -> Result:
    return _concentration(spec, facts.exposures_by_sector, "sector")


def _scenario_limit(spec: RuleSpec, facts: Facts) -> tuple[float, str] | NotEvaluable:
    """The loss limit applied (the rule's threshold, else the client's) and its wording."""
    if spec.threshold is not None:
        return spec.threshold, f"the {spec.threshold:g}% limit"
    if not _finite(facts.loss_limit_pct):
        return NotEvaluable(spec.kind, "client has no loss limit")
    limit = float(facts.loss_limit_pct)
    return limit, f"the client's {limit:g}% loss limit"


def _scenario(spec: RuleSpec, facts: Facts) -> Result:
    if facts.scenario_losses is None:
        return NotEvaluable(spec.kind, "no stress results in this batch")
    applied = _scenario_limit(spec, facts)
    if isinstance(applied, NotEvaluable):
        return applied
    limit, whose = applied
    if spec.param == ANY_SCENARIO:
        chosen = facts.scenario_losses
    elif spec.param in facts.scenario_losses:
        chosen = {spec.param: facts.scenario_losses[spec.param]}
    else:
        return NotEvaluable(spec.kind, f"scenario {spec.param!r} not in this batch")
    losses = sorted(
        ((sid, name, -pnl) for sid, (name, pnl) in chosen.items() if _finite(pnl)),
        key=lambda item: (-item[2], str(item[0])),
    )
    if not losses:
        return NotEvaluable(spec.kind, "no scenario results in this batch")
    return [
        Finding(
            spec.kind,
            f"{spec.kind}:{sid}",
            float(loss),
            limit,
            str(sid),
            f"In the {name} scenario the book loses {_shown(loss, limit, 1)}% of equity, "
            f"more than {whose}.",
        )
        for sid, name, loss in losses
        if loss > limit
    ]


def _risk_vs_tolerance(spec: RuleSpec, facts: Facts) -> Result:
    if not _finite(facts.risk_score):
        return NotEvaluable(spec.kind, "no portfolio risk score in this batch")
    if not _finite(facts.tolerance_score):
        return NotEvaluable(spec.kind, "client has no tolerance score")
    gap = float(facts.risk_score) - float(facts.tolerance_score)
    if not gap > spec.threshold:
        return []
    message = (
        f"Portfolio risk score {facts.risk_score:g} is {gap:g} points above the client's "
        f"tolerance score {facts.tolerance_score:g} (allowed gap {spec.threshold:g} points)."
    )
    return [Finding(spec.kind, spec.kind, gap, spec.threshold, None, message)]


def _expiry_words(days: int) -> str:
    """'expires in 3 days' / 'expires today' / 'expired 2 days ago'."""
    if days == 0:
        return "expires today"
    if days < 0:
        return f"expired {-days} day{'s' if days != -1 else ''} ago"
    return f"expires in {days} day{'s' if days != 1 else ''}"


def _option_expiry(spec: RuleSpec, facts: Facts) -> Result:
    if facts.option_expiries is None:
        return NotEvaluable(spec.kind, "no option expiries in this batch")
    soonest: dict[str, float] = {}
    for symbol, days in facts.option_expiries:
        if _finite(days):
            soonest[symbol] = min(days, soonest.get(symbol, math.inf))
    hits = sorted(soonest.items(), key=lambda item: (item[1], str(item[0])))
    return [
        Finding(
            spec.kind,
            f"{spec.kind}:{symbol}",
            float(days),
            spec.threshold,
            str(symbol),
            f"Option {symbol} {_expiry_words(int(days))} "
            f"(alert: fewer than {spec.threshold:g} days to expiry).",
        )
        for symbol, days in hits
        if days < spec.threshold
    ]


def _stale(spec: RuleSpec, facts: Facts) -> Result:
    if facts.stale_symbols is None:
        return NotEvaluable(spec.kind, "no price ages in this batch")
    hits = sorted(
        ((s, d) for s, d in facts.stale_symbols.items() if _finite(d)),
        key=lambda item: (-item[1], str(item[0])),
    )
    when = f" as of {facts.as_of}" if facts.as_of else ""
    return [
        Finding(
            spec.kind,
            f"{spec.kind}:{symbol}",
            float(days),
            spec.threshold,
            str(symbol),
            f"The last price of {symbol} is {days:g} business days old{when}, more than the "
            f"{spec.threshold:g}-day limit.",
        )
        for symbol, days in hits
        if days > spec.threshold
    ]


_EVALUATORS: dict[str, Callable[[RuleSpec, Facts], Result]] = {
    "var_pct": _var,
    "es_pct": _es,
    "beta": _beta,
    "factor_beta": _factor_beta,
    "single_name_pct": _single_name,
    "sector_pct": _sector,
    "diversification_score": _diversification,
    "scenario_loss_vs_limit": _scenario,
    "risk_vs_tolerance": _risk_vs_tolerance,
    "option_expiry_days": _option_expiry,
    "stale_prices": _stale,
}


def evaluate_all(spec: RuleSpec, facts: Facts) -> list[Finding] | NotEvaluable:
    """One Finding per offending subject, worst first; [] when the rule holds.

    Parameters
    ----------
    spec : RuleSpec
        A rule from ``validate_rule``.
    facts : Facts
        The batch's figures for the book.

    Returns
    -------
    list of Finding, or NotEvaluable
        NotEvaluable when ``facts`` lacks the figure the rule needs (None or not finite), or the
        client's loss limit / tolerance score the rule compares with.
    """
    return _EVALUATORS[spec.kind](spec, facts)


def evaluate(spec: RuleSpec, facts: Facts) -> Finding | NotEvaluable | None:
    """The worst breach of the rule, NotEvaluable, or None when the rule holds.

    The worst breach is the largest |exposure|, the largest scenario loss, the soonest expiry or
    the oldest price (ties broken by subject name, so the result is stable); see
    ``evaluate_all`` for every breach.
    """
    found = evaluate_all(spec, facts)
    if isinstance(found, NotEvaluable):
        return found
    return found[0] if found else None
