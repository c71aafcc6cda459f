"""CSV onboarding pages.

Upload → preview (nothing stored) → confirm (one transaction) → portfolio + queued work.
"""

from __future__ import annotations

import datetime as dt
import html as htmllib
import io
import re
from pathlib import Path

import pytest
from sqlalchemy import func, select

from tests.management.conftest import counts, csrf_token, field_errors
from webapp.extensions import db
from webapp.imports import TEMPLATE_CSV
from webapp.models import BatchRun, Portfolio, Position
from webapp.services import imports as svc
from webapp.services.queueing import fetch_job, get_redis

HERE = Path(__file__).resolve().parent
MIXED = (HERE / "fixtures" / "canonical_mixed.csv").read_bytes()
BROKERS = Path(__file__).resolve().parents[1] / "imports" / "fixtures"
LAYOUTS = {
    "schwab_positions_2025.csv": "schwab_positions",
    "schwab_all_accounts_2021.csv": "schwab_positions",
    "fidelity_portfolio_positions.csv": "fidelity_positions",
    "vanguard_ofxdownload.csv": "vanguard_positions",
    "ibkr_activity_statement.csv": "ibkr_activity",
    "etrade_portfolio_download.csv": "etrade_positions",
    "thinkorswim_position_statement.csv": "thinkorswim_positions",
}


def upload(client, data: bytes, name: str = "Imported", filename: str = "holdings.csv", **fields):
    form = {
        "file": (io.BytesIO(data), filename),
        "name": name,
        "description": "",
        "cash": "",
        **fields,
    }
    return client.post("/imports/new", data=form, content_type="multipart/form-data")


def confirm_fields(html: str) -> dict[str, str]:
    """The hidden fields of the preview's confirmation form."""
    form = html[html.index('action="/imports/confirm"') :]
    return {
        name: htmllib.unescape(value)
        for name, value in re.findall(
            r'<input id="\w+" name="(token|name|description|cash)" type="hidden" value="([^"]*)">',
            form,
        )
    }


def pending_uploads() -> int:
    return len(list(get_redis().scan_iter("sigmasight:import:*")))


def _portfolio(user, name: str) -> Portfolio | None:
    db.session.expire_all()
    return db.session.scalar(
        select(Portfolio).where(Portfolio.user_id == user.id, Portfolio.name == name)
    )


def test_upload_page_documents_the_format_and_links_the_template(client, advisor):
    html = client.get("/imports/new").get_data(as_text=True)
    assert 'href="/imports/template.csv"' in html and 'enctype="multipart/form-data"' in html
    for text in (
        "<code>ticker</code>",
        "<code>symbol</code>",
        "<code>entry_price</code>",
        "<code>price paid</code>",
        "<code>date acquired</code>",
        "<code>tags</code>",
        "AAPL270115C00250000",
        "AAPL 01/15/2027 250.00 C",
        "-AAPL270115C250",
        "SPY 31MAR27 570 C",
        "Charles Schwab",
        "Fidelity",
        "Interactive Brokers",
        "E*TRADE",
        "thinkorswim",
        "Vanguard",
        "Robinhood",
        "negative = short",
        "5 MB",
        "20,000 rows",
    ):
        assert text in html, text
    template = client.get("/imports/template.csv")
    assert template.status_code == 200 and template.mimetype == "text/csv"
    assert "attachment" in template.headers["Content-Disposition"]
    assert template.get_data(as_text=True) == TEMPLATE_CSV


def test_the_template_previews_clean(client, advisor):
    resp = upload(client, TEMPLATE_CSV.encode(), filename="sigmasight_holdings_template.csv")
    html = resp.get_data(as_text=True)
    assert (
        resp.status_code == 200
        and 'id="accepted-count">4<' in html
        and 'id="rejected-count">0<' in html
    )


