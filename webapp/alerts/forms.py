"""Forms: Flask-WTF supplies CSRF and rendering; ``services.alerts`` does all the validation.

Plain fields without WTForms validators, so the raw value reaches the service and its one set
of messages (shared with the API) shows next to the field.
"""

from flask_wtf import FlaskForm
from wtforms import HiddenField, SelectField, StringField, SubmitField, TextAreaField
from wtforms.fields.choices import SelectChoice

from webapp.analytics.alert_rules import RULE_KINDS

KINDS = [SelectChoice(k.kind, k.label) for k in RULE_KINDS.values()]
COMPARISONS = [
    SelectChoice("", "The rule's usual direction"),
    SelectChoice("above", "Above the threshold"),
    SelectChoice("below", "Below the threshold"),
]


class RuleForm(FlaskForm):
    """A new rule on the book: kind, threshold, parameter (factor or scenario), comparison."""

    kind = SelectField("Rule", choices=KINDS, validate_choice=False)
    threshold = StringField("Threshold (in the rule's unit)")
    param = StringField(
        "Factor or scenario (only for those rules)", render_kw={"list": "rule-params"}
    )
    comparison = SelectField("Fires when the figure is", choices=COMPARISONS, validate_choice=False)
    submit = SubmitField("Add rule")


class AcknowledgeForm(FlaskForm):
    """The advisor's note on what was done about an alert."""

    note = TextAreaField("Note (what was done about it)")
    submit = SubmitField("Acknowledge")


class RuleActionForm(FlaskForm):
    """CSRF for a rule's delete / enable / disable buttons (``enabled`` for the toggle)."""

    enabled = HiddenField()
