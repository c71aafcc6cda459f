"""Error handlers: HTML pages for the browser, the one JSON error shape for /api and HTMX."""
from __future__ import annotations

from flask import Flask, current_app, flash, jsonify, redirect, render_template, request, url_for
from werkzeug.exceptions import HTTPException

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
    return best == "application/json" and request.accept_mimetypes[best] > request.accept_mimetypes[
        "text/html"
    ]


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
    return render_template("error.html", status=status, message=message, name=exc.name), status, headers


def register(app: Flask) -> None:
    """Install the handlers on ``app``."""
    app.register_error_handler(HTTPException, _handle_http)
