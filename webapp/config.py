"""Configuration classes. The only module that reads ``os.environ``."""

from __future__ import annotations

import os
import secrets
from pathlib import Path

from webapp import json_codec

BASE_DIR = Path(__file__).resolve().parent.parent
INSTANCE_DIR = BASE_DIR / "instance"


def _env_int(name: str, default: int) -> int:
    value = os.environ.get(name)
    return int(value) if value else default


def instance_secret(path: Path | None = None) -> str:
    """A random secret made on first start and kept under instance/ (mode 0600).

    Every embedded install signs its sessions with its own key; a constant would let anyone who
    read this code forge a session or remember-me cookie for any user.
    """
    path = path or INSTANCE_DIR / "secret_key"
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return path.read_text().strip()
    with os.fdopen(fd, "w") as fh:  # O_EXCL: two processes starting at once agree on one key
        fh.write(secrets.token_hex(32))
    return path.read_text().strip()


class Config:
    """Settings shared by every run mode."""

    SQLALCHEMY_TRACK_MODIFICATIONS = False
    # Threads per process for BLAS/OpenMP (numpy, scipy): processes are the unit of parallelism.
    BLAS_THREADS = int(os.environ.get("BLAS_THREADS", "1"))
    # orjson for JSON columns: stored results are encoded in one native pass (NaN as null).
    SQLALCHEMY_ENGINE_OPTIONS = {
        "pool_pre_ping": True,
        "json_serializer": json_codec.dumps,
        "json_deserializer": json_codec.loads,
    }
    WTF_CSRF_TIME_LIMIT = None  # a token lives as long as the session
    SESSION_COOKIE_HTTPONLY = True
    SESSION_COOKIE_SAMESITE = "Lax"
    REMEMBER_COOKIE_HTTPONLY = True
    REMEMBER_COOKIE_SAMESITE = "Lax"
    REMEMBER_COOKIE_DURATION = 14 * 24 * 3600
    SESSION_LIFETIME = 12 * 3600  # seconds a login without "keep me signed in" lasts
    RATELIMIT_STORAGE_URI = "memory://"
    RATELIMIT_HEADERS_ENABLED = True
    # Storage down must not take logins down with it: the limiter logs the error and falls back
    # to per-process memory until Redis answers again (fail open, with a warning).
    RATELIMIT_SWALLOW_ERRORS = True
    RATELIMIT_IN_MEMORY_FALLBACK_ENABLED = True
    RATELIMIT_STORAGE_OPTIONS = {"socket_connect_timeout": 1, "socket_timeout": 1}
    LOGIN_MAX_FAILURES = 5  # per account, then a lockout that doubles with each further failure
    LOGIN_LOCKOUT_SECONDS = 30
    LOGIN_LOCKOUT_MAX_SECONDS = 15 * 60
    LOGIN_RATE_LIMIT = os.environ.get("LOGIN_RATE_LIMIT", "10 per minute")
    API_RATE_LIMIT = os.environ.get("API_RATE_LIMIT", "100 per minute")
    RQ_QUEUES = ("default",)
    # Worker liveness: heartbeat every RQ_HEARTBEAT_INTERVAL s; a worker (or its job) silent for
    # longer than RQ_WORKER_TTL s is dead, and its run is shown as failed.
    RQ_WORKER_TTL = _env_int("RQ_WORKER_TTL", 60)
    RQ_HEARTBEAT_INTERVAL = _env_int("RQ_HEARTBEAT_INTERVAL", 10)
    MARKETDATA_PROVIDER = os.environ.get("MARKETDATA_PROVIDER", "bundled")
    FMP_API_KEY = os.environ.get("FMP_API_KEY")
    POLYGON_API_KEY = os.environ.get("POLYGON_API_KEY")
    # The banner says the prices are old once the newest bar is this many weekdays behind today.
    PRICES_STALE_AFTER_TRADING_DAYS = _env_int("PRICES_STALE_AFTER_TRADING_DAYS", 3)
    IMPORT_MAX_BYTES = 5 * 1024 * 1024  # holdings files above this are refused with a clear message
    IMPORT_MAX_ROWS = 20_000
    MAX_CONTENT_LENGTH = (
        6 * 1024 * 1024
    )  # requests larger than a maximal file plus form fields: 413
    AUTO_BATCH_ON_START = False
    # SQLite: how long a writer waits for another's lock before "database is locked"; long
    # enough for a 20,000-row import ahead of it (webapp/services/transactions.py).
    SQLITE_BUSY_TIMEOUT_MS = _env_int("SQLITE_BUSY_TIMEOUT_MS", 30_000)
    # Responses compressed when the client accepts it (brotli, else gzip): HTML pages and
    # partials, JSON (the /data payloads), CSS/JS; images and downloads are left as they are.
    COMPRESS_ALGORITHM = ["br", "gzip"]
    COMPRESS_ALGORITHM_STREAMING = ["br", "gzip"]  # static files and streamed CSV downloads
    COMPRESS_MIMETYPES = [
        "text/html",
        "text/css",
        "text/csv",
        "application/json",
        "application/javascript",
        "text/javascript",
    ]
    COMPRESS_MIN_SIZE = 1024
    # Stress model (README "Methodology"): how factor-scenario moves are shrunk ("blume" or
    # "none") and the weight of the stress-day factor covariance (0 = calm window only).
    STRESS_SHRINKAGE = os.environ.get("STRESS_SHRINKAGE", "blume")
    STRESS_COVARIANCE_BLEND = float(os.environ.get("STRESS_COVARIANCE_BLEND", "0.25"))


