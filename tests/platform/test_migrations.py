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
        "users",
        "api_tokens",
        "portfolios",
        "positions",
        "tags",
        "position_tags",
        "securities",
        "price_bars",
        "risk_free_rates",
        "factor_definitions",
        "analytics_results",
        "portfolio_snapshots",
        "batch_runs",
        "transactions",
        "clients",
        "risk_profiles",
        "households",
        "household_accounts",
        "alert_rules",
        "alerts",
        "alert_events",
        "modelling_sessions",
        "proposed_trades",
        "reports",
        "report_templates",
        "report_schedules",
        "alembic_version",
    }
    assert expected <= tables


def test_price_bars_unique_per_symbol_and_date(ctx):
    uniques = inspect(db.engine).get_unique_constraints("price_bars")
    assert any(u["column_names"] == ["symbol", "date"] for u in uniques)


def test_upgrade_to_0002_keeps_rows_drops_orphans_and_stops_id_reuse(ctx, tmp_path):
    """An embedded install made before 0002 keeps its data; what the missing foreign keys let
    through (results of a deleted portfolio) goes; a deleted newest id is never handed out again."""
    import flask_migrate
    import pytest
    from sqlalchemy import text as sql

    from webapp import create_app

    if db.engine.dialect.name != "sqlite":
        pytest.skip("the rebuild is SQLite-only")
    app = create_app("testing", SQLALCHEMY_DATABASE_URI=f"sqlite:///{tmp_path / 'old.db'}")
    with app.app_context():
        flask_migrate.upgrade(revision="0001_initial")
        with db.engine.begin() as conn:
            conn.execute(sql("PRAGMA foreign_keys=OFF"))
            conn.execute(
                sql(
                    "INSERT INTO users (id, email, full_name, password_hash, active, created_at)"
                    " VALUES (1, 'a@example.com', '', 'x', 1, '2026-01-01')"
                )
            )
            conn.execute(
                sql(
                    "INSERT INTO portfolios (id, user_id, name, description, cash, created_at,"
                    " updated_at) VALUES (1, 1, 'kept', '', 0, '2026-01-01', '2026-01-01'),"
                    " (2, 1, 'newest', '', 0, '2026-01-01', '2026-01-01')"
                )
            )
            for pid in (1, 9):  # 9: a portfolio deleted without its results
                conn.execute(
                    sql(
                        "INSERT INTO analytics_results (portfolio_id, kind, params_key, params,"
                        " as_of_date, calculated_at, payload) VALUES"
                        f" ({pid}, 'overview', '', '{{}}', '2026-08-03', '2026-08-03', '{{}}')"
                    )
                )
        flask_migrate.upgrade()
        with db.engine.begin() as conn:
            assert conn.execute(
                sql("SELECT portfolio_id FROM analytics_results")
            ).scalars().all() == [1]
            conn.execute(sql("DELETE FROM portfolios WHERE id = 2"))
            conn.execute(
                sql(
                    "INSERT INTO portfolios (user_id, name, description, cash, created_at,"
                    " updated_at) VALUES (1, 'next', '', 0, '2026-01-01', '2026-01-01')"
                )
            )
            assert conn.execute(sql("SELECT id FROM portfolios WHERE name = 'next'")).scalar() == 3
        db.session.remove()
        db.engine.dispose()


def test_upgrade_to_0003_backfills_a_ledger_that_sums_to_cash_and_downgrades(ctx, tmp_path):
    """Every position becomes its opening (and closing) transaction with zero-sum funding flows,
    plus one deposit of the cash: Σ amount == cash afterwards; downgrade drops it all."""
    import flask_migrate
    import pytest
    from sqlalchemy import text as sql

    from webapp import create_app

    if db.engine.dialect.name != "sqlite":
        pytest.skip("the temporary database is a SQLite file")
    app = create_app("testing", SQLALCHEMY_DATABASE_URI=f"sqlite:///{tmp_path / 'old.db'}")
    with app.app_context():
        flask_migrate.upgrade(revision="0002_ids_sessions")
        with db.engine.begin() as conn:
            conn.execute(
                sql(
                    "INSERT INTO users (id, email, full_name, password_hash, active, created_at)"
                    " VALUES (1, 'a@example.com', '', 'x', 1, '2026-01-01')"
                )
            )
            conn.execute(
                sql(
                    "INSERT INTO portfolios (id, user_id, name, description, cash, created_at,"
                    " updated_at) VALUES (1, 1, 'book', '', 500, '2026-01-01', '2026-01-01'),"
                    " (2, 1, 'empty', '', 70, '2026-02-03 10:00:00', '2026-02-03')"
                )
            )
            conn.execute(
                sql(
                    "INSERT INTO positions (portfolio_id, symbol, position_type, quantity,"
                    " entry_price, entry_date, exit_date, exit_price, multiplier, notes,"
                    " created_at, updated_at) VALUES"
                    " (1, 'AAPL', 'LONG', 10, 100, '2025-01-03', NULL, NULL, 1, '', '2026-01-01',"
                    " '2026-01-01'),"
                    " (1, 'MSFT', 'SHORT', -5, 200, '2025-01-02', NULL, NULL, 1, '', '2026-01-01',"
                    " '2026-01-01'),"
                    " (1, 'TSLA', 'LONG', 10, 50, '2025-02-03', '2025-03-03', 60, 1, '',"
                    " '2026-01-01', '2026-01-01')"
                )
            )
        flask_migrate.upgrade()
        with db.engine.begin() as conn:
            rows = conn.execute(
                sql(
                    "SELECT portfolio_id, trade_date, kind, symbol, quantity, amount,"
                    " realized_pnl, is_flow, source FROM transactions ORDER BY id"
                )
            ).all()
            sums = dict(
                conn.execute(
                    sql("SELECT portfolio_id, SUM(amount) FROM transactions GROUP BY portfolio_id")
                ).all()
            )
            benchmarks = conn.execute(sql("SELECT benchmark FROM portfolios")).scalars().all()
        assert sums == {1: 500.0, 2: 70.0}
        assert benchmarks == ["SPY", "SPY"]
        assert {r.source for r in rows} == {"migration"}
        book = [(str(r.trade_date), r.kind, r.symbol, r.amount, r.realized_pnl) for r in rows]
        assert book == [
            ("2025-01-02", "deposit", None, 500.0, None),  # the cash, on the earliest entry
            ("2025-01-03", "buy", "AAPL", -1000.0, None),
            ("2025-01-03", "deposit", None, 1000.0, None),
            ("2025-01-02", "short", "MSFT", 1000.0, None),
            ("2025-01-02", "withdrawal", None, -1000.0, None),
            ("2025-02-03", "buy", "TSLA", -500.0, None),
            ("2025-02-03", "deposit", None, 500.0, None),
            ("2025-03-03", "sell", "TSLA", 600.0, 100.0),  # (60 − 50) × 10
            ("2025-03-03", "withdrawal", None, -600.0, None),
            ("2026-02-03", "deposit", None, 70.0, None),  # no positions: the created_at date
        ]
        assert [r.is_flow for r in rows] == [r.kind in ("deposit", "withdrawal") for r in rows]
        flask_migrate.downgrade(revision="0002_ids_sessions")
        inspector = inspect(db.engine)
        assert "transactions" not in inspector.get_table_names()
        assert {"benchmark", "inception_date"}.isdisjoint(
            c["name"] for c in inspector.get_columns("portfolios")
        )
        db.session.remove()
        db.engine.dispose()
