"""Every app process (web, worker, CLI) runs BLAS with one thread unless configured otherwise."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PROBE = """
import json, sys
from threadpoolctl import threadpool_info
from webapp import create_app
create_app("testing", SQLALCHEMY_DATABASE_URI="sqlite://")
print(json.dumps([(p["internal_api"], p["num_threads"]) for p in threadpool_info()]))
"""


def _pools(**env: str) -> list[tuple[str, int]]:
    clean = {k: v for k, v in os.environ.items() if not k.endswith("_NUM_THREADS")}
    out = subprocess.run(
        [sys.executable, "-c", PROBE],
        cwd=ROOT,
        env={**clean, **env},
        capture_output=True,
        text=True,
        check=True,
        timeout=120,
    )
    return [tuple(p) for p in json.loads(out.stdout.strip().splitlines()[-1])]


def test_the_app_pins_blas_to_one_thread():
    pools = _pools()
    assert any(api in ("openblas", "mkl", "blis") for api, _ in pools), pools
    assert all(threads == 1 for _, threads in pools), pools


@pytest.mark.skipif((os.cpu_count() or 1) < 2, reason="needs two cores to ask for two threads")
def test_blas_threads_is_configurable(app):
    from threadpoolctl import threadpool_info

    from webapp import pin_blas_threads

    app.config["BLAS_THREADS"] = 2
    try:
        pin_blas_threads(app)
        assert any(p["num_threads"] == 2 for p in threadpool_info())
    finally:
        app.config["BLAS_THREADS"] = 1
        pin_blas_threads(app)
    assert all(p["num_threads"] == 1 for p in threadpool_info())
