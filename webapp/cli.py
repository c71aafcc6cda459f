"""`flask` commands: users, seed-demo, setup, marketdata, worker, scheduler, batch."""

from __future__ import annotations

import click
import flask_migrate
from flask import Flask
from flask.cli import AppGroup

from jobs.cli import batch_cli, batch_run_command, scheduler_command
from jobs.worker import worker_command
from webapp.marketdata.cli import marketdata_cli, sync_command
from webapp.services.demo import DEMO_PASSWORD, seed_demo
from webapp.services.sessions import end_all_sessions
from webapp.services.users import create_user, find_user

users_cli = AppGroup("users", help="Manage advisor accounts.")


@users_cli.command("create")
@click.option("--email", prompt=True)
@click.option("--name", "full_name", default="")
@click.password_option()
def create_user_command(email, full_name, password):
    """Add an advisor who can log in through the browser form."""
    try:
        user = create_user(email, password, full_name)
    except ValueError as exc:
        raise click.ClickException(str(exc)) from exc
    click.echo(f"created advisor {user.email} (id {user.id})")


@users_cli.command("logout-everywhere")
@click.option("--email", prompt=True)
def logout_everywhere_command(email):
    """Revoke every browser session and API token of an advisor (a lost laptop, a leaked cookie)."""
    user = find_user(email)
    if user is None:
        raise click.ClickException(f"no advisor with email {email}")
    sessions, tokens = end_all_sessions(user.id)
    click.echo(f"revoked {sessions} session(s) and {tokens} API token(s) of {user.email}")


@click.command("seed-demo")
def seed_demo_command():
    """Create the three demo advisors and their books (idempotent)."""
    try:
        created = seed_demo()
    except RuntimeError as exc:
        raise click.ClickException(str(exc)) from exc
    for line in created:
        click.echo(f"created {line}")
    click.echo(f"demo data ready (password for every demo account: {DEMO_PASSWORD})")


@click.command("setup")
@click.pass_context
def setup_command(ctx):
    """Migrate, sync prices, seed the demo books and queue the missing batches (`make run`).

    One process for what were four `flask` commands: each paid the app's import (scipy,
    pandas, SQLAlchemy, Alembic: 2-8 s), most of a restart's wait.
    """
    flask_migrate.upgrade()
    ctx.invoke(sync_command)
    ctx.invoke(seed_demo_command)
    # Queued now, run by the worker once it starts: every number is there within a minute.
    ctx.invoke(batch_run_command, enqueue=True, if_missing=True)


def register(app: Flask) -> None:
    """Attach the command groups to ``app.cli``."""
    app.cli.add_command(users_cli)
    app.cli.add_command(seed_demo_command)
    app.cli.add_command(setup_command)
    app.cli.add_command(marketdata_cli)
    app.cli.add_command(worker_command)
    app.cli.add_command(scheduler_command)
    app.cli.add_command(batch_cli)
