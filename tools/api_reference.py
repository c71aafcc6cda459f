"""Write docs/API.md: every operation of /api/v1 with a real example answer (``make api-docs``).

The examples are not written by hand: this script builds the app on a scratch SQLite database
with the bundled prices and the demo books, runs their batches, and walks every operation as
the hedge-fund demo advisor would (reads on the demo book; writes on a book, client, session
and report of their own, created on the way). Queued jobs run on an in-process RQ worker against
an embedded Redis. Each answer is abridged for reading: lists keep their first items and numbers
are rounded. It also rewrites the path table between the API-REFERENCE markers in README.md.
``tests/api/test_api_reference.py`` checks both list every operation of the document and that each
example still parses with its route's declared response model.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import re
import sys
import tempfile
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

LIST_ITEMS = 2  # items kept per list
BIG_MAP = 6  # keys kept of a map nested below the top (the correlation matrix, prices by symbol)
OUT = ROOT / "docs" / "API.md"
README = ROOT / "README.md"
START, END = "<!-- API-REFERENCE:START -->", "<!-- API-REFERENCE:END -->"
UPLOAD_CSV = "symbol,quantity,entry_price,entry_date\nAAPL,10,190.50,2026-06-01\n"


def abridge(value: Any, depth: int = 0) -> Any:
    """``value`` shortened for reading: lists cut, maps of many keys cut, numbers rounded."""
    if isinstance(value, float):
        return float(f"{value:.6g}")
    if isinstance(value, list):
        return [abridge(v, depth + 1) for v in value[:LIST_ITEMS]]
    if isinstance(value, dict):
        items = list(value.items())
        if depth >= 2 and len(items) > BIG_MAP and all(k.isupper() for k, _ in items[:BIG_MAP]):
            items = items[:BIG_MAP]  # a map keyed by symbol: the first few symbols
        return {k: abridge(v, depth + 1) for k, v in items}
    return value


class Walk:
    """Calls operations through the app's test client and keeps one example per operation."""

    def __init__(self, app, document: dict):
        self.app = app
        self.client = app.test_client()
        self.document = document
        self.examples: dict[str, dict] = {}
        self.headers: dict[str, str] = {}

    def call(self, method: str, path: str, **kwargs) -> Any:
        """Call ``method path`` (the document's template, filled from ``kwargs['ids']``)."""
        ids = kwargs.pop("ids", {})
        query = kwargs.pop("query", None)
        url = "/api/v1" + path.format(**ids)
        resp = self.client.open(
            url, method=method, headers=self.headers, query_string=query, **kwargs
        )
        operation = self.document["paths"][self.template(path)][method.lower()]
        expected = int(next(c for c in operation["responses"] if c.startswith("2")))
        if resp.status_code != expected:
            raise SystemExit(
                f"{method} {url}: {resp.status_code}, expected {expected}: "
                f"{resp.get_data(as_text=True)[:500]}"
            )
        body: Any = resp.get_json(silent=True) if resp.is_json else None
        example = {"status": resp.status_code, "query": query, "media": resp.mimetype}
        if "json" in kwargs:
            example["request"] = kwargs["json"]
        if body is not None:
            example["response"] = abridge(body)
        elif resp.status_code != 204:
            example["bytes"] = len(resp.get_data())
        self.examples.setdefault(operation["operationId"], example)
        return body

    def template(self, path: str) -> str:
        """The document's path for ``path`` (whose placeholders may be named differently)."""
        pattern = re.escape("/api/v1" + path)
        pattern = re.sub(r"\\\{\w+\\\}", r"\\{\\w+\\}", pattern)
        (found,) = [p for p in self.document["paths"] if re.fullmatch(pattern, p)]
        return found

    def run_jobs(self) -> None:
        """Run every queued job on an in-process worker (as ``flask worker --burst``)."""
        from redis import Redis

        from jobs.worker import HeartbeatWorker, make_queues

        redis = Redis.from_url(self.app.config["REDIS_URL"])
        with self.app.app_context():
            HeartbeatWorker(make_queues(redis), connection=redis).work(burst=True)


