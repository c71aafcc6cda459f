from flask_wtf import FlaskForm
from flask_wtf.file import FileField
from wtforms import DecimalField, HiddenField, StringField, SubmitField, TextAreaField
from wtforms.validators import Optional


class UploadForm(FlaskForm):
    file = FileField("Holdings file (CSV)")
    name = StringField("New portfolio name")
    description = TextAreaField("Description")
    cash = DecimalField("Cash ($)", places=2, validators=[Optional()])
    submit = SubmitField("Check the file")


class ConfirmImportForm(FlaskForm):
    token = HiddenField()
    name = HiddenField()
    description = HiddenField()
    cash = HiddenField()
    submit = SubmitField("Import the accepted rows")
