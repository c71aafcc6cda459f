"""Bad input never 500s: huge ids, CR/LF in ``next``, formula look-alikes in exports, weak
passwords, invalid e-mails, UTF-16 without a BOM."""

from __future__ import annotations

import csv
import io
import re

import pytest

from webapp.services.demo import DEMO_BOOKS, DEMO_PASSWORD

EMAIL = DEMO_BOOKS[2].email  # the hedge-fund-style demo advisor: positions, tags, options
HUGE = (2**63, 2**31)
INT_SEGMENT = re.compile(r"<int:(\w+)>")


# 1. Huge ids in every <int:...> URL segment -----------------------------------------------------


def int_rules(app) -> list:
    return sorted(
        (r for r in app.url_map.iter_rules() if INT_SEGMENT.search(r.rule)), key=lambda r: r.rule
    )


def method_of(rule) -> str:
    """GET where the route has it, else its only (or first) state-changing method."""
    methods = rule.methods - {"HEAD", "OPTIONS"}
    return "GET" if "GET" in methods else sorted(methods)[0]


def fill(rule, values: dict[str, int]) -> str:
    return INT_SEGMENT.sub(lambda m: str(values[m.group(1)]), rule.rule)


@pytest.fixture()
def logged_in(app, client, auth, ctx):
    """A client logged in (session) as the demo advisor, a bearer header and real ids of theirs."""
    from sqlalchemy import select

    from webapp.extensions import db
    from webapp.models import Portfolio, User

    assert auth.login(EMAIL, DEMO_PASSWORD).status_code == 302
    user = db.session.scalar(select(User).where(User.email == EMAIL))
    portfolio = db.session.scalar(select(Portfolio).where(Portfolio.user_id == user.id))
    token = client.post("/api/v1/auth/login", json={"email": EMAIL, "password": DEMO_PASSWORD})
    real = {"portfolio_id": portfolio.id, "position_id": portfolio.positions[0].id}
    return client, {"Authorization": f"Bearer {token.get_json()['access_token']}"}, real


def test_every_int_route_is_covered(app):
    rules = int_rules(app)
    # The pages and API routes of today; a new route with an int segment joins automatically.
    assert len(rules) >= 40
    assert {
        "portfolios.delete_tag",
        "portfolios.run_progress",
        "api.export_portfolio",
        "positions.detail",
        "api.delete_tag",
    } <= {r.endpoint for r in rules}


@pytest.mark.parametrize("huge", HUGE, ids=["2^63", "2^31"])
def test_huge_ids_are_404_on_every_int_route(app, logged_in, huge):
    client, bearer, real = logged_in
    failures = []
    for rule in int_rules(app):
        names = INT_SEGMENT.findall(rule.rule)
        # Every segment huge at once, then each one alone beside real ids of the advisor.
        cases = [dict.fromkeys(names, huge)]
        cases += [{n: (huge if n == name else real.get(n, 1)) for n in names} for name in names]
        method = method_of(rule)
        for values in cases:
            path = fill(rule, values)
            api = path.startswith("/api/")
            resp = client.open(
                path,
                method=method,
                headers=bearer if api else {},
                json={} if api and method != "GET" else None,
            )
            if resp.status_code != 404:
                failures.append((method, path, resp.status_code))
            elif api and resp.get_json()["error"]["code"] != "not_found":
                failures.append((method, path, resp.get_json()))
    assert not failures, failures


