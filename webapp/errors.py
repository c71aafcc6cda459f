"""Error handlers: HTML pages for the browser, the one JSON error shape for /api and HTMX."""

from __future__ import annotations

from flask import Flask, current_app, flash, jsonify, redirect, render_template, request, url_for
from redis.exceptions import RedisError
from werkzeug.exceptions import HTTPException, NotFound

from webapp.services.portfolios import NotOwned
from webapp.services.queueing import QueueUnavailable

ERROR_CODES = {
    400: "bad_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    409: "conflict",
    413: "payload_too_large",
    422: "validation_error",
    429: "rate_limited",
    500: "internal_error",
    503: "service_unavailable",
}


def error_body(status: int, message: str, details: object = None, code: str | None = None) -> dict:
    """``{"error": {"code", "message", "details"}}`` — the API's single error shape."""
    return {
        "error": {
            "code": code or ERROR_CODES.get(status, "error"),
            "message": message,
            "details": details if details is not None else {},
        }
    }


def wants_json() -> bool:
    """API paths and clients that ask for JSON get the JSON error shape."""
    if request.path.startswith("/api/"):
        return True
    best = request.accept_mimetypes.best_match(["application/json", "text/html"])
    return (
        best == "application/json"
        and request.accept_mimetypes[best] > request.accept_mimetypes["text/html"]
    )


def _handle_http(exc: HTTPException):
    status = exc.code or 500
    message = exc.description or exc.name
    # Keep what the exception says in headers (Allow on 405, Retry-After on 429, …).
    headers = [(k, v) for k, v in exc.get_headers() if k.lower() != "content-type"]
    if exc.response is not None:
        headers += [(k, v) for k, v in exc.response.headers.items() if k.lower() == "retry-after"]
    if status == 413 and not wants_json() and request.blueprint == "imports":
        # An oversized upload goes back to the upload form with the limit, not to an error page.
        limit = current_app.config["IMPORT_MAX_BYTES"] / 1024 / 1024
        flash(f"That file is too large: holdings files are limited to {limit:g} MB.", "error")
        return redirect(url_for("imports.upload"))
    if wants_json():
        response = jsonify(error_body(status, message))
        response.status_code = status
        response.headers.extend(headers)
        return response
    return (
        render_template("error.html", status=status, message=message, name=exc.name),
        status,
        headers,
    )


def _handle_queue_down(exc: Exception):
    """Redis down: a clear message where the action was asked for, never a 500.

    API: 503 in the error shape with Retry-After. HTMX: the message as a fragment (HTMX swaps
    only 2xx). A form post: flash and back to the page it came from.
    """
    if not isinstance(exc, QueueUnavailable):
        current_app.logger.warning("Redis unreachable: %s", exc)
        exc = QueueUnavailable()
    headers = {"Retry-After": str(exc.retry_after)}
    if wants_json():
        response = jsonify(
            error_body(503, exc.message, {"retry_after": exc.retry_after}, "queue_unavailable")
        )
        response.status_code = 503
        response.headers.update(headers)
        return response
    if request.headers.get("HX-Request") == "true":
        return render_template("_alert.html", category="error", message=exc.message), 200, headers
    if request.method == "POST":
        flash(exc.message, "error")
        return redirect(_same_site_referrer() or url_for("portfolios.index"))
    return (
        render_template("error.html", status=503, message=exc.message, name="Service unavailable"),
        503,
        headers,
    )


def _same_site_referrer() -> str | None:
    referrer = request.referrer or ""
    host = request.host_url
    return referrer if referrer.startswith(host) else None


def register(app: Flask) -> None:
    """Install the handlers on ``app``."""
    app.register_error_handler(HTTPException, _handle_http)
    # Another advisor's record is indistinguishable from a missing one.
    app.register_error_handler(NotOwned, lambda exc: _handle_http(NotFound(str(exc))))
    app.register_error_handler(QueueUnavailable, _handle_queue_down)
    app.register_error_handler(RedisError, _handle_queue_down)
