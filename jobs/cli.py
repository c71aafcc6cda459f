"""`flask batch run`, `flask worker`'s sibling `flask scheduler`."""

from __future__ import annotations

import importlib
import os
import socket

import click
from flask import current_app
from flask.cli import AppGroup
from redis import Redis
from rq.cron import CronScheduler

from jobs.batch import LOCK_WAIT_SECONDS
from jobs.schedule import SCHEDULE
from webapp.services.batch import run_portfolio_batch
from webapp.services.locks import BookLock
from webapp.services.queueing import QueueUnavailable, enqueue_portfolio_batch
from webapp.services.runs import all_portfolio_ids, portfolios_needing_batch

batch_cli = AppGroup("batch", help="Run the calculation batch.")


@batch_cli.command("run")
@click.option(
    "--portfolio", "portfolio_id", type=int, default=None, help="One portfolio (default: all)."
)
@click.option("--enqueue", is_flag=True, help="Queue for the workers instead of running here.")
@click.option(
    "--if-missing",
    is_flag=True,
    help="Only portfolios with no finished run for today's as-of date.",
)
def batch_run_command(portfolio_id, enqueue, if_missing):
    """Recalculate every number of one or all portfolios."""
    ids = [portfolio_id] if portfolio_id else all_portfolio_ids()
    if if_missing:
        ids = portfolios_needing_batch(ids)
    for pid in ids:
        if enqueue:
            try:
                run = enqueue_portfolio_batch(pid, trigger="cli")
            except QueueUnavailable as exc:
                raise click.ClickException(exc.message) from exc
            click.echo(f"portfolio {pid}: queued batch run {run.id} (job {run.job_id})")
            continue
        run = _run_inline(pid)
        total = sum(s["seconds"] or 0 for s in run.steps)
        click.echo(f"portfolio {pid}: run {run.id} {run.status} in {total:.2f}s")
        for s in run.steps:
            line = f"  {s['name']:<14} {s['status']:<10} {s['seconds']:.3f}s"
            click.echo(line + (f"  {s['error']}" if s["error"] else ""))
    if not ids:
        click.echo("nothing to do")


def _run_inline(portfolio_id: int):
    """The batch in this process, under the book's lock as a worker's (a batch of the same book
    running on a worker is waited for, at most ``LOCK_WAIT_SECONDS``)."""
    lock = BookLock(portfolio_id, f"`flask batch run` ({socket.gethostname()}:{os.getpid()})")

    seen: set[str] = set()

    def waiting(holder: str | None) -> bool:
        if holder is not None and holder not in seen:
            seen.add(holder)
            click.echo(f"portfolio {portfolio_id}: waiting for {holder} to finish")
        return True

    try:
        if not lock.acquire(LOCK_WAIT_SECONDS, waiting=waiting):
            raise click.ClickException(
                f"portfolio {portfolio_id}: {lock.holder() or 'another batch'} held its lock "
                f"for more than {LOCK_WAIT_SECONDS} s; nothing was run"
            )
    except QueueUnavailable as exc:
        raise click.ClickException(
            f"{exc.message} (the per-portfolio batch lock is kept in Redis)"
        ) from exc

    def progress(index: int, total: int, step: str) -> None:
        if index < total:
            lock.check()

    try:
        with lock.kept():
            return run_portfolio_batch(portfolio_id, trigger="cli", progress=progress)
    finally:
        lock.release()


@click.command("scheduler")
def scheduler_command():
    """Run RQ's cron scheduler with jobs/schedule.py (one per deployment)."""
    scheduler = CronScheduler(connection=Redis.from_url(current_app.config["REDIS_URL"]))
    for entry in SCHEDULE:
        module, name = entry["func"].rsplit(".", 1)
        func = getattr(importlib.import_module(module), name)
        scheduler.register(
            func,
            entry["queue"],
            cron=entry["cron"],
            job_timeout=entry["timeout"],
            name=entry["name"],
        )
    click.echo("scheduler: " + ", ".join(f"{e['name']} ({e['cron']} UTC)" for e in SCHEDULE))
    scheduler.start()