class DevelopmentConfig(Config):
    """Embedded defaults: SQLite under instance/, Redis started by `make run`."""

    DEBUG = False
    SQLALCHEMY_DATABASE_URI = os.environ.get(
        "DATABASE_URL", f"sqlite:///{INSTANCE_DIR / 'sigmasight.db'}"
    )
    REDIS_URL = os.environ.get("REDIS_URL", "redis://127.0.0.1:6399/0")

    def __init__(self) -> None:
        self.SECRET_KEY = os.environ.get("SECRET_KEY") or instance_secret()
        self.RATELIMIT_STORAGE_URI = os.environ.get("RATELIMIT_STORAGE_URI", self.REDIS_URL)


class TestingConfig(Config):
    """SQLite in a temp file by default; TEST_DATABASE_URL points the suite at PostgreSQL."""

    TESTING = True
    WTF_CSRF_ENABLED = False  # tests that exercise CSRF switch it on for themselves
    # Limits are read per request, so a test can tighten them; generous by default.
    LOGIN_RATE_LIMIT = "1000 per minute"
    API_RATE_LIMIT = "10000 per minute"

    def __init__(self) -> None:
        # Read at instantiation: the test session decides these before building the app.
        # Random per test session (tests/conftest.py sets it, so its gunicorn and worker
        # processes agree); random per process otherwise. Never a constant.
        self.SECRET_KEY = os.environ.get("TEST_SECRET_KEY") or secrets.token_hex(32)
        self.SQLALCHEMY_DATABASE_URI = os.environ.get("TEST_DATABASE_URL", "sqlite://")
        self.REDIS_URL = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/15")
        self.RATELIMIT_STORAGE_URI = self.REDIS_URL


class ProductionConfig(Config):
    """Every secret from the environment; refuse to start without them."""

    SESSION_COOKIE_SECURE = True
    REMEMBER_COOKIE_SECURE = True
    # Production is served over HTTPS only; the embedded default runs on plain-HTTP loopback.
    STRICT_TRANSPORT_SECURITY = "max-age=31536000; includeSubDomains"
    REQUIRED = ("SECRET_KEY", "DATABASE_URL")

    def __init__(self) -> None:
        missing = [name for name in self.REQUIRED if not os.environ.get(name)]
        if missing:
            raise RuntimeError(
                "Production config refuses to start: missing environment variable(s) "
                + ", ".join(missing)
            )
        self.SECRET_KEY = os.environ["SECRET_KEY"]
        url = os.environ["DATABASE_URL"]
        # Heroku-style URLs say postgres://, which SQLAlchemy 2 no longer accepts.
        self.SQLALCHEMY_DATABASE_URI = url.replace("postgres://", "postgresql://", 1)
        self.REDIS_URL = os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/0")
        self.RATELIMIT_STORAGE_URI = os.environ.get("RATELIMIT_STORAGE_URI", self.REDIS_URL)


CONFIGS = {
    "development": DevelopmentConfig,
    "testing": TestingConfig,
    "production": ProductionConfig,
}


def get_config(name: str | None = None) -> Config:
    """Instantiate the config class called ``name`` (default: $SIGMASIGHT_ENV or development)."""
    name = name or os.environ.get("SIGMASIGHT_ENV", "development")
    try:
        return CONFIGS[name]()
    except KeyError:
        raise RuntimeError(f"unknown config {name!r}; choose one of {sorted(CONFIGS)}") from None
