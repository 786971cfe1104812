"""Alembic environment: runs on the connection ``shared.migrations.upgrade`` hands over."""

from __future__ import annotations

from alembic import context
from sqlmodel import SQLModel

config = context.config
context.configure(
    connection=config.attributes["connection"],
    target_metadata=SQLModel.metadata,
    version_table_schema=config.attributes["schema"],
)
with context.begin_transaction():
    context.run_migrations()
