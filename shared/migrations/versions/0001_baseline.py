"""Baseline: the service's tables as its code declares them at this revision.

Revision ID: 0001_baseline
Revises:
"""

from __future__ import annotations

from alembic import context, op
from sqlmodel import SQLModel

revision = "0001_baseline"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    tables = context.config.attributes["tables"]
    SQLModel.metadata.create_all(op.get_bind(), tables=tables)


def downgrade() -> None:
    tables = context.config.attributes["tables"]
    SQLModel.metadata.drop_all(op.get_bind(), tables=tables)
