"""Forms: Flask-WTF supplies CSRF and rendering; ``services.reports`` does the validation, so a
page shows the messages the API returns next to the field."""

from __future__ import annotations

from flask_wtf import FlaskForm
from flask_wtf.file import FileField
from wtforms import BooleanField, SelectField, SelectMultipleField, StringField, SubmitField
from wtforms.widgets import CheckboxInput, ListWidget


class CheckboxesField(SelectMultipleField):
    """A list of checkboxes; the raw values reach the service, which checks them."""

    widget = ListWidget(prefix_label=False)
    option_widget = CheckboxInput()


class GenerateForm(FlaskForm):
    """Ask for a report of one portfolio: an optional template and modelling session."""

    template_id = SelectField("Template", validate_choice=False)
    session_id = SelectField("Proposal from a modelling session", validate_choice=False)
    submit = SubmitField("Create PDF report")


class TemplateForm(FlaskForm):
    """A report template: name, firm name, logo and the sections it prints."""

    name = StringField("Template name")
    firm_name = StringField("Firm name (on the cover and every page)")
    logo = FileField("Logo (PNG, at most 500 KB)")
    remove_logo = BooleanField("Remove the current logo")
    sections = CheckboxesField("Sections", validate_choice=False)
    submit = SubmitField("Save template")


class ScheduleForm(FlaskForm):
    """A monthly report of one portfolio on a day of the month, with an optional template."""

    portfolio_id = SelectField("Account", validate_choice=False)
    day_of_month = StringField("Day of the month (1-28)", default="1")
    template_id = SelectField("Template", validate_choice=False)
    submit = SubmitField("Schedule monthly report")


class ConfirmForm(FlaskForm):
    """The confirmation button of a delete."""

    submit = SubmitField("Yes, delete")
