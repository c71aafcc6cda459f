"""Job test fixtures: an empty batch queue around each test that uses it."""

from __future__ import annotations

import pytest

from tests.security.conftest import subprocess_env
from webapp.services.queueing import get_queue


@pytest.fixture()
def clean_queue(ctx):
    get_queue().empty()
    yield
    get_queue().empty()


@pytest.fixture()
def start_worker(app, tmp_path):
    """Start real `flask worker --burst` processes on the test database and Redis.

    Each is its own process group (RQ's scheduler runs in a child process) and logs to a file
    (``proc.log_path``; a pipe nobody reads while the test polls could fill up and stall it). Any
    still running at teardown are killed with their children.
    """
    import os
    import signal
    import subprocess
    import sys
    from pathlib import Path

    root = Path(__file__).resolve().parents[2]
    flask = Path(sys.executable).parent / "flask"
    procs: list[subprocess.Popen] = []

    def start(*args: str, **env: str) -> subprocess.Popen:
        log_path = tmp_path / f"worker-{len(procs) + 1}.log"
        environment = subprocess_env(app, **env)  # BLAS is pinned by the app itself
        with open(log_path, "wb") as log:
            proc = subprocess.Popen(
                [str(flask), "--app", "wsgi", "worker", "--burst", *args],
                cwd=root,
                env=environment,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        proc.log_path = log_path
        procs.append(proc)
        return proc

    yield start
    for proc in procs:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=10)
