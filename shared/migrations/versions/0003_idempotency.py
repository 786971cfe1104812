"""Idempotent writes: the ``idempotency_keys`` table (shared/idempotency.py), the first
answer to each request sent with an ``Idempotency-Key``, created where missing.

Revision ID: 0003_idempotency
Revises: 0002_office_day
"""

from __future__ import annotations

from alembic import context, op
from sqlmodel import SQLModel

revision = "0003_idempotency"
down_revision = "0002_office_day"
branch_labels = None
depends_on = None

TABLE = "idempotency_keys"


def upgrade() -> None:
    tables = [t for t in context.config.attributes["tables"] if t.name == TABLE]
    SQLModel.metadata.create_all(op.get_bind(), tables=tables)  # checkfirst: only if missing


def downgrade() -> None:
    """The stored answers are a day's retry window: dropping them only ends it early."""
    tables = [t for t in context.config.attributes["tables"] if t.name == TABLE]
    SQLModel.metadata.drop_all(op.get_bind(), tables=tables)
