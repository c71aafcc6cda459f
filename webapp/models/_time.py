"""Timestamps are stored as naive UTC and rendered with a trailing Z."""

from datetime import UTC, datetime


def utcnow() -> datetime:
    """Current UTC time without tzinfo (what the columns store)."""
    return datetime.now(UTC).replace(tzinfo=None)


def isoformat_z(value: datetime | None) -> str | None:
    """UTC ISO 8601 with a Z suffix, seconds precision."""
    if value is None:
        return None
    return value.replace(microsecond=0).isoformat() + "Z"
