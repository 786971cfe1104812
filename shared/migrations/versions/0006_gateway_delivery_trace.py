"""The gateway's deliveries keep the trace of the event that queued them (issue 13,
shared/tracing.py): ``gateway_deliveries.trace``, nullable, added where missing.

Revision ID: 0006_gateway_delivery_trace
Revises: 0005_meetings
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import context, op

revision = "0006_gateway_delivery_trace"
down_revision = "0005_meetings"
branch_labels = None
depends_on = None

COLUMNS = {"trace": sa.Text()}


def upgrade() -> None:
    schema = context.config.attributes["schema"]
    inspector = sa.inspect(op.get_bind())
    if "gateway_deliveries" not in inspector.get_table_names(schema=schema):
        return
    present = {c["name"] for c in inspector.get_columns("gateway_deliveries", schema=schema)}
    for name, kind in COLUMNS.items():
        if name not in present:
            op.add_column("gateway_deliveries", sa.Column(name, kind, nullable=True), schema=schema)


def downgrade() -> None:
    schema = context.config.attributes["schema"]
    for name in COLUMNS:
        op.drop_column("gateway_deliveries", name, schema=schema)
