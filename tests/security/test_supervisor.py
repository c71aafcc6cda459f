"""`make run` restarts a crashed worker instead of stopping the whole stack."""

from __future__ import annotations

import subprocess
import sys
import time

from webapp import devserver


def _proc(seconds: float, name: str) -> tuple[subprocess.Popen, list[str]]:
    args = [sys.executable, "-c", f"import time; time.sleep({seconds})", name]
    return subprocess.Popen(args), args


def test_a_crashed_worker_is_restarted_and_the_web_server_kept(tmp_path):
    web, _ = _proc(30, "gunicorn")
    marker = tmp_path / "crashed-once"
    # Crashes on its first start (as a worker killed by a bad job), runs on the second.
    script = (
        f"import pathlib, sys, time; m = pathlib.Path({str(marker)!r})\n"
        "if not m.exists(): m.touch(); sys.exit(3)\ntime.sleep(30)"
    )
    worker_args = [sys.executable, "-c", script, "worker"]
    worker = subprocess.Popen(worker_args)
    children, restartable = [web, worker], {worker: worker_args}
    started = time.monotonic()
    stopped = []
    code = devserver.supervise(
        children,
        restartable,
        env=None,
        poll_seconds=0.05,
        stopping=lambda: time.monotonic() - started > 1.0,
        shutdown=lambda: stopped.append(True),
    )
    try:
        assert code == 0 and not stopped
        assert children[0] is web and web.poll() is None  # the web server was never touched
        assert children[1] is not worker and children[1].args == worker_args  # a new worker
    finally:
        for proc in children:
            proc.kill()


def test_a_crash_looping_worker_or_a_dead_web_server_stops_everything():
    looping, args = _proc(0, "worker")
    stopped = []
    code = devserver.supervise(
        [looping],
        {looping: args},
        env=None,
        poll_seconds=0.05,
        stopping=lambda: bool(stopped),
        shutdown=lambda: stopped.append(True),
    )
    assert code == 1 and stopped  # gave up after MAX_RESTARTS_PER_MINUTE restarts
    web, _ = _proc(0, "gunicorn")
    stopped.clear()
    code = devserver.supervise(
        [web],
        {},
        env=None,
        poll_seconds=0.05,
        stopping=lambda: bool(stopped),
        shutdown=lambda: stopped.append(True),
    )
    assert code == 1 and stopped
