"""Forms: Flask-WTF supplies CSRF and rendering; the service layer does the validation."""
from flask_wtf import FlaskForm
from wtforms import DateField, DecimalField, SelectField, StringField, SubmitField, TextAreaField
from wtforms.validators import Optional

from webapp.models import POSITION_TYPES

TYPE_LABELS = {
    "LONG": "Long stock/ETF", "SHORT": "Short stock/ETF", "LC": "Long call", "LP": "Long put",
    "SC": "Short call", "SP": "Short put",
}


class PortfolioForm(FlaskForm):
    name = StringField("Name")
    description = TextAreaField("Description")
    cash = DecimalField("Cash ($)", places=2, validators=[Optional()])
    submit = SubmitField("Save")


class ConfirmForm(FlaskForm):
    submit = SubmitField("Yes, delete")


class PositionForm(FlaskForm):
    position_type = SelectField("Type", choices=[(t, TYPE_LABELS[t]) for t in POSITION_TYPES])
    symbol = StringField("Symbol (stocks/ETFs)")
    quantity = StringField("Quantity (shares or contracts)")
    entry_price = StringField("Entry price ($ per share; options: premium per share)")
    entry_date = DateField("Entry date", validators=[Optional()])
    underlying_symbol = StringField("Underlying (options)")
    strike_price = StringField("Strike (options)")
    expiration_date = DateField("Expiry (options)", validators=[Optional()])
    implied_vol = StringField("Implied vol (decimal, optional)")
    strategy = StringField("Strategy")
    tags = StringField("Tags (comma-separated)")
    notes = TextAreaField("Notes")
    submit = SubmitField("Save position")


class ClosePositionForm(FlaskForm):
    exit_date = DateField("Exit date", validators=[Optional()])
    exit_price = StringField("Exit price ($ per share)")
    submit = SubmitField("Close position")


class TagForm(FlaskForm):
    name = StringField("Tag name")
    color = StringField("Colour", default="#4c78a8")
    submit = SubmitField("Create tag")
