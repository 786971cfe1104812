"""The office day: tables declared since the baseline (queue ticket counters, the desk's
overview of a visit, reporting's queue facts), created where missing; reporting's
``channel`` column widened for ``self_service``.

Revision ID: 0002_office_day
Revises: 0001_baseline
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import context, op
from sqlmodel import SQLModel

revision = "0002_office_day"
down_revision = "0001_baseline"
branch_labels = None
depends_on = None


def upgrade() -> None:
    tables = context.config.attributes["tables"]
    schema = context.config.attributes["schema"]
    SQLModel.metadata.create_all(op.get_bind(), tables=tables)  # checkfirst: only new ones
    inspector = sa.inspect(op.get_bind())
    if schema == "reporting" and "reporting_visits" in inspector.get_table_names(schema=schema):
        columns = {c["name"] for c in inspector.get_columns("reporting_visits", schema=schema)}
        if "channel" in columns:
            op.alter_column(
                "reporting_visits", "channel", type_=sa.String(20), existing_nullable=True, schema=schema
            )


def downgrade() -> None:
    """Nothing to undo safely: the new tables hold the day's read models."""
