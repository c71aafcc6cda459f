import pytest

from webapp import create_app
from webapp.config import ProductionConfig, get_config


def test_production_refuses_to_start_without_secrets(monkeypatch):
    monkeypatch.delenv("SECRET_KEY", raising=False)
    monkeypatch.delenv("DATABASE_URL", raising=False)
    with pytest.raises(RuntimeError, match="SECRET_KEY, DATABASE_URL"):
        create_app("production")


def test_production_names_the_one_missing_variable(monkeypatch):
    monkeypatch.setenv("SECRET_KEY", "s3cret")
    monkeypatch.delenv("DATABASE_URL", raising=False)
    with pytest.raises(RuntimeError) as info:
        ProductionConfig()
    assert "DATABASE_URL" in str(info.value) and "SECRET_KEY" not in str(info.value)


def test_production_reads_environment_and_secures_cookies(monkeypatch):
    monkeypatch.setenv("SECRET_KEY", "s3cret")
    monkeypatch.setenv("DATABASE_URL", "postgres://u@db/sigma")
    cfg = ProductionConfig()
    assert cfg.SECRET_KEY == "s3cret"
    assert cfg.SQLALCHEMY_DATABASE_URI == "postgresql://u@db/sigma"
    assert cfg.SESSION_COOKIE_SECURE and cfg.REMEMBER_COOKIE_SECURE
    assert cfg.SESSION_COOKIE_HTTPONLY and cfg.SESSION_COOKIE_SAMESITE == "Lax"


def test_development_defaults_are_embedded(monkeypatch):
    monkeypatch.delenv("DATABASE_URL", raising=False)
    cfg = get_config("development")
    assert cfg.SQLALCHEMY_DATABASE_URI.startswith("sqlite:///")
    assert "instance" in cfg.SQLALCHEMY_DATABASE_URI


def test_unknown_config_name():
    with pytest.raises(RuntimeError, match="unknown config"):
        get_config("staging")