def test_preview_lists_every_row_and_stores_nothing(client, advisor):
    before, stashed = counts(), pending_uploads()
    resp = upload(client, MIXED, filename="mixed.csv")
    html = resp.get_data(as_text=True)
    assert resp.status_code == 200
    assert counts() == before and pending_uploads() == stashed + 1  # only the bytes wait in Redis
    assert 'data-format="canonical"' in html
    accepted = re.findall(
        r'<tr data-line="(\d+)">\s*<td>\d+</td><td class="sym">([^<]+)</td>',
        html[html.index('id="accepted"') : html.index('id="rejected"')],
    )
    assert accepted == [
        ("2", "AAPL"),
        ("3", "MSFT"),
        ("4", "AAPL270115C00250000"),
        ("5", "ZZZQ"),
        ("11", "SPY270115P00600000"),
    ]
    # The code is the row's data-code; the page shows the reason in words.
    rejected = [
        (line, field, value, code, reason)
        for line, code, field, value, reason in re.findall(
            r'<tr data-line="(\d+)" data-code="(\w+)"><td>\d+</td><td>(\w+)</td>'
            r"<td><code>([^<]*)</code></td>\s*<td>([^<]*)",
            html[html.index('id="rejected"') :],
        )
    ]
    assert rejected == [
        (
            "6",
            "quantity",
            "0",
            "zero_quantity",
            "The quantity is zero; only open positions can be imported.",
        ),
        ("7", "quantity", "abc", "invalid_number", "&#39;abc&#39; is not a number."),
        ("7", "entry_price", "-5", "negative_price", "The entry price cannot be negative."),
        (
            "7",
            "entry_date",
            "2030-01-01",
            "future_date",
            # Judged by the last price date since the ledger issue, not the wall clock.
            "The entry date 2030-01-01 is after 2026-08-03, the last day with stored prices: a "
            "position cannot be valued before its prices exist. Correct the date, or import the "
            "file once prices have been updated.",
        ),
        (
            "8",
            "row",
            "AAPL",
            "duplicate_row",
            "Same position as line 2 (symbol, quantity, price and date). (duplicate of line 2)",
        ),
        ("9", "ticker", "", "missing_value", "The ticker is empty."),
    ]
    row5 = html[html.index('<tr data-line="5">') : html.index('<tr data-line="11">')]
    assert "no prices" in row5 and html.count(">no prices<") == 1
    assert (
        'data-code="no_market_data"' in html and "No stored prices for ZZZQ" in html
    )  # file-level warning
    assert 'id="skipped-count">2<' in html and "line 1" not in html and "lines 1, 10" in html
    assert (
        "Covered calls" in html and "&#39;=1+2" not in html
    )  # strategy shown; notes are not previewed
    assert 'id="unpriced-count">1<' in html


def test_row_warnings_are_shown_per_row(client, advisor):
    data = b"ticker,quantity,entry_price,entry_date\nAAPL240119C00150000,1,2.5,2023-06-01\n"
    html = upload(client, data).get_data(as_text=True)
    row = html[html.index('<tr data-line="2">') :]
    assert 'data-code="option_expired"' in row and "This option expired on 2024-01-19." in row


def test_confirm_imports_exactly_the_accepted_rows_and_queues_prices_then_the_batch(
    client, advisor, queued_jobs
):
    html = upload(client, MIXED, name="From CSV", description="Onboarded", cash="1,000").get_data(
        as_text=True
    )
    before = counts()
    fields = confirm_fields(html)
    assert fields["name"] == "From CSV" and fields["cash"] == "1,000"
    resp = client.post("/imports/confirm", data=fields)
    portfolio = _portfolio(advisor, "From CSV")
    assert portfolio is not None and (portfolio.description, portfolio.cash) == (
        "Onboarded",
        1000.0,
    )
    assert resp.status_code == 302 and resp.headers["Location"].endswith(
        f"/portfolios/{portfolio.id}"
    )
    after = counts()
    assert (
        after["Portfolio"] == before["Portfolio"] + 1
        and after["Position"] == before["Position"] + 5
    )
    stored = [
        (
            p.symbol,
            p.position_type,
            p.quantity,
            p.entry_price,
            p.entry_date,
            sorted(t.name for t in p.tags),
            p.strategy,
        )
        for p in portfolio.positions
    ]
    assert stored == [
        ("AAPL", "LONG", 100.0, 185.25, dt.date(2024, 3, 15), ["core", "tech"], "Core"),
        ("MSFT", "SHORT", -40.0, 402.1, dt.date(2024, 6, 3), ["hedge"], None),
        (
            "AAPL270115C00250000",
            "SC",
            -2.0,
            12.5,
            dt.date(2024, 11, 1),
            ["options"],
            "Covered calls",
        ),
        ("ZZZQ", "LONG", 10.0, 5.0, dt.date(2024, 1, 2), [], None),
        ("SPY270115P00600000", "LP", 1.0, 8.4, dt.date(2024, 12, 2), ["hedge"], "Hedges"),
    ]
    option = portfolio.positions[2]
    assert (
        option.underlying_symbol,
        option.strike_price,
        option.expiration_date,
        option.multiplier,
    ) == ("AAPL", 250.0, dt.date(2027, 1, 15), 100.0)
    assert option.notes == "'=1+2"  # neutralized by the parser before storage

    run = db.session.scalar(select(BatchRun).where(BatchRun.portfolio_id == portfolio.id))
    assert (
        run is not None
        and run.trigger == "import"
        and run.status == "queued"
        and run.job_id.startswith(f"batch-{run.id}-")
    )
    batch = fetch_job(run.job_id)
    assert batch is not None and batch.func_name == "jobs.batch.run_portfolio_batch"
    assert (
        batch.args[0] == portfolio.id and batch.get_status() == "deferred"
    )  # waits for the price refresh
    refresh = fetch_job(batch.dependency_ids[0])
    assert refresh.func_name == "jobs.batch.refresh_prices" and refresh.id in queued_jobs.job_ids

    page = client.get(resp.headers["Location"]).get_data(as_text=True)
    assert "Imported 5 positions into &#39;From CSV&#39;; 4 rejected rows were left out." in page
    assert client.post("/imports/confirm", data=fields).status_code == 302  # the token is spent
    assert counts()["Portfolio"] == after["Portfolio"]


