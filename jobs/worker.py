"""`flask worker`: an RQ worker running inside the Flask app context.

The app is built once, as redash does.
"""

from __future__ import annotations

import logging
import threading

import click
from flask import current_app
from redis import Redis
from rq import Queue, SimpleWorker
from rq.worker import WorkerStatus

log = logging.getLogger(__name__)


def make_queues(redis: Redis, names=None) -> list[Queue]:
    """RQ queues named ``names`` (default: the RQ_QUEUES setting) on ``redis``."""
    names = names or current_app.config["RQ_QUEUES"]
    return [Queue(name, connection=redis) for name in names]


class HeartbeatWorker(SimpleWorker):
    """SimpleWorker that keeps heartbeating while a job runs.

    SimpleWorker executes jobs in its own process (no fork per job, so the app and its database
    engine are built once), but RQ then sets the job's heartbeat to the whole job timeout + 60 s:
    a worker killed mid-job left its run "started" for ~16 minutes. Here a thread renews the
    heartbeat every ``job_monitoring_interval`` seconds with a TTL of that plus ``worker_ttl``
    (config RQ_HEARTBEAT_INTERVAL, RQ_WORKER_TTL), as RQ's forking Worker does from its parent
    process. A job whose worker died is declared abandoned once that TTL lapses.
    """

    def get_heartbeat_ttl(self, job, working_time: float = 0.0) -> int:
        """Seconds a heartbeat stays valid: one monitoring interval plus the worker TTL."""
        return self.job_monitoring_interval + self.worker_ttl

    def execute_job(self, job, queue):
        """Run the job in this process while a thread renews its heartbeat, then go idle."""
        execution = self.prepare_execution(job)
        stop = threading.Event()

        def beat() -> None:
            while not stop.wait(self.job_monitoring_interval):
                try:
                    self.maintain_heartbeats(job, execution)
                except Exception:  # a missed beat is not worth killing the job for
                    log.warning("heartbeat for job %s failed", job.id, exc_info=True)

        thread = threading.Thread(target=beat, name=f"heartbeat-{job.id}", daemon=True)
        thread.start()
        try:
            self.perform_job(job, queue, execution)
        finally:
            stop.set()
            thread.join()
        self.set_state(WorkerStatus.IDLE)


@click.command("worker")
@click.option("--burst", is_flag=True, help="Exit when the queues are empty (tests, one-off runs).")
@click.option("--queue", "queues", multiple=True, help="Queue names (default: RQ_QUEUES).")
def worker_command(burst: bool, queues: tuple[str, ...]):
    """Run an RQ worker. Jobs execute in this process, inside the app context, so they share the
    app's DB engine instead of re-creating it per job (each job still gets its own session)."""
    redis = Redis.from_url(current_app.config["REDIS_URL"])
    worker = HeartbeatWorker(
        make_queues(redis, queues or None),
        connection=redis,
        worker_ttl=current_app.config["RQ_WORKER_TTL"],
        job_monitoring_interval=current_app.config["RQ_HEARTBEAT_INTERVAL"],
    )
    click.echo(f"worker listening on {', '.join(q.name for q in worker.queues)}")
    worker.work(burst=burst, with_scheduler=True, logging_level="INFO")
