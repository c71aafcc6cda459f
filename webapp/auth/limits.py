"""One login budget per client address, shared by the browser form and POST /api/v1/auth/login.

Separate budgets would double the guesses an address gets; the per-account lockout lives in
services.login_guard.
"""

from flask import current_app

from webapp.extensions import limiter

LOGIN_BUDGET_MESSAGE = (
    "Too many login attempts from your network address. Wait a minute, then try again."
)

login_budget = limiter.shared_limit(
    lambda: current_app.config["LOGIN_RATE_LIMIT"],
    scope="login",
    methods=["POST"],
    error_message=LOGIN_BUDGET_MESSAGE,
)