def test_a_failure_mid_commit_stores_nothing(client, advisor, monkeypatch):
    html = upload(client, MIXED, name="Half done").get_data(as_text=True)
    before = counts()
    real = svc._link_tags
    stored_before_failure = []

    def flaky(position_ids, row_tags, tag_ids):
        # The portfolio and its positions really reached the database before the failure.
        stored_before_failure.append(
            db.session.scalar(
                select(func.count()).select_from(Position).where(Position.id.in_(position_ids))
            )
        )
        raise RuntimeError("disk full")

    monkeypatch.setattr(svc, "_link_tags", flaky)
    with pytest.raises(RuntimeError, match="disk full"):
        client.post("/imports/confirm", data=confirm_fields(html))
    assert stored_before_failure == [5]
    assert counts() == before and _portfolio(advisor, "Half done") is None
    monkeypatch.setattr(svc, "_link_tags", real)
    retry = client.post(
        "/imports/confirm", data=confirm_fields(html)
    )  # the upload is still waiting
    assert retry.status_code == 302 and len(_portfolio(advisor, "Half done").positions) == 5


@pytest.mark.parametrize("filename", sorted(LAYOUTS))
def test_each_broker_export_uploads_through_the_page(client, advisor, queued_jobs, filename):
    data = (BROKERS / filename).read_bytes()
    report = svc.validate_upload(data, filename)
    html = upload(client, data, name=f"From {filename}", filename=filename).get_data(as_text=True)
    assert f'data-format="{LAYOUTS[filename]}"' in html
    assert (
        f'id="accepted-count">{len(report.accepted)}<' in html
        and f'id="rejected-count">{len(report.rejected)}<' in html
    )
    assert report.accepted and all(f'<tr data-line="{a.line}">' in html for a in report.accepted)
    resp = client.post("/imports/confirm", data=confirm_fields(html))
    portfolio = _portfolio(advisor, f"From {filename}")
    assert resp.status_code == 302 and resp.headers["Location"].endswith(
        f"/portfolios/{portfolio.id}"
    )
    assert [(p.symbol, p.quantity) for p in portfolio.positions] == [
        (a.symbol, a.quantity) for a in report.accepted
    ]


@pytest.mark.parametrize(
    ("data", "code", "message"),
    [
        (b"", "empty_file", "The file is empty."),
        (b"\r\n , ,\r\n", "empty_file", "The file has no content (only empty lines or cells)."),
        (
            b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR",
            "invalid_file",
            "This is a PNG image, not a CSV file.",
        ),
        ((BROKERS / "robinhood_activity.csv").read_bytes(), "unsupported_format", "Robinhood"),
        (
            b"ticker,qty\nAAPL,1\n",
            "missing_required_column",
            "Missing required column(s): entry_price",
        ),
        (
            b"ticker,quantity,entry_price,entry_date\nCash,,,\n",
            "no_data_rows",
            "No position rows were found",
        ),
    ],
)
def test_refused_files_explain_why_and_store_nothing(client, advisor, data, code, message):
    before, stashed = counts(), pending_uploads()
    resp = upload(client, data)
    html = resp.get_data(as_text=True)
    assert resp.status_code == 422
    assert (
        f'data-code="{code}"' in html
        and message in htmllib.unescape(html)
        and "Nothing was stored." in html
    )
    assert counts() == before and pending_uploads() == stashed


def test_size_and_row_limits_are_refused_with_the_limit(app, client, advisor):
    before = counts()
    rows = "".join(f"AAPL,{i},1,2024-01-02\n" for i in range(1, 31))
    data = ("ticker,quantity,entry_price,entry_date\n" + rows).encode()
    app.config.update(IMPORT_MAX_BYTES=200)
    try:
        too_big = htmllib.unescape(upload(client, data).get_data(as_text=True))
    finally:
        app.config.update(IMPORT_MAX_BYTES=5 * 1024 * 1024)
    app.config.update(IMPORT_MAX_ROWS=10)
    try:
        too_many = htmllib.unescape(upload(client, data, filename="big.csv").get_data(as_text=True))
    finally:
        app.config.update(IMPORT_MAX_ROWS=20_000)
    assert 'data-code="file_too_large"' in too_big and "the limit is 0.000190735 MB" in too_big
    assert (
        'data-code="too_many_rows"' in too_many
        and "'big.csv' has 30 position rows; the limit is 10." in too_many
    )
    assert counts() == before


