"""SigmaSight: the app factory.

Kept light on purpose: importing ``webapp.analytics`` from a job or notebook must not build an app.
"""

from __future__ import annotations

import logging
from pathlib import Path

from flask import Flask

from webapp.config import INSTANCE_DIR, get_config


def create_app(config_name: str | None = None, **overrides) -> Flask:
    """Build the Flask app for ``config_name`` (development, testing, production)."""
    app = Flask(
        __name__,
        instance_path=str(INSTANCE_DIR),
        template_folder="../templates",
        static_folder="../static",
    )
    app.config.from_object(get_config(config_name))
    app.config.update(overrides)
    INSTANCE_DIR.mkdir(parents=True, exist_ok=True)
    # Before any route: the url map binds converters when rules are added.
    register_url_converters(app)
    register_extensions(app)
    register_blueprints(app)
    register_errorhandlers(app)
    register_security_headers(app)
    register_template_helpers(app)
    register_commands(app)
    configure_logging(app)
    pin_blas_threads(app)
    return app


def pin_blas_threads(app: Flask) -> None:
    """Limit BLAS/OpenMP to ``BLAS_THREADS`` threads (default 1) in this process.

    Web and worker processes already run in parallel (gunicorn workers × threads, N RQ
    workers); a BLAS pool per process on top oversubscribes the cores: measured on 2 cores,
    factor betas took 2.0 ms with 2 BLAS threads vs 1.41 ms with one, and two workers drained
    20 books slower than one. threadpoolctl sets the pools numpy already loaded.
    """
    import numpy  # noqa: F401  (loads BLAS, so its pool is there to limit)
    from threadpoolctl import threadpool_limits

    threadpool_limits(limits=app.config["BLAS_THREADS"])


def register_extensions(app: Flask) -> None:
    """Bind the database, migrations, CSRF, rate limiter and login manager to ``app``."""
    from webapp import (
        models,  # noqa: F401  (tables must be known to Alembic)
        static_assets,
    )
    from webapp.extensions import compress, csrf, db, limiter, login_manager, migrate

    db.init_app(app)
    migrate.init_app(
        app,
        db,
        directory=str(Path(app.root_path).parent / "migrations"),
        render_as_batch=True,  # SQLite needs batch mode to alter tables
        compare_type=True,
    )
    csrf.init_app(app)
    limiter.init_app(app)
    compress.init_app(app)
    static_assets.init_app(app)
    login_manager.init_app(app)
    login_manager.login_view = "auth.login"
    login_manager.login_message = "Please log in to see that page."
    login_manager.login_message_category = "info"
    login_manager.session_protection = "strong"

    @login_manager.user_loader
    def load_user(session_token: str):
        from webapp.services.sessions import session_user

        return session_user(session_token)


def register_blueprints(app: Flask) -> None:
    """Register the page blueprints, the API blueprint and the API's error handler."""
    from webapp.alerts import bp as alerts_bp
    from webapp.api import bp as api_bp
    from webapp.api.common import ApiError, api_error_response
    from webapp.auth import bp as auth_bp
    from webapp.clients import bp as clients_bp
    from webapp.correlations import bp as correlations_bp
    from webapp.factors import bp as factors_bp
    from webapp.main import bp as main_bp
    from webapp.methodology import bp as methodology_bp
    from webapp.modelling import bp as modelling_bp
    from webapp.onboarding import bp as imports_bp
    from webapp.overview import bp as overview_bp
    from webapp.performance import bp as performance_bp
    from webapp.portfolios import bp as portfolios_bp
    from webapp.positions import bp as positions_bp
    from webapp.prices import bp as prices_bp
    from webapp.reports import bp as reports_bp
    from webapp.risk import bp as risk_bp
    from webapp.stress import bp as stress_bp

    app.register_blueprint(main_bp)
    app.register_blueprint(auth_bp)
    app.register_blueprint(portfolios_bp)
    app.register_blueprint(imports_bp)
    app.register_blueprint(methodology_bp)
    app.register_blueprint(prices_bp)
    app.register_blueprint(clients_bp)
    app.register_blueprint(alerts_bp)
    app.register_blueprint(modelling_bp)
    app.register_blueprint(reports_bp)
    for feature_bp in (
        overview_bp,
        correlations_bp,
        factors_bp,
        risk_bp,
        stress_bp,
        performance_bp,
        positions_bp,
    ):
        app.register_blueprint(feature_bp)
    app.register_error_handler(ApiError, api_error_response)
    app.register_blueprint(api_bp)


def register_url_converters(app: Flask) -> None:
    """Install the bounded ``int`` URL converter."""
    from webapp.converters import register

    register(app)


def register_errorhandlers(app: Flask) -> None:
    """Install the HTML and JSON error handlers."""
    from webapp.errors import register

    register(app)


def register_security_headers(app: Flask) -> None:
    """Add the security headers to every response."""
    from webapp.security_headers import register

    register(app)


def register_template_helpers(app: Flask) -> None:
    """Install the Jinja filters (numbers, dates, plain-language readings) and globals."""
    from webapp import formatting, readings
    from webapp.services.freshness import price_freshness

    formatting.register(app)
    readings.register(app)
    # A callable, so only pages that render the banner pay for the query.
    app.jinja_env.globals["price_freshness"] = price_freshness


def register_commands(app: Flask) -> None:
    """Attach the ``flask`` CLI commands."""
    from webapp.cli import register

    register(app)


def configure_logging(app: Flask) -> None:
    """Log INFO and above to stderr, except in debug and testing."""
    if not app.debug and not app.testing:
        logging.basicConfig(
            level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
        )
