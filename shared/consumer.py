"""Event consumers: apply events from other services' topics, exactly once in effect.

The handler's effects, the inbox row and the subscriber position commit in one
transaction, so a crash anywhere leaves either all of them or none. A handler that keeps
failing is retried with backoff and then dead-lettered (kept in ``consumer_dead_letters``
with its error) so one poison event does not block the ones behind it.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

import structlog
from tenacity import (
    AsyncRetrying,
    RetryError,
    retry_if_exception,
    stop_after_attempt,
    wait_exponential_jitter,
)

from shared import tracing
from shared.db import is_transient
from shared.events import DomainEvent, EventEnvelope
from shared.personal_data import scrub_text
from shared.tracking import Checkpoint
from shared.unit_of_work import UnitOfWork

log = structlog.get_logger(__name__)

EventHandler = Callable[[DomainEvent, EventEnvelope, Any], Awaitable[None]]
DeadLetterSink = Callable[[EventEnvelope, Checkpoint, str], Awaitable[None]]


def _failed(error: BaseException) -> bool:
    """A failure to retry, not a cancellation: tenacity hands every exception to the retry
    predicate, ``CancelledError`` too, and retrying that would keep a stopping consumer
    running (and could dead-letter a sound event)."""
    return not isinstance(error, asyncio.CancelledError)


class EventConsumer:
    def __init__(
        self,
        name: str,
        topics: list[str],
        uow_factory: Callable[[], UnitOfWork],
        handlers: dict[str, EventHandler],
        max_attempts: int = 5,
        max_backoff: float = 2.0,
    ) -> None:
        self.name = name
        self.service = name  # tracing: whose spans the handling is (names are services')
        self.topics = topics
        self.uow_factory = uow_factory
        self.handlers = handlers
        self.max_attempts = max_attempts
        self.max_backoff = max_backoff
        self.handled = 0
        self.dead_lettered = 0
        self.outage_retries = 0
        # The bus may add a sink (Kafka: the ``<topic>.dlq`` topic) beside the table.
        self.dead_letter_sinks: list[DeadLetterSink] = []

    async def positions(self) -> dict[tuple[str, int], int]:
        async with self.uow_factory() as uow:
            return await uow.tracking.positions(self.name)

    async def handle(self, envelope: EventEnvelope, checkpoint: Checkpoint) -> None:
        """Handle one event. A fault in the event or the handler is retried a few times
        and then dead-lettered; an outage (database, network) is waited out, however
        long it lasts, because the event itself is fine."""
        outage = AsyncRetrying(
            retry=retry_if_exception(lambda e: _failed(e) and is_transient(e)),
            wait=wait_exponential_jitter(multiplier=0.1, max=5.0),
            before_sleep=self._log_outage,
        )
        async for attempt in outage:
            with attempt:
                await self._handle_with_retries(envelope, checkpoint)

    async def _handle_with_retries(self, envelope: EventEnvelope, checkpoint: Checkpoint) -> None:
        retrying = AsyncRetrying(
            retry=retry_if_exception(lambda e: _failed(e) and not is_transient(e)),
            stop=stop_after_attempt(self.max_attempts),
            wait=wait_exponential_jitter(multiplier=0.05, max=self.max_backoff, jitter=0.05),
        )
        try:
            async for attempt in retrying:
                with attempt:
                    await self._handle_once(envelope, checkpoint)
        except RetryError as error:
            cause = error.last_attempt.exception()
            # Validation errors quote the payload: scrub before the error is stored.
            await self._dead_letter(envelope, checkpoint, scrub_text(repr(cause)))

    def _log_outage(self, state) -> None:
        self.outage_retries += 1
        log.warning(
            "consumer_waiting_for_infrastructure",
            consumer=self.name,
            error=type(state.outcome.exception()).__name__,
            attempt=state.attempt_number,
        )

    async def handle_batch(self, items: list[tuple[EventEnvelope, Checkpoint]]) -> None:
        """Handle consecutive events of one topic partition in one transaction (the fast
        path); if anything in it fails, handle them one by one with the full retry and
        dead-letter rules, so one bad event costs only itself."""
        if len(items) > 1:
            try:
                self.handled += await self._handle_together(items)
                return
            except Exception as error:  # noqa: BLE001 - every failure falls back to one by one
                log.info("batch_falls_back_to_single_events", consumer=self.name, error=repr(error))
        for envelope, checkpoint in items:
            await self.handle(envelope, checkpoint)

    async def _handle_together(self, items: list[tuple[EventEnvelope, Checkpoint]]) -> int:
        async with self.uow_factory() as uow:
            ids = [str(envelope.event_id) for envelope, _ in items]
            done = await uow.tracking.seen_many(self.name, ids)
            new = 0
            for (envelope, _), event_id in zip(items, ids, strict=True):
                if event_id in done:
                    continue
                await self._apply(envelope, uow)
                uow.tracking.mark_handled(self.name, event_id)
                done.add(event_id)
                new += 1
            await uow.tracking.save_position(self.name, items[-1][1])
            await uow.commit()
        return new

    async def _apply(self, envelope: EventEnvelope, uow: Any) -> None:
        handler = self.handlers.get(envelope.event_type)
        event = envelope.event() if handler else None
        if handler and event is None:
            return
        if handler and tracing.active():
            with tracing.consumer_span(self.service, envelope, self.name):
                await handler(event, envelope, uow)
        elif handler:
            await handler(event, envelope, uow)

    async def _handle_once(self, envelope: EventEnvelope, checkpoint: Checkpoint) -> None:
        async with self.uow_factory() as uow:
            event_id = str(envelope.event_id)
            if not await uow.tracking.seen(self.name, event_id):
                await self._apply(envelope, uow)
                uow.tracking.mark_handled(self.name, event_id)
                newly_handled = 1
            else:
                newly_handled = 0
            await uow.tracking.save_position(self.name, checkpoint)
            await uow.commit()
        self.handled += newly_handled

    async def _dead_letter(
        self, envelope: EventEnvelope, checkpoint: Checkpoint, error: str
    ) -> None:
        log.error(
            "event_dead_lettered",
            consumer=self.name,
            event_type=envelope.event_type,
            event_id=str(envelope.event_id),
            error=error,
        )
        async with self.uow_factory() as uow:
            uow.tracking.dead_letter(self.name, checkpoint, envelope, error)
            await uow.tracking.save_position(self.name, checkpoint)
            await uow.commit()
        self.dead_lettered += 1
        for sink in self.dead_letter_sinks:
            await sink(envelope, checkpoint, error)
