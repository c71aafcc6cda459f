"""Redis down: every page renders, queue actions say so in words (never a 500), no run dangles."""

from __future__ import annotations

import json
import subprocess
import sys

from sqlalchemy import select

from tests.security.conftest import ROOT, subprocess_env
from webapp.embedded_redis import free_port
from webapp.extensions import db
from webapp.models import BatchRun

MESSAGE = "calculation queue is unreachable"


def test_pages_render_and_actions_explain_themselves_with_redis_down(app, two_advisors):
    alice, _ = two_advisors
    before = set(
        db.session.scalars(select(BatchRun.id).where(BatchRun.portfolio_id == alice.portfolio_id))
    )
    dead = f"redis://127.0.0.1:{free_port()}/0"  # nothing listens there
    proc = subprocess.run(
        [
            sys.executable,
            str(ROOT / "tests/security/redis_down_probe.py"),
            alice.email,
            "correct-horse-9",
            str(alice.portfolio_id),
            str(alice.position_id),
            alice.job_id,
        ],
        cwd=ROOT,
        env=subprocess_env(app, TEST_REDIS_URL=dead, PYTHONPATH=str(ROOT)),
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    out = json.loads(proc.stdout.strip().splitlines()[-1])
    # Logging in works: the rate limiter and the lockout fail open.
    assert out["login"] == 302 and out["api_login"] == 200
    assert out["pages"] == {url: 200 for url in out["pages"]}, out["pages"]
    assert out["recalculate"]["status"] == 302 and MESSAGE in out["recalculate"]["page"]
    assert out["recalculate_htmx"]["status"] == 200 and MESSAGE in out["recalculate_htmx"]["body"]
    assert out["import_preview"]["status"] == 302 and MESSAGE in out["import_preview"]["page"]
    for key in ("api_batch", "api_job"):
        assert out[key]["status"] == 503, out[key]
        assert int(out[key]["retry_after"]) > 0  # ours (30) or the rate limiter's reset, if later
        assert out[key]["body"]["error"]["code"] == "queue_unavailable"
    assert out["api_overview"] == 200  # stored results are still served
    assert out["health"] == 503
    db.session.expire_all()
    runs = db.session.scalars(
        select(BatchRun).where(BatchRun.portfolio_id == alice.portfolio_id)
    ).all()
    assert {r.id for r in runs} == before  # no run was created for a job that could not be queued
    assert all(r.status not in ("queued", "running") for r in runs)
