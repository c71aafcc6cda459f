"""What `make run` starts: embedded Redis, migrations, bundled prices, demo books, one RQ worker,
the cron scheduler and gunicorn on 127.0.0.1:$PORT (default 8000), then queues the first batch of
any portfolio that has none for the current as-of date. Ctrl-C stops every process it started.

Run as ``python -m webapp.devserver`` from the project root with the virtualenv's Python.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from webapp.embedded_redis import free_port, start_redis, stop
from webapp.services.demo import DEMO_BOOKS, DEMO_PASSWORD

ROOT = Path(__file__).resolve().parent.parent
# gunicorn: one worker per core (BLAS pinned to one thread each) and 8 threads per worker.
# Measured with bench/pages.py, 8 clients on the demo books, 2 cores: 2 x 8 gave 81-103 req/s
# (p95 125-212 ms) against 53-63 req/s for 2 x 4, 48 for 3 x 2, 41 for 4 x 1 and 82 for 2 x 16:
# requests wait on SQLite and Redis, so threads beyond 4 keep the cores busy.
WEB_THREADS = 8
MAX_RESTARTS_PER_MINUTE = 5
BIN = Path(sys.executable).parent


def _flask(*args: str, env: dict) -> None:
    """Run a `flask` CLI step, stopping the launch with its output when it fails."""
    subprocess.run([str(BIN / "flask"), "--app", "wsgi", *args], cwd=ROOT, env=env, check=True)


def main() -> int:
    """Start every process `make run` needs, supervise them and return the exit status."""
    port = int(os.environ.get("PORT", "8000"))
    env = dict(os.environ, SIGMASIGHT_ENV=os.environ.get("SIGMASIGHT_ENV", "development"))
    children: list[subprocess.Popen] = []
    stopping = False

    def shutdown(*_):
        nonlocal stopping
        if stopping:
            return
        stopping = True
        print("\nstopping SigmaSight…", flush=True)
        for proc in reversed(children):
            stop(proc)
            _kill_group(proc)  # what it started: a worker's scheduler child

    signal.signal(signal.SIGINT, shutdown)
    signal.signal(signal.SIGTERM, shutdown)
    try:
        if "REDIS_URL" not in os.environ:
            redis_port = free_port(int(os.environ.get("REDIS_PORT", "6399")))
            children.append(start_redis(redis_port, ROOT / "instance" / "redis"))
            env["REDIS_URL"] = f"redis://127.0.0.1:{redis_port}/0"
            print(f"embedded Redis on 127.0.0.1:{redis_port}", flush=True)
        _flask("setup", env=env)  # migrate, prices, demo books, their first batch queued
        restartable: dict[subprocess.Popen, list[str]] = {}
        for command in ("worker", "scheduler"):
            args = [str(BIN / "flask"), "--app", "wsgi", command]
            proc = _start_group(args, env)
            children.append(proc)
            restartable[proc] = args
        children.append(
            subprocess.Popen(
                [
                    str(BIN / "gunicorn"),
                    "--bind",
                    f"127.0.0.1:{port}",
                    "--workers",
                    os.environ.get("WEB_CONCURRENCY", "2"),
                    "--threads",
                    os.environ.get("WEB_THREADS", str(WEB_THREADS)),
                    "--access-logfile",
                    "-",
                    "wsgi:app",
                ],
                cwd=ROOT,
                env=env,
            )
        )
        _print_banner(port)
        return supervise(children, restartable, env, lambda: stopping, shutdown)
    except (subprocess.CalledProcessError, RuntimeError) as exc:
        print(f"make run failed: {exc}", file=sys.stderr, flush=True)
        shutdown()
        return 1


def supervise(
    children: list[subprocess.Popen],
    restartable: dict,
    env: dict,
    stopping,
    shutdown,
    poll_seconds: float = 0.5,
) -> int:
    """Watch the children until ``stopping()``: restart a crashed worker or scheduler (those in
    ``restartable``), stop everything when another child dies or one crash-loops."""
    restarts: dict[str, list[float]] = {}
    while not stopping():
        for index, proc in enumerate(list(children)):
            if proc.poll() is None or stopping():
                continue
            args = restartable.pop(proc, None)
            name = proc.args[-1] if isinstance(proc.args, list) else str(proc.args)
            recent = [t for t in restarts.get(name, []) if time.monotonic() - t < 60]
            if args is None or len(recent) >= MAX_RESTARTS_PER_MINUTE:
                # Redis or the web server gone, or a child crash-looping: stop everything rather
                # than serve pages whose actions cannot work.
                print(f"process {name} exited with {proc.returncode}; stopping", flush=True)
                shutdown()
                return 1
            # One bad job killing the worker must not stop the app: start a new one, after
            # whatever the dead one left (RQ's scheduler runs in a child process of the worker).
            print(f"process {name} exited with {proc.returncode}; restarting it", flush=True)
            _kill_group(proc)
            restarts[name] = recent + [time.monotonic()]
            replacement = _start_group(args, env)
            children[index] = replacement
            restartable[replacement] = args
        time.sleep(poll_seconds)
    return 0


def _start_group(args: list[str], env: dict | None) -> subprocess.Popen:
    """A child in a process group of its own, so it can be stopped with everything it started."""
    return subprocess.Popen(args, cwd=ROOT, env=env, start_new_session=True)


def _kill_group(proc: subprocess.Popen) -> None:
    """SIGTERM the group ``proc`` leads (a no-op for a child that leads none)."""
    try:
        os.killpg(proc.pid, signal.SIGTERM)
    except (ProcessLookupError, PermissionError):
        pass


def _print_banner(port: int) -> None:
    lines = [
        "",
        "  SigmaSight is running:  http://127.0.0.1:%d/" % port,
        "  Demo login:            %s / %s" % (DEMO_BOOKS[0].email, DEMO_PASSWORD),
        "  Other demo accounts:   " + ", ".join(b.email for b in DEMO_BOOKS[1:]),
        "  Stop with Ctrl-C.",
        "",
    ]
    print("\n".join(lines), flush=True)


if __name__ == "__main__":
    sys.exit(main())
