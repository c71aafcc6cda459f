"""`flask marketdata sync|coverage`."""

from __future__ import annotations

import datetime as dt

import click
from flask.cli import AppGroup

from webapp.marketdata.coverage import coverage_report
from webapp.marketdata.providers import get_provider
from webapp.marketdata.sync import sync_prices

marketdata_cli = AppGroup("marketdata", help="Load and inspect daily prices.")


def _date(value: str | None) -> dt.date | None:
    return dt.date.fromisoformat(value) if value else None


@marketdata_cli.command("sync")
@click.option("--provider", "provider_name", default=None, help="bundled (default), fmp, polygon")
@click.option("--symbol", "symbols", multiple=True, help="Limit to these symbols (repeatable).")
@click.option("--start", default=None, help="YYYY-MM-DD")
@click.option("--end", default=None, help="YYYY-MM-DD")
def sync_command(provider_name, symbols, start, end):
    """Fill gaps insert-only: stored bars are never overwritten, re-runs add nothing."""
    provider = get_provider(provider_name)
    report = sync_prices(provider, list(symbols) or None, _date(start), _date(end))
    touched = [s for s in report.symbols if s.inserted]
    click.echo(
        f"{report.provider}: {len(report.symbols)} symbols checked, {report.inserted} bars inserted"
        f" into {len(touched)} symbols; securities +{report.securities_inserted},"
        f" risk-free days +{report.risk_free_inserted}"
    )


@marketdata_cli.command("coverage")
@click.option("--symbol", "symbols", multiple=True)
@click.option("--gaps", is_flag=True, help="List every gap range.")
def coverage_command(symbols, gaps):
    """First/last date, trading days, gaps and completeness per symbol."""
    rows = coverage_report(list(symbols) or None)
    if not rows:
        click.echo("No price bars stored. Run `flask marketdata sync`.")
        return
    click.echo(
        f"{'symbol':<8} {'first':<10} {'last':<10} {'days':>6} {'gaps':>5} "
        f"{'complete':>9} {'stale':>6}"
    )
    for r in rows:
        click.echo(
            f"{r.symbol:<8} {r.first_date} {r.last_date} {r.trading_days:>6} {r.gap_days:>5}"
            f" {r.completeness:>8.1%} {r.stale_days:>6}"
        )
        if gaps:
            for a, b in r.gap_ranges:
                click.echo(f"{'':<8} gap {a} .. {b}")
