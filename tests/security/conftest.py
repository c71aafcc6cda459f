"""Two advisors with a calculated book each, for the tenant-isolation and session tests."""

from __future__ import annotations

import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


@dataclass
class Advisor:
    email: str
    user_id: int
    portfolio_id: int
    position_id: int
    tag_id: int
    run_id: int
    job_id: str
    client_id: int
    rule_id: int
    alert_id: int
    session_id: int
    trade_id: int
    report_id: int
    template_id: int
    schedule_id: int


def _advisor(factory, name: str) -> Advisor:
    from webapp.extensions import db
    from webapp.models import Alert, AlertRule, Client, Report, Tag
    from webapp.services import modelling, reports
    from webapp.services.batch import run_portfolio_batch

    user = factory.user()
    portfolio = factory.portfolio(
        user,
        positions=[
            dict(symbol="AAPL", quantity=100, entry_price=150.0),
            dict(symbol="MSFT", quantity=40, entry_price=300.0),
        ],
        name=f"{name} book {user.id}",
    )
    tag = Tag(user_id=user.id, name=f"{name}-tag")
    portfolio.positions[0].tags.append(tag)
    db.session.commit()
    run = run_portfolio_batch(portfolio.id, trigger="test")
    assert run.status == "succeeded", run.steps
    run.job_id = f"batch-{run.id}-test"
    client = Client(user_id=user.id, name=f"{name} client")
    rule = AlertRule(user_id=user.id, portfolio_id=portfolio.id, kind="var_pct", threshold=0.1)
    db.session.add_all([client, rule])
    db.session.flush()
    portfolio.client_id = client.id
    alert = Alert(rule_id=rule.id, portfolio_id=portfolio.id, key="var_pct", message="VaR high")
    db.session.add(alert)
    db.session.commit()
    session = modelling.start_session(portfolio, f"{name} what-if")
    trade = modelling.add_trade(session, {"kind": "buy", "symbol": "NVDA", "quantity": 5})
    template = reports.create_template(user.id, {"name": f"{name} template"})
    schedule = reports.create_schedule(user.id, portfolio, {"day_of_month": 1})
    report = Report(user_id=user.id, portfolio_id=portfolio.id, status="succeeded", pdf=b"%PDF-")
    db.session.add(report)
    db.session.commit()
    return Advisor(
        user.email,
        user.id,
        portfolio.id,
        portfolio.positions[0].id,
        tag.id,
        run.id,
        run.job_id,
        client.id,
        rule.id,
        alert.id,
        session.id,
        trade.id,
        report.id,
        template.id,
        schedule.id,
    )


@pytest.fixture()
def two_advisors(factory):
    """(alice, bob): separate users, each with a portfolio, a position, a tag, a finished run, a
    client, an alert rule and alert, a modelling session with one proposed trade, and a report,
    a report template and a report schedule."""
    return _advisor(factory, "alice"), _advisor(factory, "bob")


def subprocess_env(app, **extra) -> dict:
    """The environment for a process on this session's database and Redis (``extra`` wins)."""
    env = dict(
        os.environ,
        SIGMASIGHT_ENV="testing",
        TEST_DATABASE_URL=app.config["SQLALCHEMY_DATABASE_URI"],
        TEST_REDIS_URL=app.config["REDIS_URL"],
        PYTHONUNBUFFERED="1",
    )
    env.update(extra)
    return env


def start_worker(app, *, burst: bool, **env) -> subprocess.Popen:
    """A real `flask worker` process on this session's database and Redis."""
    flask = Path(sys.executable).parent / "flask"
    args = [str(flask), "--app", "wsgi", "worker"] + (["--burst"] if burst else [])
    # Its own process group: RQ's scheduler runs in a child process, which must die with it.
    return subprocess.Popen(
        args,
        cwd=ROOT,
        env=subprocess_env(app, **env),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )
