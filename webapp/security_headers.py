"""Security headers on every response: CSP, framing, sniffing, referrer, HSTS and caching."""

from __future__ import annotations

from flask import Flask, Response, current_app, request

# Scripts come only from our own static files (vendored htmx and plotly.js, js/charts.js,
# js/app.js); templates carry no inline script or event handler, so no nonce is needed.
# style-src allows 'unsafe-inline' because plotly.js injects <style> rules and sets style
# attributes while drawing, htmx adds its indicator <style>, and templates size bars with style
# attributes; none of that can carry a nonce. Inline CSS cannot run code, and scripts stay strict.
# img-src allows data: because plotly.js loads data: images on every chart page (without it
# Chromium reports img-src violations from the vendored bundle).
CONTENT_SECURITY_POLICY = "; ".join(
    (
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self' 'unsafe-inline'",
        "img-src 'self' data:",
        "font-src 'self'",
        "connect-src 'self'",
        "object-src 'none'",
        "base-uri 'self'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    )
)

# The dashboard needs none of these browser features; denying them limits what injected content
# could ask for.
PERMISSIONS_POLICY = ", ".join(
    f"{feature}=()"
    for feature in (
        "accelerometer",
        "camera",
        "geolocation",
        "gyroscope",
        "magnetometer",
        "microphone",
        "payment",
        "usb",
    )
)

HEADERS = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "X-Frame-Options": "DENY",  # frame-ancestors for browsers that predate CSP level 2
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "strict-origin-when-cross-origin",
    "Permissions-Policy": PERMISSIONS_POLICY,
}


def add_security_headers(response: Response) -> Response:
    """Set the headers on ``response``; a header a view already set is left as it is."""
    for name, value in HEADERS.items():
        response.headers.setdefault(name, value)
    hsts = current_app.config.get("STRICT_TRANSPORT_SECURITY")
    if hsts:
        response.headers.setdefault("Strict-Transport-Security", hsts)
    if request.endpoint != "static":
        # Pages, partials, API answers and downloads carry one advisor's client data: no browser
        # or proxy may keep a copy (the back button after logout, a shared machine). Static files
        # keep Flask's conditional caching.
        response.headers["Cache-Control"] = "no-store"
    return response


def register(app: Flask) -> None:
    """Install the after-request hook on ``app``."""
    app.after_request(add_security_headers)
