from webapp import create_app


def test_health_serving_but_degraded_without_a_worker(client):
    """No worker runs during this test: the web serves (200) but says calculations would wait.
    The live-worker case is tests/security/test_workers.py (a real worker process)."""
    resp = client.get("/health")
    assert resp.status_code == 200
    body = resp.get_json()
    assert body["checks"]["database"]["ok"] and body["checks"]["redis"]["ok"]
    assert body["status"] == "degraded" and body["checks"]["workers"]["alive"] == 0
    assert "no worker" in body["checks"]["workers"]["error"]
    assert body["time"].endswith("Z")


def test_health_503_when_redis_is_down(app):
    broken = create_app("testing", REDIS_URL="redis://127.0.0.1:1/0")
    resp = broken.test_client().get("/health")
    assert resp.status_code == 503
    body = resp.get_json()
    assert body["checks"]["database"]["ok"] is True
    assert body["checks"]["redis"]["ok"] is False and "Error" in body["checks"]["redis"]["error"]


def test_health_503_when_database_is_down(app):
    broken = create_app("testing", SQLALCHEMY_DATABASE_URI="postgresql://nobody@127.0.0.1:1/none")
    resp = broken.test_client().get("/health")
    assert resp.status_code == 503
    assert resp.get_json()["checks"]["database"]["ok"] is False
