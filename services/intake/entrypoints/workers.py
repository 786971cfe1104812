"""Intake's background workers: the retention worker and the no-show worker.

The retention worker erases personal data ``SK_RETENTION_DAYS`` days after a visit's
data key was made.

Each visit is erased through the same handler as an admin's erasure, with the actor
``retention``, so every automatic erasure is an ``intake.PersonalDataErased`` event (and an
audit row in reporting). A database outage ends the round, not the worker: it waits and
tries again; one visit that cannot be erased is logged and skipped, never blocks the rest.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import datetime, timedelta

import structlog

from services.intake.handlers import bookings, visits
from services.intake.unit_of_work import SqlIntakeUnitOfWork
from shared.db import is_transient
from shared.errors import NotFound
from shared.events import utc_now
from shared.vault import Vault
from shared.waiting import wait_for_wakeup

log = structlog.get_logger(__name__)

ACTOR = "retention"


class RetentionWorker:
    def __init__(
        self,
        uow_factory: Callable[[], SqlIntakeUnitOfWork],
        vault: Vault,
        days: int,
        interval_seconds: float = 3600.0,
        clock: Callable[[], datetime] = utc_now,
        batch: int = 500,
        retry_seconds: float = 30.0,
    ) -> None:
        self.uow_factory = uow_factory
        self.vault = vault
        self.days = days
        self.interval = interval_seconds
        self.clock = clock
        self.batch = batch
        self.retry_seconds = min(retry_seconds, interval_seconds)
        self.wakeup = asyncio.Event()
        self.erased = 0
        self.failed_rounds = 0
        # Visits whose erasure an outage interrupted: the key may be gone already (the
        # vault answered, intake's commit did not), so the vault would not list them
        # again; they are tried first in the next round, until their event is recorded.
        self.unfinished: dict[str, None] = {}

    def wake(self) -> None:
        self.wakeup.set()

    async def run_once(self) -> list[str]:
        """Erase one batch of visits past their time; return their ids. Raises on an
        outage (the caller waits and tries again)."""
        done: list[str] = []
        listed = await self.vault.keys_older_than(self.days, self.clock(), self.batch)
        for visit_id in [*self.unfinished, *(v for v in listed if v not in self.unfinished)]:
            try:
                await visits.erase_personal_data(visit_id, ACTOR, self.uow_factory(), self.vault)
            except NotFound:
                # A key without a visit (its question was refused after sealing): nothing
                # to record an event on; destroy the key so it is not found again.
                await self.vault.erase(visit_id)
                log.warning("retention_orphan_key_destroyed")
            except Exception as error:
                if is_transient(error):
                    self.unfinished[visit_id] = None
                    self.erased += len(done)
                    raise
                log.exception("retention_erasure_failed", visit_id=visit_id)
            else:
                done.append(visit_id)
            self.unfinished.pop(visit_id, None)
        self.erased += len(done)
        return done

    async def run(self) -> None:
        """Until cancelled: a round, then wait ``interval`` (sooner after an outage, at
        once while full batches keep coming)."""
        log.info("retention_worker_started", days=self.days, interval_seconds=self.interval)
        while True:
            self.wakeup.clear()
            wait = self.interval
            try:
                erased = await self.run_once()
                if erased:
                    log.info("retention_erased", visits=len(erased))
                if len(erased) >= self.batch:
                    continue
            except Exception as error:  # noqa: BLE001 - never end the worker
                self.failed_rounds += 1
                wait = self.retry_seconds
                if is_transient(error):
                    log.warning("retention_waiting_for_database", error=type(error).__name__)
                else:
                    log.exception("retention_round_failed")
            await wait_for_wakeup(self.wakeup, wait)


class NoShowWorker:
    """Marks ``BookingNoShow`` on bookings nobody checked in for by their time plus
    ``grace`` (``SK_BOOKING_NO_SHOW_GRACE_MINUTES``); their slot and room are freed.
    ``clock`` is injectable (tests move time, never sleep). One booking that fails is
    logged and skipped; an outage ends the round and the worker tries again."""

    def __init__(
        self,
        uow_factory: Callable[[], SqlIntakeUnitOfWork],
        grace_minutes: int = 15,
        interval_seconds: float = 60.0,
        clock: Callable[[], datetime] = utc_now,
        batch: int = 200,
    ) -> None:
        self.uow_factory = uow_factory
        self.grace = timedelta(minutes=grace_minutes)
        self.interval = interval_seconds
        self.clock = clock
        self.batch = batch
        self.wakeup = asyncio.Event()
        self.marked = 0

    async def run_once(self) -> list[str]:
        now = self.clock()
        async with self.uow_factory() as uow:
            overdue = await uow.bookings.overdue(now - self.grace, self.batch)
        marked = []
        for booking_id in overdue:
            try:
                if await bookings.mark_no_show(booking_id, self.uow_factory(), self.grace, now):
                    marked.append(booking_id)
            except Exception as error:
                if is_transient(error):
                    raise
                log.exception("no_show_failed", booking_id=booking_id)
        self.marked += len(marked)
        return marked

    async def run(self) -> None:
        log.info("no_show_worker_started", grace_minutes=self.grace.total_seconds() / 60)
        while True:
            self.wakeup.clear()
            try:
                if marked := await self.run_once():
                    log.info("bookings_no_show", bookings=len(marked))
            except Exception as error:  # noqa: BLE001 - never end the worker
                if is_transient(error):
                    log.warning("no_show_waiting_for_database", error=type(error).__name__)
                else:
                    log.exception("no_show_round_failed")
            await wait_for_wakeup(self.wakeup, self.interval)
