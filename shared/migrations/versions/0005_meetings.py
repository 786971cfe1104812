"""Meetings with an agency's official (issue 16, docs/bookings.md): the tables declared
for them (intake's calendar, claims and booking index; reporting's meeting facts, when
it declares them), created where missing. Any service's new tables of this issue come
with this one revision: it creates whatever of the service's tables is missing.

Revision ID: 0005_meetings
Revises: 0004_event_trace
"""

from __future__ import annotations

from alembic import context, op
from sqlmodel import SQLModel

revision = "0005_meetings"
down_revision = "0004_event_trace"
branch_labels = None
depends_on = None


def upgrade() -> None:
    tables = context.config.attributes["tables"]
    SQLModel.metadata.create_all(op.get_bind(), tables=tables)  # checkfirst: only new ones


def downgrade() -> None:
    """Nothing to undo safely: the claims are what keeps a slot from being booked twice."""
