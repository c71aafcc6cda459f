"""Run by test_redis_down.py in its own process: the app with Redis unreachable.

Its own process because the limiter and CSRF extensions are module-level singletons: an app
built here with a dead Redis must not re-point the suite's app. Prints one JSON object.
"""

from __future__ import annotations

import io
import json
import sys

from webapp import create_app


def main(email: str, password: str, portfolio_id: int, position_id: int, job_id: str) -> dict:
    app = create_app("testing")
    out: dict = {"pages": {}}
    client = app.test_client()
    out["login"] = client.post("/login", data={"email": email, "password": password}).status_code
    base = f"/portfolios/{portfolio_id}"
    for url in (
        "/portfolios/",
        base,
        f"{base}/overview",
        f"{base}/correlations",
        f"{base}/factors",
        f"{base}/risk",
        f"{base}/stress",
        f"{base}/performance",
        f"{base}/jobs",
        f"{base}/positions/{position_id}",
        f"{base}/edit",
        "/imports/new",
        "/portfolios/new",
        "/portfolios/tags",
    ):
        out["pages"][url] = client.get(url).status_code
    resp = client.post(f"{base}/recalculate", headers={"Referer": f"http://localhost{base}"})
    out["recalculate"] = {"status": resp.status_code, "location": resp.headers.get("Location")}
    follow = client.get(resp.headers["Location"]) if resp.status_code == 302 else resp
    out["recalculate"]["page"] = follow.get_data(as_text=True)
    resp = client.post(f"{base}/recalculate", headers={"HX-Request": "true"})
    out["recalculate_htmx"] = {"status": resp.status_code, "body": resp.get_data(as_text=True)}
    upload = {
        "file": (
            io.BytesIO(b"ticker,quantity,entry_price,entry_date\nAAPL,10,150,2024-01-02\n"),
            "h.csv",
        ),
        "name": "Imported while Redis is down",
        "description": "",
        "cash": "0",
    }
    resp = client.post(
        "/imports/new",
        data=upload,
        content_type="multipart/form-data",
        headers={"Referer": "http://localhost/imports/new"},
    )
    follow = client.get(resp.headers["Location"]) if resp.status_code == 302 else resp
    out["import_preview"] = {"status": resp.status_code, "page": follow.get_data(as_text=True)}
    token_resp = client.post("/api/v1/auth/login", json={"email": email, "password": password})
    out["api_login"] = token_resp.status_code
    headers = {"Authorization": f"Bearer {token_resp.get_json()['access_token']}"}
    resp = client.post(f"/api/v1/system/batch/portfolio/{portfolio_id}", headers=headers)
    out["api_batch"] = {
        "status": resp.status_code,
        "retry_after": resp.headers.get("Retry-After"),
        "body": resp.get_json(),
    }
    resp = client.get(f"/api/v1/system/jobs/{job_id}", headers=headers)
    out["api_job"] = {
        "status": resp.status_code,
        "retry_after": resp.headers.get("Retry-After"),
        "body": resp.get_json(),
    }
    resp = client.get(f"/api/v1/analytics/portfolio/{portfolio_id}/overview", headers=headers)
    out["api_overview"] = resp.status_code
    out["health"] = client.get("/health").status_code
    return out


if __name__ == "__main__":
    email, password, pid, pos, job = sys.argv[1:6]
    print(json.dumps(main(email, password, int(pid), int(pos), job)))