def test_id_bound_matches_the_services_guards(app, logged_in):
    from webapp.converters import MAX_ID, BoundedIntegerConverter
    from webapp.services import portfolios

    assert MAX_ID == portfolios.MAX_ID == 2**31 - 1
    assert app.url_map.converters["int"] is BoundedIntegerConverter
    client, bearer, real = logged_in
    # The largest id the database can hold still routes (to the service's own 404) ...
    assert client.get(f"/portfolios/{MAX_ID}/overview").status_code == 404
    assert (
        client.get(f"/api/v1/data/portfolio/{MAX_ID}/complete", headers=bearer).status_code == 404
    )
    # ... and real ids are untouched.
    assert client.get(f"/portfolios/{real['portfolio_id']}/overview").status_code == 200
    # Query-string ids go through the same guards.
    assert client.get(f"/portfolios/switch?portfolio_id={2**63}").status_code == 404
    resp = client.get(f"/api/v1/data/positions/details?portfolio_id={2**63}", headers=bearer)
    assert resp.status_code in (400, 404), resp.get_json()


# 2. CR/LF and friends in ?next= -----------------------------------------------------------------

BAD_NEXT = [
    "/portfolios\r\nSet-Cookie:x=1",
    "/portfolios\nSet-Cookie:x=1",
    "/portfolios\rSet-Cookie:x=1",
    "/portfolios\tx",
    "/\t/evil.com",
    "/\n/evil.com",
    "/\\evil.com",
    "/\\\\evil.com",
    "\\\\evil.com",
    "/ /evil.com",
    "/portfolios\x00",
    "/\u200b/evil.com",
    "/portfolios\u2028x",
    "//evil.com",
    "https://evil.com/",
    "javascript:alert(1)",
]


@pytest.mark.parametrize("target", BAD_NEXT, ids=repr)
def test_unsafe_next_is_ignored(app, target):
    client = app.test_client()
    resp = client.post(
        "/login", query_string={"next": target}, data={"email": EMAIL, "password": DEMO_PASSWORD}
    )
    assert resp.status_code == 302
    assert resp.headers["Location"] == "/portfolios/"
    assert not any("x=1" in c for c in resp.headers.getlist("Set-Cookie"))


@pytest.mark.parametrize(
    "raw",
    [
        "next=/portfolios%0d%0aSet-Cookie:x=1",
        "next=/portfolios%0aSet-Cookie:x=1",
        "next=/portfolios%09x",
        "next=/%5Cevil.com",
        "next=%2F%5C%5Cevil.com",
    ],
)
def test_unsafe_next_in_a_raw_query_string(app, raw):
    resp = app.test_client().post(f"/login?{raw}", data={"email": EMAIL, "password": DEMO_PASSWORD})
    assert resp.status_code == 302 and resp.headers["Location"] == "/portfolios/"
    assert not any("x=1" in c for c in resp.headers.getlist("Set-Cookie"))


def test_a_safe_next_is_still_followed(app):
    resp = app.test_client().post(
        "/login",
        query_string={"next": "/portfolios/tags?x=1"},
        data={"email": EMAIL, "password": DEMO_PASSWORD},
    )
    assert resp.status_code == 302 and resp.headers["Location"] == "/portfolios/tags?x=1"


# 3. Spreadsheet formulas and their look-alikes in exports ---------------------------------------

FORMULAS = [
    "=1+2",
    "+SUM(A1:A2)",
    "-2+3",
    "@cmd",
    "\uff1d1+2",
    "\uff0bSUM(A1)",
    "\uff0d2+3",
    "\uff20cmd",  # full-width ＝＋－＠
    "\u200b=1+2",
    "\u200c+1",
    "\u200d-1",
    "\u2060@x",
    '\ufeff=HYPERLINK("x")',  # zero-width first
    "\t=1+2",
    "\r=1+2",
    "\n=1+2",
    " =1+2",
]


@pytest.fixture()
def poisoned(factory, app, client):
    """An advisor whose positions carry formula-like notes, strategy and tag names, stored raw
    (as an old import or a direct write would leave them): only the export can neutralise them."""
    from webapp.extensions import db
    from webapp.models import Tag

    user = factory.user()
    positions = [
        {
            "symbol": "AAPL",
            "quantity": 1.0 + i,
            "entry_price": 100.0,
            "strategy": text,
            "notes": text,
        }
        for i, text in enumerate(FORMULAS)
    ]
    portfolio = factory.portfolio(user, positions=positions)
    for i, (position, text) in enumerate(zip(portfolio.positions, FORMULAS, strict=True)):
        position.tags.append(Tag(user_id=user.id, name=f"{text}{i}", color="#4c78a8"))
    db.session.commit()
    login = client.post("/login", data={"email": user.email, "password": factory.password})
    assert login.status_code == 302
    return client, portfolio.id


