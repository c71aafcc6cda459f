"""Landing redirect and the health check."""

from __future__ import annotations

from flask import jsonify, redirect, url_for
from flask_login import current_user
from rq import Worker
from sqlalchemy import text

from webapp.extensions import csrf, db, limiter
from webapp.main import bp
from webapp.models._time import isoformat_z, utcnow
from webapp.services.queueing import get_redis


@bp.get("/")
def index():
    """Send a logged-in advisor to the portfolio list, anyone else to the login page."""
    if current_user.is_authenticated:
        return redirect(url_for("portfolios.index"))
    return redirect(url_for("auth.login"))


def _check(probe) -> dict:
    try:
        probe()
        return {"ok": True}
    except Exception as exc:  # any failure means "unreachable"; say what it was
        return {"ok": False, "error": f"{type(exc).__name__}: {exc}"[:300]}


def _workers() -> dict:
    """Live RQ workers: registered and heartbeating within their TTL (a dead one drops out)."""
    now = utcnow()
    workers = []
    for worker in Worker.all(connection=get_redis()):
        beat = worker.last_heartbeat.replace(tzinfo=None) if worker.last_heartbeat else None
        age = (now - beat).total_seconds() if beat else None
        workers.append(
            {
                "name": worker.name,
                "state": str(worker.get_state()),
                "seconds_since_heartbeat": round(age, 1) if age is not None else None,
                "alive": age is not None and age <= worker.worker_ttl,
            }
        )
    alive = sum(w["alive"] for w in workers)
    result = {"ok": alive > 0, "alive": alive, "workers": workers}
    if not alive:
        result["error"] = (
            "no worker has sent a heartbeat recently: calculations will wait "
            "until one runs (`flask --app wsgi worker`)"
        )
    return result


@bp.get("/favicon.ico")
@limiter.exempt
def favicon():
    """The icon at the path browsers try by themselves (a JSON or PDF response links none)."""
    return redirect(url_for("static", filename="icons/favicon.ico"))


@bp.get("/health")
@limiter.exempt
@csrf.exempt
def health():
    """Database, Redis and worker liveness.

    503 when the database or Redis is down (this web process cannot serve); a missing worker makes
    the status "degraded" with 200, since pages still work and queued jobs wait for a worker.
    """
    checks = {
        "database": _check(lambda: db.session.execute(text("SELECT 1"))),
        "redis": _check(lambda: get_redis().ping()),
    }
    if checks["redis"]["ok"]:
        try:
            checks["workers"] = _workers()
        except Exception as exc:  # Redis went away between the two calls
            checks["workers"] = {"ok": False, "error": f"{type(exc).__name__}: {exc}"[:300]}
    else:
        checks["workers"] = {"ok": False, "error": "unknown: Redis is unreachable"}
    serving = checks["database"]["ok"] and checks["redis"]["ok"]
    healthy = serving and checks["workers"]["ok"]
    body = {
        "status": "ok" if healthy else "degraded",
        "checks": checks,
        "time": isoformat_z(utcnow()),
    }
    return jsonify(body), 200 if serving else 503
