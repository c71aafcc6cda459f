"""What several tables declare alike: an owning advisor, a name unique per advisor, a credential.

Mixins, not tables: each model still names its own table, id and other columns. The constraint
names they generate are the ones the migrations created (``uq_<table>_user_name``).
"""

from __future__ import annotations

from sqlalchemy.orm import declared_attr

from webapp.extensions import db
from webapp.models._ids import NEVER_REUSE_IDS
from webapp.models._time import utcnow


class OwnedByUser:
    """A row of one advisor's, deleted with the account (``user_id``, indexed)."""

    @declared_attr
    def user_id(cls):  # noqa: D102 - a column; the class docstring says what it is
        return db.Column(
            db.Integer, db.ForeignKey("users.id", ondelete="CASCADE"), nullable=False, index=True
        )


class NamedPerUser(OwnedByUser):
    """An advisor's row whose ``name`` no other row of the same advisor has (DB-enforced)."""

    @declared_attr.directive
    def __table_args__(cls):
        return (
            db.UniqueConstraint("user_id", "name", name=f"uq_{cls.__tablename__}_user_name"),
            NEVER_REUSE_IDS,
        )


class RevocableToken(OwnedByUser):
    """A secret handed to a client: only its SHA-256 digest is stored, and it stops working at
    ``expires_at`` or once ``revoked_at`` is set."""

    __table_args__ = (NEVER_REUSE_IDS,)

    token_digest = db.Column(db.String(64), nullable=False, unique=True)
    created_at = db.Column(db.DateTime, nullable=False, default=utcnow)
    expires_at = db.Column(db.DateTime, nullable=False)
    revoked_at = db.Column(db.DateTime)

    @declared_attr
    def user(cls):  # noqa: D102 - the owning advisor
        return db.relationship("User")
