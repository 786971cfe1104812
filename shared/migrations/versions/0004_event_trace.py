"""Tracing: the event store's nullable ``trace`` column (W3C trace context of the span
that recorded the event, shared/tracing.py), added where missing.

Revision ID: 0004_event_trace
Revises: 0003_idempotency
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import context, op

revision = "0004_event_trace"
down_revision = "0003_idempotency"
branch_labels = None
depends_on = None


def upgrade() -> None:
    schema = context.config.attributes["schema"]
    inspector = sa.inspect(op.get_bind())
    if "event_store" in inspector.get_table_names(schema=schema):
        columns = {c["name"] for c in inspector.get_columns("event_store", schema=schema)}
        if "trace" not in columns:
            op.add_column("event_store", sa.Column("trace", sa.Text(), nullable=True), schema=schema)


def downgrade() -> None:
    schema = context.config.attributes["schema"]
    op.drop_column("event_store", "trace", schema=schema)
