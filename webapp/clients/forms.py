"""Forms: Flask-WTF supplies CSRF and rendering; ``services.clients`` and the questionnaire engine
do all the validation, so a page shows the messages the API returns next to the field."""

from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import (
    RadioField,
    SelectField,
    SelectMultipleField,
    StringField,
    SubmitField,
    TextAreaField,
)
from wtforms.fields.choices import SelectChoice
from wtforms.widgets import CheckboxInput, ListWidget

from webapp.analytics.questionnaire import QUESTIONS


class ClientForm(FlaskForm):
    """Name, e-mail and notes of a new or edited client."""

    name = StringField("Name")
    email = StringField("E-mail (optional)")
    notes = TextAreaField("Notes (optional)")
    submit = SubmitField("Save")


class ConfirmForm(FlaskForm):
    """The confirmation button of a delete."""

    submit = SubmitField("Yes, delete")


class CheckboxesField(SelectMultipleField):
    """A list of checkboxes; the raw values reach the service, which checks them."""

    widget = ListWidget(prefix_label=False)
    option_widget = CheckboxInput()


class AssignForm(FlaskForm):
    """The client's portfolios (accounts and households), as checkboxes."""

    portfolio_ids = CheckboxesField("Accounts and households", validate_choice=False)
    submit = SubmitField("Save accounts")


class HouseholdForm(FlaskForm):
    """A household's name, its accounts and (optionally) its client."""

    name = StringField("Household name")
    account_ids = CheckboxesField("Accounts", validate_choice=False)
    client_id = SelectField("Client (optional)", validate_choice=False)
    submit = SubmitField("Save household")


class QuestionnaireBase(FlaskForm):
    """The submit button; ``QuestionnaireForm`` adds one radio group per question."""

    submit = SubmitField("Score the questionnaire")


# One radio group per question, named by its key, so the engine's field errors land on it.
QuestionnaireForm = type(
    "QuestionnaireForm",
    (QuestionnaireBase,),
    {
        q.key: RadioField(
            q.text,
            choices=[SelectChoice(c.value, c.label) for c in q.choices],
            validate_choice=False,
        )
        for q in QUESTIONS
    },
)