def inert(cell: str) -> bool:
    """A text cell no spreadsheet runs: it starts with the ' text marker."""
    return cell.startswith("'")


def test_csv_export_neutralises_formula_look_alikes(poisoned):
    client, portfolio_id = poisoned
    resp = client.get(f"/api/v1/export/portfolio/{portfolio_id}?format=csv")
    assert resp.status_code == 200
    rows = list(csv.DictReader(io.StringIO(resp.get_data(as_text=True), newline="")))
    assert len(rows) == len(FORMULAS)
    for row in rows:
        for column in ("strategy", "notes", "tags"):
            assert inert(row[column]), (column, row[column])
        assert not row["quantity"].startswith("'")  # numbers stay numbers
    assert sorted(r["notes"] for r in rows) == sorted("'" + t for t in FORMULAS)


def test_xlsx_export_neutralises_formula_look_alikes(poisoned):
    from openpyxl import load_workbook

    client, portfolio_id = poisoned
    resp = client.get(f"/api/v1/export/portfolio/{portfolio_id}?format=xlsx")
    assert resp.status_code == 200
    workbook = load_workbook(io.BytesIO(resp.data))
    formulas = [
        f"{ws.title}!{c.coordinate}"
        for ws in workbook
        for row in ws.iter_rows()
        for c in row
        if c.data_type == "f"
    ]
    assert not formulas, formulas
    sheet = workbook["Positions"]
    header = [c.value for c in sheet[1]]
    strategy, tags = header.index("Strategy"), header.index("Tags")
    body = [row for row in sheet.iter_rows(min_row=2, values_only=True) if row[0] == "AAPL"]
    assert len(body) == len(FORMULAS)
    for row in body:
        assert isinstance(row[strategy], str) and inert(row[strategy]), row[strategy]
        assert isinstance(row[tags], str) and inert(row[tags]), row[tags]


@pytest.mark.parametrize("text", FORMULAS, ids=repr)
def test_neutralize_handles_look_alikes_and_is_idempotent(text):
    from webapp.imports import neutralize

    once = neutralize(text)
    assert once == "'" + text and neutralize(once) == once


@pytest.mark.parametrize(
    "text", ["plain", "a=b", "Covered upside", "2-3", "\u2212x", "caf\xe9", ""]
)
def test_neutralize_leaves_ordinary_text_alone(text):
    from webapp.imports import neutralize

    assert neutralize(text) == text


# 4. Password policy and e-mail validation -------------------------------------------------------

WEAK = [
    ("        ", "only spaces"),
    (" " * 16, "only spaces"),
    ("", "empty"),
    ("Sh0rt-pass", "at least 12 characters"),
    ("password1234", "too easy to guess"),
    ("qwertyuiop12", "too easy to guess"),
    ("aaaaaaaaaaaaaaaa", "too easy to guess"),
    ("sigmasight2026", "too easy to guess"),
    ("jane.doe-Kestrel-42", "e-mail name"),
    ("JANE.DOE!Kestrel-42", "e-mail name"),
]


@pytest.mark.parametrize(("password", "reason"), WEAK, ids=[w[0] or "empty" for w in WEAK])
def test_weak_passwords_are_refused_in_words(password, reason):
    from webapp.services.passwords import WeakPassword, check_password

    with pytest.raises(WeakPassword, match=reason):
        check_password(password, "jane.doe@example.com")


@pytest.mark.parametrize(
    "password", ["Kestrel-Orbit-42", "correct horse battery staple", "x" * 3 + "Tq9!vLm#2pZr" * 10]
)
def test_strong_passwords_pass(password):
    from webapp.services.passwords import check_password

    check_password(password, "jane.doe@example.com")


