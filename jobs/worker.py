"""`flask worker`: an RQ worker running inside the Flask app context (built once, as redash does)."""
from __future__ import annotations

import click
from flask import current_app
from redis import Redis
from rq import Queue, SimpleWorker


def make_queues(redis: Redis, names=None) -> list[Queue]:
    names = names or current_app.config["RQ_QUEUES"]
    return [Queue(name, connection=redis) for name in names]


@click.command("worker")
@click.option("--burst", is_flag=True, help="Exit when the queues are empty (tests, one-off runs).")
@click.option("--queue", "queues", multiple=True, help="Queue names (default: RQ_QUEUES).")
def worker_command(burst: bool, queues: tuple[str, ...]):
    """Run an RQ worker. SimpleWorker executes jobs in this process, inside the app context,
    so jobs share the app's DB engine instead of re-creating it after a fork per job."""
    redis = Redis.from_url(current_app.config["REDIS_URL"])
    worker = SimpleWorker(make_queues(redis, queues or None), connection=redis)
    click.echo(f"worker listening on {', '.join(q.name for q in worker.queues)}")
    worker.work(burst=burst, with_scheduler=True, logging_level="INFO")
