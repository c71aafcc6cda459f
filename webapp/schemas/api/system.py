"""/system: jobs, batch runs and the batch triggers."""

from __future__ import annotations

from typing import Any

from webapp.schemas.api.base import ApiModel, Timestamp
from webapp.schemas.api.common import BatchRun


class BatchRunList(ApiModel):
    """Batch runs (those just queued, or the recent history) and how many there are."""

    runs: list[BatchRun]
    count: int


class JobResponse(ApiModel):
    """A job's queue status, progress (0-100), current step, result and times."""

    job_id: str
    status: str
    progress: int | float
    current_step: str | None = None
    result: Any = None
    error: str | None = None
    enqueued_at: Timestamp | None = None
    started_at: Timestamp | None = None
    ended_at: Timestamp | None = None


class JobRun(BatchRun):
    """The batch run of a job, with the job's id."""

    job_id: str


class BatchStepResponse(ApiModel):
    """The runs queued by a batch trigger (greeks, factors, stress-tests) and the step."""

    runs: list[BatchRun]
    count: int
    step: str


class BatchMarketDataResponse(ApiModel):
    """The queued price-sync job's id and status."""

    job_id: str
    status: str


class BatchStatusResponseQueue(ApiModel):
    """The job queue: jobs waiting and workers (and how many are busy), or why it is unknown."""

    available: bool
    queued_jobs: int = None
    workers: int = None
    busy_workers: int = None
    message: str = None


class BatchStatusResponse(ApiModel):
    """The caller's queued and running batch runs, and the state of the job queue."""

    active: list[BatchRun]
    active_count: int
    queue: BatchStatusResponseQueue
