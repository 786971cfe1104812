"""The gateway delivers a booking's changes like cases (issue 16, docs/bookings.md):
``gateway_deliveries.kind`` (case | meeting | meeting_move | meeting_cancellation),
added where missing; rows already there are cases.

Revision ID: 0007_gateway_delivery_kind
Revises: 0006_gateway_delivery_trace
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import context, op

revision = "0007_gateway_delivery_kind"
down_revision = "0006_gateway_delivery_trace"
branch_labels = None
depends_on = None


def upgrade() -> None:
    schema = context.config.attributes["schema"]
    inspector = sa.inspect(op.get_bind())
    if "gateway_deliveries" not in inspector.get_table_names(schema=schema):
        return
    if "kind" not in {c["name"] for c in inspector.get_columns("gateway_deliveries", schema=schema)}:
        column = sa.Column("kind", sa.String(30), nullable=True, server_default="case")
        op.add_column("gateway_deliveries", column, schema=schema)


def downgrade() -> None:
    op.drop_column("gateway_deliveries", "kind", schema=context.config.attributes["schema"])
