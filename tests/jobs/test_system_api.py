"""The contract's system paths: per-calculation triggers, batch status, job result and cancel,
through a real Redis queue and a real worker."""

from __future__ import annotations

import pytest

from tests.api.conftest import Book, bearer, login_token
from tests.jobs.test_batch_jobs import _demo_book, run_worker_burst
from webapp.extensions import db
from webapp.models import BatchRun
from webapp.services.batch import steps_for
from webapp.services.queueing import fetch_job

pytestmark = pytest.mark.worker


@pytest.fixture()
def owner(factory, client, clean_queue):
    portfolio = _demo_book(factory)
    user = portfolio.owner
    token = login_token(client, user.email, factory.password)
    return Book(user.email, user.id, portfolio.id, bearer(token))


def test_steps_for_a_target_include_what_it_needs():
    assert [s.name for s in steps_for(("stress",))] == ["valuation", "factors", "stress"]
    assert [s.name for s in steps_for(("valuation",))] == ["valuation"]
    assert [s.name for s in steps_for(None)] == [
        "valuation",
        "snapshots",
        "factors",
        "correlations",
        "risk",
        "stress",
        "forward_range",
    ]
    assert [s.name for s in steps_for(("forward_range",))] == ["valuation", "forward_range"]
    with pytest.raises(ValueError, match="unknown batch step"):
        steps_for(("greekz",))


def test_stress_trigger_runs_only_its_steps_and_result_waits_for_the_worker(app, client, owner):
    resp = client.post(
        f"/api/v1/system/batch/stress-tests?portfolio_id={owner.portfolio_id}",
        headers=owner.headers,
    )
    assert resp.status_code == 202
    body = resp.get_json()
    (run,) = body["runs"]
    assert body["step"] == "stress" and run["status"] == "queued"
    job_id = run["job_id"]

    status = client.get("/api/v1/system/batch/status", headers=owner.headers).get_json()
    assert [r["batch_run_id"] for r in status["active"]] == [run["batch_run_id"]]
    assert status["queue"]["available"] and status["queue"]["queued_jobs"] >= 1

    early = client.get(f"/api/v1/system/jobs/{job_id}/result", headers=owner.headers)
    assert early.status_code == 409 and early.get_json()["error"]["code"] == "job_not_finished"

    proc = run_worker_burst(app)
    assert proc.returncode == 0, proc.stderr[-3000:]
    done = client.get(f"/api/v1/system/jobs/{job_id}/result", headers=owner.headers)
    assert done.status_code == 200
    result = done.get_json()
    assert result["status"] == "succeeded"
    assert [s["name"] for s in result["steps"]] == ["valuation", "factors", "stress"]
    stress = client.get(
        f"/api/v1/analytics/portfolio/{owner.portfolio_id}/stress-test", headers=owner.headers
    ).get_json()
    assert stress["available"] and stress["data"]["scenarios"]
    # Risk was not asked for: still never calculated.
    risk = client.get(
        f"/api/v1/analytics/portfolio/{owner.portfolio_id}/risk-metrics", headers=owner.headers
    ).get_json()
    assert risk["available"] is False and risk["detail"] == "no_results"
    assert (
        client.get("/api/v1/system/batch/status", headers=owner.headers).get_json()["active_count"]
        == 0
    )


def test_cancel_a_queued_job_so_it_never_runs(app, client, owner):
    run = client.post(
        f"/api/v1/system/batch/greeks?portfolio_id={owner.portfolio_id}", headers=owner.headers
    ).get_json()["runs"][0]
    job_id = run["job_id"]
    resp = client.post(f"/api/v1/system/jobs/{job_id}/cancel", headers=owner.headers)
    assert resp.status_code == 202 and resp.get_json()["status"] == "cancelled"
    proc = run_worker_burst(app)
    assert proc.returncode == 0, proc.stderr[-3000:]
    db.session.expire_all()
    stored = db.session.get(BatchRun, run["batch_run_id"])
    assert stored.status == "cancelled" and stored.steps == []  # it never started
    again = client.post(f"/api/v1/system/jobs/{job_id}/cancel", headers=owner.headers)
    assert again.status_code == 409 and again.get_json()["error"]["code"] == "job_finished"
    result = client.get(f"/api/v1/system/jobs/{job_id}/result", headers=owner.headers)
    assert result.status_code == 200 and result.get_json()["status"] == "cancelled"


def test_another_advisors_job_is_404(client, owner, factory):
    run = client.post(
        f"/api/v1/system/batch/factors?portfolio_id={owner.portfolio_id}", headers=owner.headers
    ).get_json()["runs"][0]
    other = factory.user()
    headers = bearer(login_token(client, other.email, factory.password))
    for method, path in (("get", "result"), ("post", "cancel")):
        resp = getattr(client, method)(
            f"/api/v1/system/jobs/{run['job_id']}/{path}", headers=headers
        )
        assert resp.status_code == 404
    assert (
        client.post(
            f"/api/v1/system/batch/factors?portfolio_id={owner.portfolio_id}", headers=headers
        ).status_code
        == 404
    )
    db.session.expire_all()
    assert db.session.get(BatchRun, run["batch_run_id"]).status == "queued"  # untouched


def test_market_data_trigger_queues_the_price_sync(client, owner):
    resp = client.post("/api/v1/system/batch/market-data", headers=owner.headers)
    assert resp.status_code == 202
    job_id = resp.get_json()["job_id"]
    assert fetch_job(job_id).func_name == "jobs.batch.refresh_prices"
