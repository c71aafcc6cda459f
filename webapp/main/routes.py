"""Landing redirect and the health check."""
from __future__ import annotations

from flask import jsonify, redirect, url_for
from flask_login import current_user
from sqlalchemy import text

from webapp.extensions import csrf, db, limiter
from webapp.main import bp
from webapp.models._time import isoformat_z, utcnow
from webapp.queueing import get_redis


@bp.get("/")
def index():
    if current_user.is_authenticated:
        return redirect(url_for("portfolios.index"))
    return redirect(url_for("auth.login"))


def _check(probe) -> dict:
    try:
        probe()
        return {"ok": True}
    except Exception as exc:  # any failure means "unreachable"; say what it was
        return {"ok": False, "error": f"{type(exc).__name__}: {exc}"[:300]}


@bp.get("/health")
@limiter.exempt
@csrf.exempt
def health():
    """Database and Redis reachability; 503 when either is down."""
    checks = {
        "database": _check(lambda: db.session.execute(text("SELECT 1"))),
        "redis": _check(lambda: get_redis().ping()),
    }
    healthy = all(c["ok"] for c in checks.values())
    body = {"status": "ok" if healthy else "degraded", "checks": checks, "time": isoformat_z(utcnow())}
    return jsonify(body), 200 if healthy else 503
