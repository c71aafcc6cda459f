"""The migrations build the schema, and the models agree with it (autogenerate finds nothing)."""
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import inspect

from webapp.extensions import db


def test_models_and_migrations_agree(ctx):
    with db.engine.connect() as conn:
        mc = MigrationContext.configure(conn, opts={"compare_type": True})
        diff = compare_metadata(mc, db.metadata)
    assert diff == []


def test_schema_has_every_table(ctx):
    tables = set(inspect(db.engine).get_table_names())
    expected = {
        "users", "api_tokens", "portfolios", "positions", "tags", "position_tags", "securities",
        "price_bars", "risk_free_rates", "factor_definitions", "analytics_results",
        "portfolio_snapshots", "batch_runs", "alembic_version",
    }
    assert expected <= tables


def test_price_bars_unique_per_symbol_and_date(ctx):
    uniques = inspect(db.engine).get_unique_constraints("price_bars")
    assert any(u["column_names"] == ["symbol", "date"] for u in uniques)
