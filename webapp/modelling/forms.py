"""Forms of the modelling pages: Flask-WTF gives CSRF and rendering, the service validates.

As in ``portfolios.forms``: plain fields without WTForms validators, so the raw values reach
``services.modelling`` (and through it ``management.record_entry``), whose messages show next to
the fields and equal the API's.
"""

from flask_wtf import FlaskForm
from wtforms import SelectField, StringField, SubmitField
from wtforms.fields.choices import SelectChoice
from wtforms.widgets import DateInput

#: The entries a session proposes (``modelling.TRADE_KINDS``), in words.
KIND_CHOICES = [
    SelectChoice("buy", "Buy shares"),
    SelectChoice("sell", "Sell shares"),
    SelectChoice("short", "Sell short"),
    SelectChoice("cover", "Buy to cover"),
    SelectChoice("option_open", "Open an option"),
    SelectChoice("option_close", "Close an option"),
    SelectChoice("deposit", "Deposit cash"),
    SelectChoice("withdrawal", "Withdraw cash"),
]
#: An option trade's position type, as the ledger reads it (``position_type``).
OPTION_CHOICES = [
    SelectChoice("", "— (shares or cash)"),
    SelectChoice("LC", "Long call"),
    SelectChoice("LP", "Long put"),
    SelectChoice("SC", "Short call (written)"),
    SelectChoice("SP", "Short put (written)"),
]


class NewSessionForm(FlaskForm):
    """The account to model trades on and an optional name."""

    portfolio_id = SelectField("Account", choices=[], validate_choice=False)
    name = StringField("Name (optional)")
    submit = SubmitField("New session")


class TradeForm(FlaskForm):
    """One proposed ledger entry; ``kind`` decides which fields the ledger reads."""

    kind = SelectField("Trade", choices=KIND_CHOICES, validate_choice=False)
    symbol = StringField("Symbol (a ticker, or an OCC option symbol)")
    quantity = StringField("Quantity (shares or contracts, positive)")
    price = StringField("Price ($ per share; empty = last close for shares)")
    amount = StringField("Amount ($, cash entries)")
    position_type = SelectField("Option", choices=OPTION_CHOICES, validate_choice=False)
    underlying_symbol = StringField("Underlying")
    strike_price = StringField("Strike ($)")
    expiration_date = StringField("Expiry", widget=DateInput())
    trade_date = StringField("Date (empty = the last price date)", widget=DateInput())
    fees = StringField("Fees ($, optional)")
    submit = SubmitField("Add trade")

    def entry(self) -> dict:
        """The submitted values as the service takes them (empty ones left out)."""
        skip = ("csrf_token", "submit")
        return {k: v for k, v in self.data.items() if k not in skip and v not in (None, "")}


class SaveForm(FlaskForm):
    """The name of the new account a session is saved as."""

    name = StringField("New account's name")
    submit = SubmitField("Save as a new account")


class ConfirmForm(FlaskForm):
    """A button with CSRF: remove, calculate, refresh, apply, delete."""

    submit = SubmitField("Confirm")


SUGGEST_TARGETS = [
    SelectChoice("beta", "Beta to (a number, e.g. 0.8)"),
    SelectChoice("net_exposure", "Net exposure to (% of equity)"),
    SelectChoice("weight", "A holding's weight to (% of equity)"),
    SelectChoice("scenario_loss", "A scenario's loss to (% of equity, e.g. -10)"),
    SelectChoice("var", "1-day 95% VaR to (% of equity)"),
]
HEDGE_CHOICES = [
    SelectChoice("index", "Index short (SPY)"),
    SelectChoice("put", "Index puts (SPY, 5% out of the money)"),
]


class SuggestForm(FlaskForm):
    """A target for the proposed book; the suggested trade is sized and added to the session."""

    target = SelectField("Target", choices=SUGGEST_TARGETS, validate_choice=False)
    value = StringField("Value")
    symbol = StringField("Holding (for a weight)")
    scenario_id = SelectField("Scenario (for a loss)", choices=[], validate_choice=False)
    hedge = SelectField("Hedge with", choices=HEDGE_CHOICES, validate_choice=False)
    submit = SubmitField("Suggest and add the trade")
