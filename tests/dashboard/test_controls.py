"""The analytics controls: ranges stated and enforced as the API enforces them, refusals shown
beside the field, what the boxes show in step with what was computed, and the batch/on-request
label true to where the numbers came from."""

from __future__ import annotations

import re

import pytest

from tests.api.conftest import bearer, login_token

HF = "demo_hedgefundstyle@sigmasight.com"
PASSWORD = "demo12345"


@pytest.fixture()
def hf_client(client, hf_book):
    client.post("/login", data={"email": HF, "password": PASSWORD})
    return client


def input_tag(page: str, el_id: str) -> str:
    m = re.search(rf'<input [^>]*id="{el_id}"[^>]*>', page)
    assert m, el_id
    return m.group(0)


def selected(page: str, el_id: str) -> str:
    select = re.search(rf'<select [^>]*id="{el_id}".*?</select>', page, re.S).group(0)
    return re.search(r'<option value="([^"]*)" selected', select).group(1)


def test_number_boxes_carry_their_range_and_leave_refusing_to_the_server(hf_client, hf_book):
    page = hf_client.get(f"/portfolios/{hf_book}/correlations?lookback_days=60").get_data(
        as_text=True
    )
    overlap = input_tag(page, "min-overlap")
    assert 'min="10"' in overlap and 'max="60"' in overlap and 'step="1"' in overlap
    symbols = input_tag(page, "max-symbols")
    assert 'min="1"' in symbols and 'max="50"' in symbols and 'step="1"' in symbols
    # htmx skips a form the browser finds invalid, silently: the form lets the server answer.
    assert re.search(r'<form [^>]*id="correlation-controls"[^>]*novalidate', page)
    assert "minimum overlap 10 days up to the look-back (60 now); 1–50 symbols" in page
    risk = hf_client.get(f"/portfolios/{hf_book}/risk").get_data(as_text=True)
    assert re.search(r'<form [^>]*id="risk-controls"[^>]*novalidate', risk)
    assert "Allowed: a whole number of trading days from 30 to 252." in risk


def test_overlap_above_the_lookback_is_refused_beside_the_box_which_keeps_it(
    client, hf_client, hf_book
):
    query = "lookback_days=30&min_overlap=200"
    token = login_token(client, HF, PASSWORD)
    api = client.get(
        f"/api/v1/analytics/portfolio/{hf_book}/correlation-matrix?{query}", headers=bearer(token)
    )
    assert api.status_code == 400
    client.post("/login", data={"email": HF, "password": PASSWORD})
    for headers in ({}, {"HX-Request": "true", "HX-Target": "heatmap"}):
        page = client.get(f"/portfolios/{hf_book}/correlations?{query}", headers=headers)
        html = page.get_data(as_text=True)
        box = input_tag(html, "min-overlap")
        assert 'value="200"' in box and 'aria-invalid="true"' in box  # what was typed stays
        inline = re.search(
            r'<div class="field-error" id="min-overlap-error"[^>]*>(.*?)</div>', html
        )
        assert inline and "from 10 to 30" in inline.group(1) and "200" in inline.group(1)
        # The valid look-back is kept; the overlap computed instead is said aloud.
        assert selected(html, "lookback") == "30"
        assert 'data-lookback="30" data-min-overlap="30"' in html
        notice = re.search(r'id="param-error"[^>]*>(.*?)</div>', html, re.S).group(1)
        assert "showing a look-back of 30 days, a minimum overlap of 30 days" in notice
        assert "<form" in html  # the controls swap with the numbers they produced


@pytest.mark.parametrize(
    ("page", "query", "error_id", "allowed"),
    [
        ("risk", "lookback_days=300", "lookback-days-error", "from 30 to 252"),
        ("risk", "lookback_days=abc", "lookback-days-error", "from 30 to 252"),
        ("correlations", "lookback_days=400", "lookback-days-error", "from 30 to 365"),
        ("correlations", "max_symbols=99", "max-symbols-error", "from 1 to 50"),
        ("correlations", "min_overlap=junk", "min-overlap-error", "from 10 to 365"),
        ("stress", "category=weather", "category-error", "market, factor rotation"),
    ],
)
def test_refused_values_are_said_beside_their_control(
    hf_client, hf_book, page, query, error_id, allowed
):
    html = hf_client.get(f"/portfolios/{hf_book}/{page}?{query}").get_data(as_text=True)
    inline = re.search(rf'<div class="field-error" id="{error_id}"[^>]*>(.*?)</div>', html)
    assert inline and allowed in inline.group(1), html[:2000]
    assert 'aria-describedby="' + error_id + '"' in html


def test_the_lookback_select_shows_what_was_computed(hf_client, hf_book):
    refused = hf_client.get(f"/portfolios/{hf_book}/risk?lookback_days=300").get_data(as_text=True)
    assert selected(refused, "risk-lookback") == "90" and 'data-lookback="90"' in refused
    custom = hf_client.get(f"/portfolios/{hf_book}/risk?lookback_days=45").get_data(as_text=True)
    assert selected(custom, "risk-lookback") == "45" and 'data-lookback="45"' in custom
    assert '<option value="45" selected>45 (computed on request)</option>' in custom


@pytest.mark.parametrize("page", ["risk", "correlations"])
def test_batch_and_on_request_are_labelled_by_where_the_numbers_came_from(
    client, hf_client, hf_book, page
):
    source_id = {"risk": "risk-source", "correlations": "correlation-source"}[page]

    def source(lookback: int) -> str:
        html = client.get(f"/portfolios/{hf_book}/{page}?lookback_days={lookback}").get_data(
            as_text=True
        )
        return re.search(rf'<p class="small muted" id="{source_id}">(.*?)</p>', html).group(1)

    stored = source(60)
    assert stored.startswith("From the nightly batch, as of 2026-08-03")
    assert "on request" not in stored
    live = source(45)
    assert live.startswith("Computed on request for this 45-day look-back, as of 2026-08-03")
    segment = {"risk": "risk-metrics", "correlations": "correlation-matrix"}[page]
    token = login_token(client, HF, PASSWORD)
    for lookback, computed in ((45, "on_request"), (60, None)):
        meta = client.get(
            f"/api/v1/analytics/portfolio/{hf_book}/{segment}?lookback_days={lookback}",
            headers=bearer(token),
        ).get_json()["metadata"]
        assert meta.get("computed") == computed, (segment, lookback)


def test_an_unknown_episode_is_said_beside_the_picker(hf_client):
    for headers in ({}, {"HX-Request": "true", "HX-Target": "validation-scatter"}):
        html = hf_client.get("/methodology/validation?episode=dotcom", headers=headers).get_data(
            as_text=True
        )
        error = re.search(r'<div class="field-error" id="episode-error"[^>]*>(.*?)</div>', html)
        assert error and "“dotcom” is not one of the 5 sell-offs" in error.group(1)
        assert "showing Q4 2018 sell-off instead" in error.group(1)
    fine = hf_client.get("/methodology/validation?episode=covid_crash").get_data(as_text=True)
    assert 'id="episode-error"' not in fine
