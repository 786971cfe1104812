"""A booking's row names its visit, its question and what the visit overview and an
office's day list show (issue 16, docs/bookings.md): ``intake_bookings.visit_id``
(indexed), ``question_id``, ``checked_in_visit_id`` (indexed), ``agency``,
``case_type``, ``kind``, ``length_minutes``, ``room``, ``has_identity_number``,
``outcome``; nullable, added where missing; and ``(office_id, slot_start)`` indexed for
an office's bookings of a day.

Rows already there are filled from their bookings' events when intake starts
(``services.intake.handlers.bookings.fill_booking_rows``: the booking aggregate folds
them, upcasters included; a migration must not import a service), so they stay NULL only
between this revision and that start.

Revision ID: 0008_booking_visit_links
Revises: 0007_gateway_delivery_kind
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import context, op

revision = "0008_booking_visit_links"
down_revision = "0007_gateway_delivery_kind"
branch_labels = None
depends_on = None

TABLE = "intake_bookings"
COLUMNS = {
    "visit_id": sa.String(36), "question_id": sa.String(36), "checked_in_visit_id": sa.String(36),
    "agency": sa.String(40), "case_type": sa.String(40), "kind": sa.String(20), "length_minutes": sa.Integer(),
    "room": sa.String(60), "has_identity_number": sa.Boolean(), "outcome": sa.String(30),
}
INDEXES = {  # name -> columns
    f"ix_{TABLE}_visit_id": ["visit_id"], f"ix_{TABLE}_checked_in_visit_id": ["checked_in_visit_id"],
    f"ix_{TABLE}_office_day": ["office_id", "slot_start"],  # an office's bookings of a day
}


def upgrade() -> None:
    schema = context.config.attributes["schema"]
    inspector = sa.inspect(op.get_bind())
    if TABLE not in inspector.get_table_names(schema=schema):
        return  # not intake's schema (or made by a later create_all with the columns)
    present = {c["name"] for c in inspector.get_columns(TABLE, schema=schema)}
    for name, kind in COLUMNS.items():
        if name not in present:
            op.add_column(TABLE, sa.Column(name, kind, nullable=True), schema=schema)
    indexes = {i["name"] for i in inspector.get_indexes(TABLE, schema=schema)}
    for name, columns in INDEXES.items():
        if name not in indexes:
            op.create_index(name, TABLE, columns, schema=schema)


def downgrade() -> None:
    schema = context.config.attributes["schema"]
    for name in INDEXES:
        op.drop_index(name, TABLE, schema=schema)
    for name in COLUMNS:
        op.drop_column(TABLE, name, schema=schema)
