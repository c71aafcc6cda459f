"""Jinja filters that format numbers for people: $1,234,567, 12.3%, negatives in red."""

from __future__ import annotations

import datetime as dt
import math
from decimal import Decimal

from flask import Flask
from jinja2 import Undefined
from markupsafe import Markup

from webapp.services.option_labels import (
    days_left_words,
    position_name,
    type_words,
    vif_flag,
    vol_source_words,
)

# Quantities are stored as doubles; more decimals than this are float noise, not precision.
QUANTITY_DECIMALS = 8


def _missing(value) -> bool:
    return (
        value is None
        or isinstance(value, Undefined)
        or (isinstance(value, float) and math.isnan(value))
    )


def _unsigned_zero(value: float, decimals: int) -> float:
    """0.0 for values that round to zero, so a tiny negative never prints as '-0.00'."""
    return 0.0 if round(value, decimals) == 0 else value


def money(value, decimals: int = 0) -> str:
    """$1,234,567 with a leading minus for negatives; an em dash when missing."""
    if _missing(value):
        return "—"
    value = _unsigned_zero(value, decimals)
    sign = "-" if value < 0 else ""
    return f"{sign}${abs(value):,.{decimals}f}"


def pct(value, decimals: int = 1, *, ratio: bool = True) -> str:
    """12.3% from 0.123 (``ratio=True``) or from 12.3."""
    if _missing(value):
        return "—"
    return f"{_unsigned_zero(value * 100 if ratio else value, decimals):,.{decimals}f}%"


def number(value, decimals: int = 2) -> str:
    """1,234.57; an em dash when missing."""
    if _missing(value):
        return "—"
    return f"{_unsigned_zero(value, decimals):,.{decimals}f}"


def quantity(value) -> str:
    """An exact quantity: 1,250.5 for 1250.5, 1,250 for 1250.0, up to 8 decimals, no trailing
    zeros; an em dash when missing."""
    if _missing(value):
        return "—"
    exact = Decimal(repr(round(float(value), QUANTITY_DECIMALS))).normalize()
    if exact == 0:
        return "0"
    text = f"{exact:,f}"
    return text.rstrip("0").rstrip(".") if "." in text else text


def signed_class(value) -> str:
    """CSS class for a number: 'neg' for negatives so they render red."""
    if _missing(value):
        return "muted"
    return "neg" if value < 0 else ("pos" if value > 0 else "")


def colored(text: str, value) -> Markup:
    """``text`` in a span whose class colours it by the sign of ``value``."""
    return Markup('<span class="{}">{}</span>').format(signed_class(value), text)


def isodate(value) -> str:
    """A date as YYYY-MM-DD, a datetime as YYYY-MM-DD HH:MM UTC, None as a dash."""
    if value is None:
        return "—"
    if isinstance(value, dt.datetime):
        return value.strftime("%Y-%m-%d %H:%M UTC")
    return value.isoformat()


def register(app: Flask) -> None:
    """Install the filters."""
    filters = (
        money,
        pct,
        number,
        quantity,
        signed_class,
        colored,
        isodate,
        type_words,
        position_name,
        vol_source_words,
        vif_flag,
    )
    app.jinja_env.filters.update({f.__name__: f for f in filters})
    app.jinja_env.filters["days_left"] = days_left_words
