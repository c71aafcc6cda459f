"""The WSGI entry point: `gunicorn wsgi:app` (config from SIGMASIGHT_ENV)."""

from webapp import create_app

app = create_app()