def test_portfolio_fields_and_file_are_checked_before_the_preview(client, advisor, factory):
    factory.portfolio(advisor, name="Existing")
    stashed = pending_uploads()
    dup = upload(client, MIXED, name="Existing", cash="-1")
    assert dup.status_code == 422
    assert field_errors(dup.get_data(as_text=True)) == {
        "name": ["You already have a portfolio called &#39;Existing&#39;."],
        "cash": ["Must be at least 0."],
    }
    missing = client.post(
        "/imports/new", data={"name": "No file"}, content_type="multipart/form-data"
    )
    assert missing.status_code == 422
    assert field_errors(missing.get_data(as_text=True)) == {
        "file": ["Choose a CSV file to upload."]
    }
    assert pending_uploads() == stashed


def test_expired_or_foreign_confirmation_stores_nothing(app, client, advisor, factory):
    html = upload(client, MIXED, name="Mine").get_data(as_text=True)
    fields = confirm_fields(html)
    before = counts()
    expired = client.post(
        "/imports/confirm", data=fields | {"token": "0" * 32}, follow_redirects=True
    )
    assert "This upload has expired" in expired.get_data(as_text=True)
    tampered = client.post(
        "/imports/confirm", data=fields | {"token": "../../etc"}, follow_redirects=True
    )
    assert "This upload has expired" in tampered.get_data(as_text=True)

    intruder = factory.user()
    other = app.test_client()
    other.post("/login", data={"email": intruder.email, "password": factory.password})
    foreign = other.post(
        "/imports/confirm", data=fields | {"name": "Stolen"}, follow_redirects=True
    )
    assert "is not yours" in foreign.get_data(as_text=True)
    assert counts() == before and _portfolio(intruder, "Stolen") is None

    get_redis().expire(f"sigmasight:import:{fields['token']}", 0)  # the hour passes
    late = client.post("/imports/confirm", data=fields, follow_redirects=True)
    assert "This upload has expired" in late.get_data(as_text=True) and counts() == before


def test_a_name_taken_between_preview_and_confirm_stores_nothing(client, advisor, factory):
    fields = confirm_fields(upload(client, MIXED, name="Raced").get_data(as_text=True))
    factory.portfolio(advisor, name="Raced")
    before = counts()
    resp = client.post("/imports/confirm", data=fields, follow_redirects=True)
    assert (
        "Nothing was imported: You already have a portfolio called &#39;Raced&#39;."
        in resp.get_data(as_text=True)
    )
    assert counts() == before


def test_upload_and_confirm_need_the_csrf_token(app, client, advisor, queued_jobs):
    app.config["WTF_CSRF_ENABLED"] = True
    try:
        refused = upload(client, MIXED, name="Forged")
        token = csrf_token(client.get("/imports/new").get_data(as_text=True))
        preview = upload(client, MIXED, name="Guarded", csrf_token=token)
        html = preview.get_data(as_text=True)
        fields = confirm_fields(html)
        refused_confirm = client.post("/imports/confirm", data=fields)
        confirmed = client.post("/imports/confirm", data=fields | {"csrf_token": csrf_token(html)})
    finally:
        app.config["WTF_CSRF_ENABLED"] = False
    assert (
        refused.status_code,
        preview.status_code,
        refused_confirm.status_code,
        confirmed.status_code,
    ) == (400, 200, 400, 302)
    assert (
        _portfolio(advisor, "Forged") is None and len(_portfolio(advisor, "Guarded").positions) == 5
    )


def test_a_request_over_the_body_limit_returns_to_the_form_with_the_limit(app, client, advisor):
    before = counts()
    saved = app.config["MAX_CONTENT_LENGTH"]
    app.config["MAX_CONTENT_LENGTH"] = 1024
    try:
        resp = upload(
            client, b"ticker,quantity,entry_price,entry_date\n" + b"AAPL,1,1,2024-01-02\n" * 200
        )
    finally:
        app.config["MAX_CONTENT_LENGTH"] = saved
    assert resp.status_code == 302 and resp.headers["Location"].endswith("/imports/new")
    page = client.get("/imports/new").get_data(as_text=True)
    assert "That file is too large: holdings files are limited to 5 MB." in page
    assert counts() == before
