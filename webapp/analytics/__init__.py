"""Pure calculation engines: numpy/pandas/statsmodels/mibian in, plain results out.

Nothing here imports Flask, SQLAlchemy or the app's extensions (a test enforces it).
"""
