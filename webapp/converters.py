"""URL converters: an ``<int:...>`` segment only matches ids the database can hold."""

from __future__ import annotations

from flask import Flask
from werkzeug.routing import IntegerConverter

# The INTEGER column limit on PostgreSQL (and what services.portfolios.MAX_ID guards). A larger id
# cannot name a row; letting it reach a query overflows the driver (a 500) instead of a 404.
MAX_ID = 2**31 - 1


def digits_up_to(limit: int) -> str:
    """A regex for the decimal numbers 0..``limit`` (no sign; leading zeros only below 10**(n-1)).

    ``digits_up_to(2147483647)`` matches ``[0-9]{1,9}``, then 10-digit numbers branch by branch:
    ``1[0-9]{9}``, ``20[0-9]{8}``, ``21[0-3][0-9]{7}`` … ``214748364[0-6]``, ``2147483647``.
    """
    text = str(limit)
    n = len(text)
    branches = [f"[0-9]{{1,{n - 1}}}"] if n > 1 else []
    for i, digit in enumerate(int(c) for c in text):
        low = 1 if i == 0 and n > 1 else 0  # an n-digit number does not start with 0
        if digit > low:
            smaller = str(low) if digit - 1 == low else f"[{low}-{digit - 1}]"
            rest = n - i - 1  # any digits may follow the smaller one
            tail = "" if rest == 0 else "[0-9]" if rest == 1 else f"[0-9]{{{rest}}}"
            branches.append(text[:i] + smaller + tail)
    branches.append(text)
    return "(?:" + "|".join(branches) + ")"


class BoundedIntegerConverter(IntegerConverter):
    """werkzeug's ``int`` converter limited to 0..:data:`MAX_ID`, so a larger id matches no route.

    The bound is in the regex, not only in ``max``: werkzeug checks ``max`` after it has matched a
    rule's path and method, so on a path with several method rules (PATCH/PUT and DELETE on one
    URL) a too-large id would answer 405 (listing the other methods) instead of 404.
    """

    regex = digits_up_to(MAX_ID)

    # Parameter names are werkzeug's (they shadow builtins there too).
    def __init__(
        self,
        map,
        fixed_digits: int = 0,
        min: int | None = None,
        max: int | None = MAX_ID,
        signed: bool = False,
    ) -> None:
        super().__init__(map, fixed_digits=fixed_digits, min=min, max=max, signed=signed)


def register(app: Flask) -> None:
    """Replace the ``int`` converter; must run before any route with an int segment is added."""
    app.url_map.converters["int"] = BoundedIntegerConverter
