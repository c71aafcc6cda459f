"""The engines stay pure: importing every webapp.analytics module pulls in no web/DB/plot stack.

Runs in a fresh interpreter so modules imported by other tests cannot mask (or fake) a leak.
The parent ``webapp`` package is stubbed with an empty namespace: its ``__init__`` is the app
factory, and what is checked here is the engines' own imports.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
FORBIDDEN = (
    "flask",
    "flask_sqlalchemy",
    "flask_login",
    "flask_wtf",
    "flask_migrate",
    "sqlalchemy",
    "alembic",
    "plotly",
    "redis",
    "rq",
    "werkzeug",
    "jinja2",
)

PROBE = """
import importlib, json, pkgutil, sys, types
root = sys.argv[1]
stub = types.ModuleType("webapp")
stub.__path__ = [root + "/webapp"]
sys.modules["webapp"] = stub
import webapp.analytics as analytics
modules = sorted(m.name for m in pkgutil.iter_modules(analytics.__path__))
for name in modules:
    importlib.import_module("webapp.analytics." + name)
print(json.dumps({"modules": modules, "loaded": sorted(sys.modules)}))
"""


def test_analytics_imports_no_flask_or_sqlalchemy():
    proc = subprocess.run(
        [sys.executable, "-c", PROBE, str(ROOT)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr
    report = json.loads(proc.stdout.strip().splitlines()[-1])
    assert {"factors", "correlations", "risk", "returns"} <= set(report["modules"])
    loaded = report["loaded"]
    leaked = sorted(m for m in loaded if m.split(".")[0] in FORBIDDEN)
    assert leaked == [], f"webapp.analytics imported {leaked}"
    outside = sorted(
        m for m in loaded if m.startswith("webapp.") and not m.startswith("webapp.analytics")
    )
    assert outside == [], f"webapp.analytics imported app modules {outside}"
