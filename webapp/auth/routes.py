"""Browser login/logout (flask-login sessions)."""

from __future__ import annotations

from urllib.parse import urlsplit

from flask import flash, redirect, render_template, request, url_for
from flask_login import current_user, login_required, login_user, logout_user

from webapp.auth import bp
from webapp.auth.forms import LoginForm
from webapp.auth.limits import login_budget
from webapp.services.login_guard import AccountLocked, authenticate_guarded
from webapp.services.sessions import end_session, start_session

GENERIC_FAILURE = "Invalid email or password."


def _safe_next(target: str | None) -> str | None:
    """Only same-site relative paths: an open redirect would let a phishing link use our login."""
    if not target:
        return None
    # CR/LF would split the Location header (werkzeug refuses it: a 500); browsers drop tabs and
    # newlines and read a backslash as a slash, so "/\\evil.com" or "/\t/evil.com" leave the site.
    # Unprintable characters (controls, zero-width, bidi overrides) only hide where a link goes.
    if any(ch.isspace() or ch == "\\" or not ch.isprintable() for ch in target):
        return None
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not target.startswith("/") or target.startswith("//"):
        return None
    return target


@bp.route("/login", methods=["GET", "POST"])
@login_budget
def login():
    """The login page; on success, redirect to a same-site ``next`` or to the portfolio list."""
    if current_user.is_authenticated:
        return redirect(url_for("portfolios.index"))
    form = LoginForm()
    if form.validate_on_submit():
        try:
            user = authenticate_guarded(form.email.data, form.password.data)
        except AccountLocked as exc:
            flash(exc.message, "error")
            return (
                render_template("auth/login.html", form=form),
                429,
                {"Retry-After": str(exc.seconds)},
            )
        if user is None:
            flash(GENERIC_FAILURE, "error")
            return render_template("auth/login.html", form=form), 401
        remember = bool(form.remember.data)
        start_session(user, remember=remember, user_agent=request.user_agent.string)
        login_user(user, remember=remember)
        return redirect(_safe_next(request.args.get("next")) or url_for("portfolios.index"))
    status = 400 if request.method == "POST" else 200
    return render_template("auth/login.html", form=form), status


@bp.post("/logout")
@login_required
def logout():
    """Revoke the browser session, log out and return to the login page."""
    # Revoked server-side first: the session and remember-me cookies stop working everywhere
    # they were copied, not just in this browser.
    end_session(current_user.session_token)
    logout_user()
    flash("You have been logged out.", "info")
    return redirect(url_for("auth.login"))