def walk(w: Walk, demo_password: str) -> None:
    """Every operation once: reads on the demo book, writes on the advisor's own objects."""
    token = w.call(
        "POST",
        "/auth/login",
        json={"email": "demo_hedgefundstyle@sigmasight.com", "password": demo_password},
    )
    w.headers = {"Authorization": f"Bearer {token['access_token']}"}
    pid = w.call("GET", "/data/portfolios")["portfolios"][0]["id"]
    ids: dict[str, Any] = {"portfolio_id": pid}
    book = "/analytics/portfolio/{portfolio_id}"
    for suffix, query in (
        ("/overview", None),
        ("/correlation-matrix", {"max_symbols": 4}),
        ("/diversification-score", None),
        ("/factor-exposures", None),
        ("/positions/factor-exposures", {"limit": 2}),
        ("/risk-metrics", {"lookback_days": 90}),
        ("/stress-test", {"category": "market"}),
        ("/greeks", None),
        ("/performance", None),
        ("/forward-range", {"method": "bootstrap"}),
        ("/risk-score", None),
    ):
        w.call("GET", book + suffix, ids=ids, query=query)
    w.call("GET", "/analytics/factors/definitions")
    w.call("GET", "/analytics/model-validation")
    w.call("GET", "/data/portfolio/{portfolio_id}/complete", ids=ids)
    w.call("GET", "/data/portfolio/{portfolio_id}/data-quality", ids=ids)
    w.call("GET", "/data/positions/details", query={"portfolio_id": pid})
    w.call(
        "GET",
        "/data/prices/historical/{portfolio_id}",
        ids=ids,
        query={"lookback_days": 3, "max_symbols": 2},
    )
    w.call("GET", "/data/prices/quotes", query={"symbols": "AAPL,MSFT"})
    w.call("GET", "/data/factors/etf-prices", query={"lookback_days": 2})
    w.call("GET", "/export/portfolio/{portfolio_id}", ids=ids, query={"format": "json"})
    w.call(
        "POST",
        "/export/trades",
        json={
            "portfolio_id": pid,
            "trades": [{"symbol": "SPY", "side": "SELL_SHORT", "quantity": 100}],
        },
    )
    w.call("GET", "/management/portfolios", query={"limit": 2})
    w.call("GET", "/management/portfolios/{portfolio_id}/positions", ids=ids)
    w.call("GET", "/management/strategies")
    w.call("GET", "/management/portfolios/{portfolio_id}/transactions", ids=ids, query={"limit": 2})
    w.call("GET", "/management/tags")
    flat = w.call("GET", "/management/positions", query={"limit": 2, "group_by": "type"})
    ids["any_id"] = flat["positions"][0]["id"]
    w.call("GET", "/management/positions/{any_id}", ids=ids)

    # The advisor's own book: portfolio, positions, ledger, tags, an upload.
    own = w.call("POST", "/management/portfolios", json={"name": "Example book", "cash": 250000})
    ids["own"] = own["id"]
    w.call(
        "PUT",
        "/management/portfolios/{own}",
        ids=ids,
        json={"name": "Example book", "description": "A scratch book"},
    )
    w.call("PATCH", "/management/portfolios/{own}", ids=ids, json={"benchmark": "SPY"})
    position = w.call(
        "POST",
        "/management/portfolios/{own}/positions",
        ids=ids,
        json={"symbol": "AAPL", "quantity": 100, "entry_price": 190.5, "entry_date": "2026-06-01"},
    )
    ids["position_id"] = position["id"]
    position_path = "/management/portfolios/{own}/positions/{position_id}"
    w.call("GET", position_path, ids=ids)
    w.call(
        "PUT",
        position_path,
        ids=ids,
        json={"symbol": "AAPL", "quantity": 120, "entry_price": 190.5, "entry_date": "2026-06-01"},
    )
    w.call("PATCH", position_path, ids=ids, json={"notes": "core holding"})
    w.call("PUT", position_path + "/tags", ids=ids, json={"tags": ["core"]})
    w.call(
        "POST",
        position_path + "/close",
        ids=ids,
        json={"quantity": 20, "exit_price": 201.25, "exit_date": "2026-07-15"},
    )
    other = w.call(
        "POST",
        "/management/positions",
        json={
            "portfolio_id": ids["own"],
            "symbol": "MSFT",
            "quantity": 10,
            "entry_price": 480,
            "entry_date": "2026-06-01",
        },
    )
    ids["other"] = other["id"]
    w.call(
        "PUT",
        "/management/positions/{other}",
        ids=ids,
        json={"symbol": "MSFT", "quantity": 12, "entry_price": 480, "entry_date": "2026-06-01"},
    )
    w.call("PATCH", "/management/positions/{other}", ids=ids, json={"strategy": "Quality"})
    w.call("PUT", "/management/positions/{other}/tags", ids=ids, json={"tags": ["quality"]})
    w.call(
        "POST",
        "/management/portfolios/{own}/transactions",
        ids=ids,
        json={"kind": "deposit", "amount": 5000, "trade_date": "2026-07-20"},
    )
    tag = w.call("POST", "/management/tags", json={"name": "Income", "color": "#336699"})
    ids["tag_id"] = tag["id"]
    w.call(
        "POST",
        "/management/portfolios/upload",
        data={"mode": "validate", "file": (io.BytesIO(UPLOAD_CSV.encode()), "holdings.csv")},
        content_type="multipart/form-data",
    )

    # Calculations: queued, then run by the in-process worker.
    queued = w.call("POST", "/system/batch/portfolio/{own}", ids=ids)
    ids["job_id"] = queued["job_id"]
    w.call("GET", "/system/batch/status")
    w.run_jobs()
    w.call("GET", "/system/jobs/{job_id}", ids=ids)
    w.call("GET", "/system/jobs/{job_id}/result", ids=ids)
    w.call("GET", "/system/batch/history", query={"limit": 2})
    for step in ("greeks", "factors", "stress-tests"):
        w.call("POST", f"/system/batch/{step}", query={"portfolio_id": ids["own"]})
    w.call("POST", "/system/batch/run-all")
    cancelled = w.call("POST", "/system/batch/portfolio/{own}", ids=ids)
    w.call("POST", "/system/jobs/{job_id}/cancel", ids={"job_id": cancelled["job_id"]})
    w.call("POST", "/system/batch/market-data")
    w.run_jobs()

    # Clients, risk profile, household.
    client = w.call(
        "POST",
        "/management/clients",
        json={
            "name": "Example client",
            "email": "client@example.com",
            "portfolio_ids": [ids["own"]],
        },
    )
    ids["client_id"] = client["id"]
    w.call("GET", "/management/clients", query={"limit": 2})
    w.call("GET", "/management/clients/{client_id}", ids=ids)
    w.call("PUT", "/management/clients/{client_id}", ids=ids, json={"notes": "Retires in 2031"})
    questions = w.call("GET", "/management/clients/{client_id}/questionnaire", ids=ids)
    answers = {
        q["key"]: q["choices"][len(q["choices"]) // 2]["value"] for q in questions["questions"]
    }
    w.call(
        "POST", "/management/clients/{client_id}/questionnaire", ids=ids, json={"answers": answers}
    )
    household = w.call(
        "POST",
        "/management/households",
        json={
            "name": "Example household",
            "account_ids": [pid, ids["own"]],
            "client_id": ids["client_id"],
        },
    )
    ids["household"] = household["id"]
    w.call("GET", "/management/households", query={"limit": 2})
    w.call("GET", "/management/households/{household}", ids=ids)
    w.call("PUT", "/management/households/{household}", ids=ids, json={"name": "Example family"})

    # Alerts: a rule, a batch that raises it, the acknowledgement.
    rule = w.call(
        "POST",
        "/management/alerts/rules",
        json={"portfolio_id": pid, "kind": "single_name_pct", "threshold": 5},
    )
    ids["rule_id"] = rule["id"]
    w.call("PATCH", "/management/alerts/rules/{rule_id}", ids=ids, json={"enabled": True})
    w.call("POST", "/system/batch/portfolio/{portfolio_id}", ids=ids)
    w.run_jobs()
    w.call("GET", "/management/alerts/rules", query={"portfolio_id": pid})
    alerts = w.call("GET", "/management/alerts", query={"portfolio_id": pid, "limit": 2})
    ids["alert_id"] = alerts["alerts"][0]["id"]
    w.call("GET", "/management/alerts/{alert_id}", ids=ids)
    w.call(
        "POST",
        "/management/alerts/{alert_id}/acknowledge",
        ids=ids,
        json={"note": "Trimming next week"},
    )

    # A proposal on the demo book, and one applied to the scratch book.
    session = w.call("POST", "/modeling/sessions", json={"portfolio_id": pid, "name": "Lower beta"})
    ids["session_id"] = session["id"]
    one = "/modeling/sessions/{session_id}"
    change = w.call(
        "POST", one + "/trades", ids=ids, json={"kind": "short", "symbol": "SPY", "quantity": 500}
    )
    ids["trade_id"] = change["trade"]["id"]
    w.call(
        "PUT",
        one + "/trades/{trade_id}",
        ids=ids,
        json={"kind": "short", "symbol": "SPY", "quantity": 800},
    )
    w.call("POST", one + "/calculate", ids=ids)
    w.run_jobs()
    w.call("GET", "/modeling/sessions", query={"limit": 2})
    w.call("GET", one, ids=ids)
    w.call("GET", one + "/impacts", ids=ids)
    w.call("GET", one + "/trades", ids=ids, query={"format": "json"})
    w.call("POST", one + "/suggest", ids=ids, json={"target": "beta", "value": 1.0, "add": False})
    w.call("DELETE", one + "/trades/{trade_id}", ids=ids)
    w.call(
        "POST", one + "/trades", ids=ids, json={"kind": "short", "symbol": "SPY", "quantity": 500}
    )
    w.call("POST", one + "/save", ids=ids, json={"name": "Lower beta (copy)"})
    scratch = w.call("POST", "/modeling/sessions", json={"portfolio_id": ids["own"]})
    w.call(
        "POST",
        "/modeling/sessions/{session_id}/trades",
        ids={"session_id": scratch["id"]},
        json={"kind": "buy", "symbol": "SPY", "quantity": 10},
    )
    w.call("POST", "/modeling/sessions/{session_id}/apply", ids={"session_id": scratch["id"]})

    # Reports: a template, a schedule, a PDF built by the worker.
    template = w.call(
        "POST",
        "/export/reports/templates",
        json={
            "name": "Quarterly",
            "firm_name": "Example Advisors",
            "sections": ["holdings", "risk", "stress"],
        },
    )
    ids["template_id"] = template["template_id"]
    w.call("GET", "/export/reports/templates")
    schedule = w.call(
        "POST",
        "/export/reports/schedule",
        json={"portfolio_id": pid, "day_of_month": 1, "template_id": ids["template_id"]},
    )
    ids["schedule_id"] = schedule["schedule_id"]
    w.call("GET", "/export/reports/schedule")
    report = w.call(
        "POST",
        "/export/reports/generate",
        json={"portfolio_id": pid, "template_id": ids["template_id"]},
    )
    ids["report_id"] = report["report_id"]
    w.run_jobs()
    w.call("GET", "/export/reports", query={"limit": 2})
    w.call("GET", "/export/reports/{report_id}/status", ids=ids)
    w.call("GET", "/export/reports/{report_id}/download", ids=ids)

    # Tidy up: every delete once.
    w.call("DELETE", "/export/reports/schedule/{schedule_id}", ids=ids)
    w.call("DELETE", "/export/reports/templates/{template_id}", ids=ids)
    w.call("DELETE", one, ids=ids)
    w.call("DELETE", "/management/alerts/rules/{rule_id}", ids=ids)
    w.call("DELETE", "/management/households/{household}", ids=ids)
    w.call("DELETE", "/management/clients/{client_id}", ids=ids)
    w.call("DELETE", "/management/tags/{tag_id}", ids=ids)
    w.call("DELETE", "/management/positions/{other}", ids=ids)
    w.call("DELETE", position_path, ids=ids)
    w.call("DELETE", "/management/portfolios/{own}", ids=ids)
    w.call("GET", "/openapi.json")
    w.examples["openapi_document"]["response"] = {"openapi": "3.1.0", "info": "…", "paths": "…"}
    w.call("POST", "/auth/refresh")
    w.headers = {
        "Authorization": f"Bearer {w.examples['auth_refresh']['response']['access_token']}"
    }
    w.call("POST", "/auth/logout")
    for secret in ("auth_login", "auth_refresh"):  # tokens in a document are noise
        w.examples[secret]["response"].update(access_token="<token>", csrf_token="<csrf>")
    w.examples["auth_login"]["request"]["password"] = "<password>"


def markdown(document: dict, examples: dict[str, dict]) -> str:
    """docs/API.md: the operations by tag, each with its example."""
    lines = [
        "# SigmaSight JSON API: every operation with an example",
        "",
        "Generated by `make api-docs` (`tools/api_reference.py`) from the OpenAPI document and",
        "real answers of the demo data (the hedge-fund demo book; writes on objects of its own).",
        f"Lists keep their first {LIST_ITEMS} items, maps keyed by symbol their first {BIG_MAP}",
        "keys, and numbers are rounded to 6 digits. The schemas: `/api/v1/openapi.json`.",
        "",
    ]
    for tag in [t["name"] for t in document["tags"]]:
        ops = [
            (path, method, op)
            for path, item in document["paths"].items()
            for method, op in item.items()
            if op["tags"] == [tag]
        ]
        if not ops:
            continue
        lines += [f"## {tag}", ""]
        for path, method, op in ops:
            ex = examples[op["operationId"]]
            lines += [f"### {method.upper()} {path}", "", op["summary"] + ".", ""]
            params = [p["name"] for p in op["parameters"] if p["in"] == "query"]
            if params:
                lines += ["Query: " + ", ".join(f"`{p}`" for p in params) + ".", ""]
            request = "`" + method.upper() + " " + path + "`"
            if ex.get("query"):
                request += " with `" + "&".join(f"{k}={v}" for k, v in ex["query"].items()) + "`"
            lines += [f"Example: {request} → {ex['status']}", ""]
            if "request" in ex:
                lines += ["```json", json.dumps(ex["request"], indent=2), "```", ""]
            if "response" in ex:
                lines += ["```json", json.dumps(ex["response"], indent=2), "```", ""]
            elif "bytes" in ex:
                lines += [f"A `{ex['media']}` file of {ex['bytes']:,} bytes.", ""]
    return "\n".join(lines).rstrip() + "\n"


def readme_table(document: dict) -> str:
    """The README's list of every path: method, path, summary, a link to its example."""
    rows = ["| method | path | what | example |", "|---|---|---|---|"]
    for path, item in document["paths"].items():
        for method, op in item.items():
            anchor = re.sub(r"[^a-z0-9 _-]", "", f"{method} {path}".lower()).replace(" ", "-")
            rows.append(
                f"| {method.upper()} | `{path.removeprefix('/api/v1')}` | {op['summary']} "
                f"| [example](docs/API.md#{anchor}) |"
            )
    return "\n".join(rows)


def main() -> None:
    """Write (or, with --check, compare) docs/API.md and the README's path table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="exit 1 if the files would change")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        from webapp.embedded_redis import free_port, start_redis, stop

        port = free_port()
        redis = start_redis(port, Path(tmp) / "redis")
        try:
            os.environ["REDIS_URL"] = f"redis://127.0.0.1:{port}/0"
            document, examples = _examples(Path(tmp) / "api.db", os.environ["REDIS_URL"])
        finally:
            stop(redis)
    api_md = markdown(document, examples)
    readme = README.read_text()
    head, rest = readme.split(START, 1)
    _, tail = rest.split(END, 1)
    new_readme = f"{head}{START}\n{readme_table(document)}\n{END}{tail}"
    if args.check:
        sys.exit(int(api_md != OUT.read_text() or new_readme != readme))
    OUT.write_text(api_md)
    README.write_text(new_readme)
    print(f"wrote {OUT.relative_to(ROOT)} ({len(examples)} operations) and the README table")


def _examples(db_path: Path, redis_url: str) -> tuple[dict, dict]:
    import flask_migrate
    from sqlalchemy import select

    from webapp import create_app
    from webapp.api.apidoc import document
    from webapp.extensions import db
    from webapp.marketdata.bundled import BundledProvider
    from webapp.marketdata.sync import sync_prices
    from webapp.models import Portfolio
    from webapp.services.batch import run_portfolio_batch
    from webapp.services.demo import DEMO_PASSWORD, seed_demo

    app = create_app(
        "testing",
        SQLALCHEMY_DATABASE_URI=f"sqlite:///{db_path}",
        REDIS_URL=redis_url,
        RATELIMIT_ENABLED=False,
    )
    with app.app_context():
        flask_migrate.upgrade()
        sync_prices(BundledProvider())
        seed_demo()
        for portfolio in db.session.scalars(select(Portfolio)).all():
            run_portfolio_batch(portfolio.id)
        doc = document()
        db.session.remove()
    w = Walk(app, doc)
    walk(w, DEMO_PASSWORD)
    missing = {op["operationId"] for item in doc["paths"].values() for op in item.values()} - set(
        w.examples
    )
    if missing:
        raise SystemExit(f"no example for: {', '.join(sorted(missing))}")
    return doc, w.examples


if __name__ == "__main__":
    main()
