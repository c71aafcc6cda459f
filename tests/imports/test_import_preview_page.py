"""The preview page shows the judging date, the statement cash and the equity warning.

Unlike the other import tests this one needs the app: it renders templates/imports/preview.html.
"""

from __future__ import annotations

import io
import re

from tests.imports.helpers_import import FIXTURES
from tests.management.conftest import advisor  # noqa: F401  (a fixture, used by name)


def _preview(client, data: bytes, filename: str = "holdings.csv") -> str:
    form = {"file": (io.BytesIO(data), filename), "name": "Imported", "description": "", "cash": ""}
    resp = client.post("/imports/new", data=form, content_type="multipart/form-data")
    assert resp.status_code == 200
    return resp.get_data(as_text=True)


def test_preview_shows_the_statement_cash_and_the_book_value(client, advisor):  # noqa: F811
    html = _preview(client, (FIXTURES / "schwab_positions_cash.csv").read_bytes())
    assert 'id="judged-by"' in html
    assert 'id="statement-cash">$15,402.18<' in html
    assert 'id="estimated-equity" class="">$67,169.32<' in html
    assert 'data-code="statement_cash"' in html and "Cash &amp; Cash Investments" in html


def test_preview_warns_about_a_book_worth_nothing(client, advisor):  # noqa: F811
    data = b"ticker,quantity,entry_price,entry_date\nSPY270115P00500000,-2,8.40,2024-12-02\n"
    html = _preview(client, data)
    warnings = html[html.index('id="file-warnings"') :]
    assert 'data-code="non_positive_equity"' in warnings
    assert 'id="estimated-equity" class="neg">-$1,680.00<' in html
    assert 'id="statement-cash"' not in html  # the template states no cash


def _visible(html: str) -> str:
    """The page's text as read: tags and attribute values removed."""
    return re.sub(r"<[^>]+>", " ", html)


def test_preview_names_the_layout_and_gives_reasons_in_words(client, advisor):  # noqa: F811
    data = (FIXTURES / "schwab_positions_2025.csv").read_bytes()
    html = _preview(client, data + b'"ZZZ","bad row","abc","1.00"\n')
    assert 'data-format="schwab_positions">Layout detected: Schwab positions export<' in html
    text = _visible(html)
    assert "schwab_positions" not in text
    rejected = html[html.index('id="rejected"') :]
    codes = set(re.findall(r'<tr data-line="\d+" data-code="([a-z_]+)"', rejected))
    assert codes, "the malformed row is rejected"
    for code in codes:
        assert code not in _visible(rejected), code  # the code is data, the reason is words


def test_refused_file_is_headed_in_words(client, advisor):  # noqa: F811
    form = {
        "file": (io.BytesIO(b"symbol,price\nAAPL,1\n"), "h.csv"),
        "name": "Refused",
        "description": "",
        "cash": "",
    }
    resp = client.post("/imports/new", data=form, content_type="multipart/form-data")
    html = resp.get_data(as_text=True)
    assert 'id="file-error" data-code="missing_required_column"' in html
    assert '<h2 class="neg">A required column is missing</h2>' in html
    assert "missing_required_column" not in _visible(html)
