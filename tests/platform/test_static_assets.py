"""Static files: fingerprinted names served immutable, compressed when asked."""

from __future__ import annotations

import gzip
import hashlib
import re
from pathlib import Path

import brotli

STATIC = Path(__file__).resolve().parents[2] / "static"


def _links(html: str) -> list[str]:
    return re.findall(r'(?:src|href)="(/static/[^"]+)"', html)


def test_pages_link_fingerprinted_names_served_immutable(client, auth, factory):
    user = factory.user()
    auth.login(user.email)
    html = client.get("/portfolios/").get_data(as_text=True)
    css = next(u for u in _links(html) if "/css/app." in u)
    digest = hashlib.sha256((STATIC / "css" / "app.css").read_bytes()).hexdigest()[:12]
    assert css == f"/static/css/app.{digest}.css"
    resp = client.get(css)
    assert resp.status_code == 200
    cache = resp.headers["Cache-Control"]
    assert "immutable" in cache and "max-age=31536000" in cache and "public" in cache
    assert resp.get_data() == (STATIC / "css" / "app.css").read_bytes()


def test_plain_and_stale_names_revalidate_never_404(client):
    plain = client.get("/static/css/app.css")
    assert plain.status_code == 200 and "immutable" not in plain.headers.get("Cache-Control", "")
    stale = client.get("/static/css/app.000000000000.css")
    assert stale.status_code == 200 and "immutable" not in stale.headers.get("Cache-Control", "")
    assert stale.get_data() == plain.get_data()
    assert client.get("/static/css/nope.0123456789ab.css").status_code == 404


def test_plotly_is_sent_compressed(client, app):
    with app.test_request_context():
        from flask import url_for

        url = url_for("static", filename="vendor/plotly-3.7.0.min.js")
    raw = (STATIC / "vendor" / "plotly-3.7.0.min.js").read_bytes()
    for encoding, decode in (("br", brotli.decompress), ("gzip", gzip.decompress)):
        resp = client.get(url, headers={"Accept-Encoding": encoding})
        assert resp.headers["Content-Encoding"] == encoding
        body = resp.get_data()
        assert decode(body) == raw and len(body) < len(raw) / 3
