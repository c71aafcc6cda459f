"""Bad input never 500s: huge ids, CR/LF in ``next``."""
from __future__ import annotations

import re

import pytest

from webapp.services.demo import DEMO_BOOKS, DEMO_PASSWORD

EMAIL = DEMO_BOOKS[2].email  # the hedge-fund-style demo advisor: positions, tags, options
HUGE = (2**63, 2**31)
INT_SEGMENT = re.compile(r"<int:(\w+)>")


# 1. Huge ids in every <int:...> URL segment -----------------------------------------------------

def int_rules(app) -> list:
    return sorted((r for r in app.url_map.iter_rules() if INT_SEGMENT.search(r.rule)),
                  key=lambda r: r.rule)


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
    assert {"portfolios.delete_tag", "portfolios.run_progress", "api.export_portfolio",
            "positions.detail", "api.delete_tag"} <= {r.endpoint for r in rules}


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
            resp = client.open(path, method=method, headers=bearer if api else {},
                               json={} if api and method != "GET" else None)
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
    assert client.get(f"/api/v1/data/portfolio/{MAX_ID}/complete", headers=bearer).status_code == 404
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
    resp = client.post("/login", query_string={"next": target},
                       data={"email": EMAIL, "password": DEMO_PASSWORD})
    assert resp.status_code == 302
    assert resp.headers["Location"] == "/portfolios/"
    assert not any("x=1" in c for c in resp.headers.getlist("Set-Cookie"))


@pytest.mark.parametrize("raw", ["next=/portfolios%0d%0aSet-Cookie:x=1", "next=/portfolios%0aSet-Cookie:x=1",
                                 "next=/portfolios%09x", "next=/%5Cevil.com", "next=%2F%5C%5Cevil.com"])
def test_unsafe_next_in_a_raw_query_string(app, raw):
    resp = app.test_client().post(f"/login?{raw}", data={"email": EMAIL, "password": DEMO_PASSWORD})
    assert resp.status_code == 302 and resp.headers["Location"] == "/portfolios/"
    assert not any("x=1" in c for c in resp.headers.getlist("Set-Cookie"))


def test_a_safe_next_is_still_followed(app):
    resp = app.test_client().post("/login", query_string={"next": "/portfolios/tags?x=1"},
                                  data={"email": EMAIL, "password": DEMO_PASSWORD})
    assert resp.status_code == 302 and resp.headers["Location"] == "/portfolios/tags?x=1"
