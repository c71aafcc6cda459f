"""Forms: Flask-WTF supplies CSRF and rendering; the service layer does all the validation.

Every input is a plain text/select field without WTForms validators, so the raw value reaches
``services.management`` and its one set of messages (shared with the API) shows next to the field.
"""

from flask_wtf import FlaskForm
from wtforms import SelectField, StringField, SubmitField, TextAreaField
from wtforms.fields.choices import SelectChoice
from wtforms.widgets import ColorInput, DateInput

from webapp.services.management import DEFAULT_TAG_COLOR

FUNDINGS = [
    SelectChoice("transfer", "Transferred in (a deposit of its cost; cash unchanged)"),
    SelectChoice("cash", "Bought with the portfolio's cash (cash decreases)"),
]
CASH_ENTRIES = [
    SelectChoice("deposit", "Deposit"),
    SelectChoice("withdrawal", "Withdrawal"),
    SelectChoice("dividend", "Dividend"),
    SelectChoice("fee", "Fee"),
]
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
    benchmark = StringField("Benchmark (a ticker, or a blend like SPY:0.6,AGG:0.4)", default="SPY")
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
    # Asked on the add form only: an edit keeps the funding its opening transaction has.
    funding = SelectField("Funding", choices=FUNDINGS, validate_choice=False)
    fees = StringField("Fees ($, optional)")
    submit = SubmitField("Save position")


class ClosePositionForm(FlaskForm):
    """Exit date and price of a position being closed."""

    exit_date = StringField("Exit date", widget=DateInput())
    exit_price = StringField("Exit price ($ per share; options: premium per share)")
    quantity = StringField("Quantity to close (shares or contracts; empty = all)")
    fees = StringField("Fees ($, optional)")
    submit = SubmitField("Close position")


class CashEntryForm(FlaskForm):
    """A deposit, withdrawal, dividend or fee for the ledger."""

    kind = SelectField("Entry", choices=CASH_ENTRIES, validate_choice=False)
    amount = StringField("Amount ($)")
    trade_date = StringField("Date", widget=DateInput())
    symbol = StringField("Symbol (dividends, optional)")
    notes = StringField("Notes")
    submit = SubmitField("Record")


class TagForm(FlaskForm):
    """Name and colour of a new tag."""

    name = StringField("Tag name")
    color = StringField("Colour", default=DEFAULT_TAG_COLOR, widget=ColorInput())
    submit = SubmitField("Create tag")
