"""Upload and confirmation forms: CSRF and rendering only; services validate the values."""

from flask_wtf import FlaskForm
from flask_wtf.file import FileField
from wtforms import HiddenField, StringField, SubmitField, TextAreaField


class UploadForm(FlaskForm):
    """The holdings CSV with the new portfolio's name, description and cash."""

    file = FileField("Holdings file (CSV)")
    name = StringField("New portfolio name")
    description = TextAreaField("Description")
    cash = StringField("Cash ($)")
    submit = SubmitField("Check the file")


class ConfirmImportForm(FlaskForm):
    """The confirm step: the stashed upload's token and the portfolio fields, unchanged."""

    # The file itself waits in Redis under ``token``; the portfolio fields ride along unchanged.
    token = HiddenField()
    name = HiddenField()
    description = HiddenField()
    cash = HiddenField()
    submit = SubmitField("Import the accepted rows")
