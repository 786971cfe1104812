"""Domain events and the envelope they travel in.

Events are frozen pydantic models named in the past tense. Each service declares a base
class with its ``producer`` name; every concrete subclass is registered under the stable
type string ``"<producer>.<ClassName>"`` (e.g. ``intake.QuestionRecorded``), which is what
the envelope carries. Old payload versions are upcast on read, never rewritten.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any, ClassVar

from pydantic import BaseModel, ConfigDict, Field

_registry: dict[str, type[DomainEvent]] = {}
_upcasters: dict[tuple[str, int], Callable[[dict[str, Any]], dict[str, Any]]] = {}


def utc_now() -> datetime:
    return datetime.now(UTC)


class DomainEvent(BaseModel):
    """Base of all events. Subclass once per service and set ``producer``."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    producer: ClassVar[str] = ""
    schema_version: ClassVar[int] = 1

    @classmethod
    def __pydantic_init_subclass__(cls, **kwargs: Any) -> None:
        super().__pydantic_init_subclass__(**kwargs)
        if cls.producer and not cls.__name__.endswith("Event"):
            _registry[cls.event_type()] = cls

    @classmethod
    def event_type(cls) -> str:
        return f"{cls.producer}.{cls.__name__}"


def upcaster(event_type: str, from_version: int):
    """Register a function that turns a payload of ``from_version`` into ``from_version + 1``."""

    def register(fn: Callable[[dict[str, Any]], dict[str, Any]]):
        _upcasters[(event_type, from_version)] = fn
        return fn

    return register


def event_class(event_type: str) -> type[DomainEvent] | None:
    return _registry.get(event_type)


class EventEnvelope(BaseModel):
    """What is stored and published. Fields are a published contract (docs/architecture.md)."""

    model_config = ConfigDict(frozen=True)

    event_id: uuid.UUID = Field(default_factory=uuid.uuid4)
    event_type: str
    schema_version: int = 1
    stream_id: str
    stream_version: int
    occurred_at: datetime = Field(default_factory=utc_now)
    correlation_id: uuid.UUID
    causation_id: uuid.UUID | None = None
    producer: str
    payload: dict[str, Any]
    # W3C trace context (``traceparent``/``tracestate``) of the span that recorded the
    # event, when tracing is on (shared/tracing.py). Not part of the published JSON: the
    # event store keeps it in a column of its own, Kafka in the message headers.
    trace: dict[str, str] | None = Field(default=None, exclude=True)

    @classmethod
    def wrap(
        cls,
        event: DomainEvent,
        *,
        stream_id: str,
        stream_version: int,
        correlation_id: uuid.UUID | None = None,
        causation_id: uuid.UUID | None = None,
    ) -> EventEnvelope:
        event_id = uuid.uuid4()
        return cls(
            event_id=event_id,
            event_type=event.event_type(),
            schema_version=event.schema_version,
            stream_id=stream_id,
            stream_version=stream_version,
            correlation_id=correlation_id or event_id,
            causation_id=causation_id,
            producer=event.producer,
            payload=event.model_dump(mode="json"),
        )

    def event(self) -> DomainEvent | None:
        """Decode the payload into its event class, upcasting old versions. None if unknown."""
        cls = event_class(self.event_type)
        if cls is None:
            return None
        payload, version = dict(self.payload), self.schema_version
        while version < cls.schema_version:
            payload = _upcasters[(self.event_type, version)](payload)
            version += 1
        return cls.model_validate(payload)

    @property
    def partition_key(self) -> str:
        """Events of one visit keep their order: the key is the visit id where there is one."""
        return str(self.payload.get("visit_id") or self.stream_id)
