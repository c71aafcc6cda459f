"""Forms: Flask-WTF supplies CSRF and rendering; the service layer does all the validation.

Every input is a plain text/select field without WTForms validators, so the raw value reaches
``services.management`` and its one set of messages (shared with the API) shows next to the field.
"""

from flask_wtf import FlaskForm
from wtforms import SelectField, StringField, SubmitField, TextAreaField
from wtforms.fields.choices import SelectChoice
from wtforms.widgets import ColorInput, DateInput

INSTRUMENTS = [
    SelectChoice("", "Stock / ETF"),
    SelectChoice("call", "Call option"),
    SelectChoice("put", "Put option"),
]


class PortfolioForm(FlaskForm):
    """Name, description and cash of a new or edited portfolio."""

    name = StringField("Name")
    description = TextAreaField("Description")
    cash = StringField("Cash ($)")
    submit = SubmitField("Save")


class ConfirmForm(FlaskForm):
    """The confirmation button of a delete."""

    submit = SubmitField("Yes, delete")


class PositionForm(FlaskForm):
    """One position: instrument, symbol, quantity, entry, option terms, strategy, tags, notes."""

    # Call/put plus the quantity's sign give the type: +call = LC, -call = SC, +put = LP, -put = SP.
    option_type = SelectField("Instrument", choices=INSTRUMENTS, validate_choice=False)
    symbol = StringField("Symbol (stocks/ETFs, or an OCC option symbol)")
    quantity = StringField("Quantity (shares or contracts; negative = short / written)")
    entry_price = StringField("Entry price ($ per share; options: premium per share)")
    entry_date = StringField("Entry date", widget=DateInput())
    underlying_symbol = StringField("Underlying")
    strike_price = StringField("Strike ($)")
    expiration_date = StringField("Expiry", widget=DateInput())
    implied_vol = StringField("Implied vol (decimal, optional)")
    strategy = StringField("Strategy")
    tags = StringField("Tags (comma-separated)")
    notes = TextAreaField("Notes")
    submit = SubmitField("Save position")


class ClosePositionForm(FlaskForm):
    """Exit date and price of a position being closed."""

    exit_date = StringField("Exit date", widget=DateInput())
    exit_price = StringField("Exit price ($ per share; options: premium per share)")
    submit = SubmitField("Close position")


class TagForm(FlaskForm):
    """Name and colour of a new tag."""

    name = StringField("Tag name")
    color = StringField("Colour", default="#4c78a8", widget=ColorInput())
    submit = SubmitField("Create tag")
