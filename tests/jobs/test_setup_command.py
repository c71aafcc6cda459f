"""`flask setup`: what `make run` does before it starts the processes, in one process."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import delete, func, select

from webapp.extensions import db
from webapp.models import BatchRun
from webapp.services.queueing import get_queue
from webapp.services.runs import all_portfolio_ids, portfolios_needing_batch


@pytest.fixture()
def forget_new_runs(ctx):
    """The queued runs this test creates are deleted after it (their jobs are emptied too)."""
    last = db.session.scalar(select(func.max(BatchRun.id))) or 0
    yield
    db.session.rollback()
    db.session.execute(delete(BatchRun).where(BatchRun.id > last))
    db.session.commit()


def test_setup_syncs_seeds_and_queues_the_missing_batches(
    ctx, runner, clean_queue, forget_new_runs
):
    needing = portfolios_needing_batch(all_portfolio_ids())
    result = runner.invoke(args=["setup"])
    assert result.exit_code == 0, result.output
    # The database is current, the dataset already loaded: re-running adds nothing.
    assert re.search(r"bundled: \d+ symbols checked, 0 bars inserted", result.output)
    assert "demo data ready" in result.output
    queued = re.findall(r"portfolio (\d+): queued batch run", result.output)
    assert sorted(int(p) for p in queued) == sorted(needing)
    assert get_queue().count == len(needing)
    if not needing:
        assert "nothing to do" in result.output
