"""Job test fixtures: an empty batch queue around each test that uses it."""

from __future__ import annotations

import pytest

from webapp.services.queueing import get_queue


@pytest.fixture()
def clean_queue(ctx):
    get_queue().empty()
    yield
    get_queue().empty()