def test_create_user_applies_the_policy(ctx):
    from webapp.services.passwords import WeakPassword
    from webapp.services.users import create_user, find_user

    with pytest.raises(WeakPassword, match="only spaces"):
        create_user("eight.spaces@example.com", "        ")
    with pytest.raises(ValueError, match="too easy to guess"):
        create_user("common.one@example.com", "password1234")
    assert (
        find_user("eight.spaces@example.com") is None
        and find_user("common.one@example.com") is None
    )
    user = create_user("  Strong.One@Example.COM ", "Kestrel-Orbit-42")
    assert user.email == "strong.one@example.com" and user.check_password("Kestrel-Orbit-42")


@pytest.mark.parametrize(
    "email",
    [
        "not-an-email",
        "a@b",
        "two@@example.com",
        "sp ace@example.com",
        "@example.com",
        "x@example..com",
    ],
)
def test_create_user_refuses_invalid_emails(ctx, email):
    from webapp.services.users import create_user, find_user

    with pytest.raises(ValueError, match="not a valid e-mail address"):
        create_user(email, "Kestrel-Orbit-42")
    assert find_user(email) is None


def test_users_create_cli_reports_policy_and_email_errors(runner, ctx):
    from webapp.services.users import find_user

    spaces = runner.invoke(
        args=["users", "create", "--email", "cli.spaces@example.com"], input="        \n        \n"
    )
    assert spaces.exit_code != 0 and "only spaces" in spaces.output
    bad = runner.invoke(
        args=["users", "create", "--email", "not-an-email"],
        input="Kestrel-Orbit-42\nKestrel-Orbit-42\n",
    )
    assert bad.exit_code != 0 and "not a valid e-mail address" in bad.output
    assert find_user("cli.spaces@example.com") is None


def test_demo_accounts_keep_their_published_password(app):
    """Seeding bypasses the policy on purpose: demo12345 is documented and stays valid."""
    for book in DEMO_BOOKS:
        resp = app.test_client().post(
            "/login", data={"email": book.email, "password": DEMO_PASSWORD}
        )
        assert resp.status_code == 302, book.email


# 5. UTF-16 without a BOM ------------------------------------------------------------------------


@pytest.mark.parametrize("encoding", ["utf-16-be", "utf-16-le"])
def test_utf16_without_bom_is_read_like_utf8(encoding):
    from tests.imports.helpers_import import run, summary
    from webapp.imports.template import TEMPLATE_CSV

    data = TEMPLATE_CSV.encode(encoding)
    assert not data.startswith((b"\xfe\xff", b"\xff\xfe"))  # really no BOM
    report = run(data)
    assert report.file_error is None, report.file_error
    assert summary(report) == summary(run(TEMPLATE_CSV)) and len(report.accepted) == 4
    assert report.rejected == []


@pytest.mark.parametrize("encoding", ["utf-16-be", "utf-16-le"])
def test_utf16_without_bom_keeps_accents_and_symbols(encoding):
    from tests.imports.helpers_import import run

    text = (
        "ticker,quantity,entry_price,entry_date,notes\r\n"
        "AAPL,1,1,2024-01-02,R\xe9sum\xe9 \u20ac \u65e5\u672c\r\n"
    )
    report = run(text.encode(encoding))
    assert report.file_error is None
    assert report.accepted[0].notes == "R\xe9sum\xe9 \u20ac \u65e5\u672c"


@pytest.mark.parametrize(
    "data", [bytes(range(256)) * 4, b"\x00\x01\x00\x00" * 100, b"AB\x00\x00CD\x00\x00" * 50]
)
def test_binary_with_nul_bytes_is_still_refused(data):
    from tests.imports.helpers_import import run

    report = run(data)
    assert report.file_error is not None and report.file_error["code"] == "invalid_file"
