"""Tables every service has: its event store (the notification log that is also the
outbox), the inbox of handled events, subscriber positions, consumer dead letters, and
the answers of idempotent requests (``Idempotency-Key``)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Column, DateTime, Index, Text, UniqueConstraint
from sqlmodel import Field, SQLModel


def utc_timestamp(nullable: bool = False) -> Column:
    """A timezone-aware timestamp column (PostgreSQL refuses aware values otherwise)."""
    return Column(DateTime(timezone=True), nullable=nullable)


class StoredEvent(SQLModel, table=True):
    """Append-only. ``position`` orders the whole log; ``(stream_id, stream_version)`` is
    unique, which is the optimistic concurrency check."""

    __tablename__ = "event_store"
    __table_args__ = (
        UniqueConstraint("stream_id", "stream_version", name="uq_event_stream_version"),
        Index("ix_event_store_stream", "stream_id"),
    )

    position: int | None = Field(default=None, primary_key=True)
    event_id: str = Field(unique=True, max_length=36)
    event_type: str = Field(max_length=120)
    schema_version: int
    stream_id: str = Field(max_length=200)
    stream_version: int
    occurred_at: datetime = Field(sa_column=utc_timestamp())
    correlation_id: str = Field(max_length=36)
    causation_id: str | None = Field(default=None, max_length=36)
    producer: str = Field(max_length=40)
    payload: str = Field(sa_column=Column(Text, nullable=False))
    trace: str | None = Field(default=None, sa_column=Column(Text, nullable=True))  # W3C JSON


class InboxEntry(SQLModel, table=True):
    """One row per event a consumer has handled, written with the handler's effects."""

    __tablename__ = "inbox"

    consumer: str = Field(primary_key=True, max_length=80)
    event_id: str = Field(primary_key=True, max_length=36)
    handled_at: datetime = Field(sa_column=utc_timestamp())


class SubscriberPosition(SQLModel, table=True):
    """How far a subscriber has read a topic partition, written with the handler's effects."""

    __tablename__ = "subscriber_positions"

    subscriber: str = Field(primary_key=True, max_length=80)
    topic: str = Field(primary_key=True, max_length=120)
    partition: int = Field(primary_key=True)
    position: int


class ConsumerDeadLetter(SQLModel, table=True):
    """An event a consumer could not handle after its retries: kept, not skipped silently."""

    __tablename__ = "consumer_dead_letters"

    id: int | None = Field(default=None, primary_key=True)
    subscriber: str = Field(max_length=80)
    topic: str = Field(max_length=120)
    partition: int
    position: int
    event_id: str = Field(max_length=36)
    event_type: str = Field(max_length=120)
    error: str = Field(sa_column=Column(Text, nullable=False))
    failed_at: datetime = Field(sa_column=utc_timestamp())


class RelayPosition(SQLModel, table=True):
    """How far the outbox relay has published the event store to the broker."""

    __tablename__ = "outbox_relay_positions"

    topic: str = Field(primary_key=True, max_length=120)
    position: int


class IdempotencyKey(SQLModel, table=True):
    """The first answer to a request sent with an ``Idempotency-Key`` (shared/idempotency.py),
    written in the same transaction as the events the request recorded. ``scope`` is the
    caller (role and a hash of the token's subject); ``request_hash`` the fingerprint of
    method, path and canonical body. Expires ``KEY_TTL`` after ``created_at``."""

    __tablename__ = "idempotency_keys"
    __table_args__ = (Index("ix_idempotency_keys_created_at", "created_at"),)

    scope: str = Field(primary_key=True, max_length=80)
    key: str = Field(primary_key=True, max_length=255)
    request_hash: str = Field(max_length=64)
    status: int
    response_json: str = Field(sa_column=Column(Text, nullable=False))
    created_at: datetime = Field(sa_column=utc_timestamp())


SHARED_TABLES = [
    StoredEvent.__table__,
    InboxEntry.__table__,
    SubscriberPosition.__table__,
    ConsumerDeadLetter.__table__,
    RelayPosition.__table__,
    IdempotencyKey.__table__,
]
