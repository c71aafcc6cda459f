"""CSV onboarding pages: upload, preview, confirm."""

from webapp.pages import advisor_blueprint

bp = advisor_blueprint("imports", __name__, "/imports")

from webapp.onboarding import routes  # noqa: E402,F401
