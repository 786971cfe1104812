"""The delivery worker: forwards due cases to the agencies' systems.

Exactly once in effect, and why. Each attempt is three steps: a short transaction
claims the delivery (its next attempt moves to the end of a lease), the POST runs with no
database session open, and a second short transaction records the outcome as events plus
the delivery row. Every POST of one case carries the same ``Idempotency-Key`` (the
question id), and the agency keeps one case per key and answers a repeat with 409 and the
reference it gave the first time. So whatever dies when (this process between the POST
and the commit, the network after the agency stored the case, the database during the
commit), the case is only ever sent again with the same key: at least once on the wire,
once in the agency's system, and the outcome recorded once (outcomes on a delivered or
dead-lettered case are refused by the aggregate, concurrent writers by the stream
version). The retry schedule lives in the table, so a restart resumes it.

Stopping (the worker is cancelled): no new claims; the calls in flight get
``stop_grace_seconds`` to end and have their outcomes recorded; the ones still waiting
then are cut off and handed back (``hand_back``: due again at once, not when the lease
ends), so the next worker to run sends them at once, with the same key.

One agency's trouble stays its own: at most ``max_in_flight`` calls per agency, and a
circuit breaker per agency (``domain.traffic``) stops calling an agency that keeps
failing until a probe succeeds; its due cases wait in the table meanwhile.

Each outcome is recorded in its own transaction as its call ends, and the call's slot is
free once it is (recording outcomes in batches measured no gain and a worse tail, see
docs/performance.md). Until then the delivery stays this worker's: it is not claimed again
here even if its lease ran out meanwhile; one that cannot be recorded is left to its lease.
"""

from __future__ import annotations

import asyncio
import random
import time
from collections.abc import Callable
from datetime import datetime, timedelta

import structlog

from services.agency_gateway.adapters.agency_client import AgencyClient
from services.agency_gateway.config import GatewaySettings
from services.agency_gateway.domain.minimisation import SEALED_FIELDS
from services.agency_gateway.domain.outcomes import Accepted, Outcome, Rejected
from services.agency_gateway.domain.traffic import Traffic
from services.agency_gateway.handlers import Claimed, claim_due, record_outcome
from services.agency_gateway.handlers.delivery import hand_back
from services.agency_gateway.unit_of_work import GatewayUnitOfWork
from shared import tracing
from shared.events import utc_now
from shared.vault import Vault, is_token

log = structlog.get_logger(__name__)

LEASE_MARGIN_SECONDS = 2.0  # beyond the request timeout: time to record the outcome
MIN_WAIT_SECONDS = 0.01  # lets a replica holding a row commit instead of spinning on it


class DeliveryWorker:
    def __init__(
        self,
        uow_factory: Callable[[], GatewayUnitOfWork],
        agency: AgencyClient,
        settings: GatewaySettings,
        clock: Callable[[], datetime] = utc_now,
        rand: Callable[[], float] = random.random,
        idle_seconds: float = 1.0,
        monotonic: Callable[[], float] = time.monotonic,
        vault: Vault | None = None,
        stop_grace_seconds: float = 2.0,
    ) -> None:
        self.vault = vault
        self.stop_grace_seconds = stop_grace_seconds
        self.uow_factory = uow_factory
        self.agency = agency
        self.settings = settings
        self.clock = clock
        self.rand = rand
        self.idle_seconds = idle_seconds
        self.monotonic = monotonic
        self.lease = timedelta(seconds=settings.longest_timeout() + LEASE_MARGIN_SECONDS)
        self.traffic = Traffic(
            settings.agency_max_in_flight,
            lambda agency: settings.target(agency).max_in_flight,
            settings.new_breaker,
        )
        self.wakeup = asyncio.Event()
        self.tasks: dict[str, asyncio.Task[None]] = {}  # until the outcome is recorded

    def wake(self) -> None:
        """Called after a case is queued or replayed (and when a slot frees)."""
        self.wakeup.set()

    async def start_due(self) -> list[asyncio.Task[None]]:
        """Claim what is due (within the concurrency bounds and breakers) and send it."""
        if self.traffic.free_slots() <= 0:
            return []
        now = self.monotonic()
        claimed = await claim_due(
            self.uow_factory(),
            self.clock(),
            self.lease,
            self.traffic.free_slots(),
            lambda agency: self.traffic.room(agency, now),
            self.traffic.blocked(now),
            self.tasks.keys(),  # in flight, or its outcome not yet recorded
        )
        return [self._start(c) for c in claimed]

    async def run_once(self) -> int:
        """Claim what is due and wait for those deliveries to finish."""
        tasks = await self.start_due()
        await asyncio.gather(*tasks)
        return len(tasks)

    async def run(self) -> None:
        """Deliver until cancelled. Sleeps until woken or the next due time (at most
        ``idle_seconds``); never spins."""
        try:
            while True:
                self.wakeup.clear()
                try:
                    await self.start_due()
                    # Not "claim again at once": what is left is capped, blocked or not
                    # due, and the next due time (from the same skip list) says when.
                    timeout = await self._seconds_until_due()
                except Exception:  # a database outage must not end the worker: try again
                    log.exception("delivery_worker_error")
                    timeout = self.idle_seconds
                await self._wait(timeout)
        finally:
            await self._stop()

    async def _wait(self, timeout: float) -> None:
        """Until woken or ``timeout``. Not ``asyncio.wait_for``: on Python 3.11 it can
        swallow a cancellation that arrives as the event is set, and the worker would
        never stop."""
        try:
            async with asyncio.timeout(timeout):
                await self.wakeup.wait()
        except TimeoutError:
            pass

    async def _seconds_until_due(self) -> float:
        if self.traffic.free_slots() <= 0:
            return self.idle_seconds
        now = self.monotonic()
        async with self.uow_factory() as uow:
            due_at = await uow.deliveries.next_due_at(self.traffic.blocked(now))
        waits = [self.idle_seconds]
        if due_at is not None:
            waits.append((due_at - self.clock()).total_seconds())
        if (reopens := self.traffic.next_change(now)) is not None:
            waits.append(reopens)
        return max(MIN_WAIT_SECONDS, min(waits))

    def _start(self, claimed: Claimed) -> asyncio.Task[None]:
        self.traffic.started(claimed.question_id, claimed.agency, self.monotonic())
        task = asyncio.create_task(self._deliver(claimed), name=f"deliver-{claimed.question_id}")
        self.tasks[claimed.question_id] = task
        return task

    async def _deliver(self, claimed: Claimed) -> None:
        outcome: Outcome | None = None
        try:
            target = self.settings.target(claimed.agency)
            if target.uses_simulator and self.settings.environment == "production":
                outcome = Rejected(f"no endpoint configured for agency {claimed.agency!r}")
            else:
                case = await self._opened(claimed.case, claimed.agency)
                with tracing.continued(claimed.trace):  # the question's trace (issue 13)
                    outcome = await self.agency.send(target, claimed.question_id, case, claimed.kind)
            await record_outcome(
                claimed.question_id, outcome, self.uow_factory(), target.policy, self.rand, self.clock()
            )
        except Exception:  # unrecorded: the lease runs out and the case is sent again
            log.exception("delivery_outcome_not_recorded", question_id=claimed.question_id)
        finally:
            self.tasks.pop(claimed.question_id, None)
            self._finished(claimed, outcome)  # frees the slot and wakes the loop
            if not isinstance(outcome, Accepted | Rejected):
                self.wakeup.set()  # a retry time is recorded now (or the lease stands)

    def _finished(self, claimed: Claimed, outcome: Outcome | None) -> None:
        """The call has ended and its outcome is recorded (or given up on): free the slot;
        the traffic's breaker counts the outcome."""
        if claimed.question_id in self.traffic.in_flight:
            self.traffic.finished(claimed.question_id, outcome, self.monotonic())
            self.wakeup.set()

    async def _opened(self, case: dict, receiver: str) -> dict:
        """Open the sealed identity number (and a booking's name and phone), only for the
        agency responsible for the case and only now, in memory; an erased visit's (or
        booking's) value cannot be opened and is left out."""
        opened = dict(case)
        for name in SEALED_FIELDS:
            sealed = case.get(name)
            if not is_token(sealed):
                continue
            if self.vault is None or case.get("agency") != receiver:
                opened[name] = None
            else:
                opened[name] = await self.vault.decrypt(sealed)
        return opened

    async def _stop(self) -> None:
        """Let the calls in flight end (``stop_grace_seconds``), then cut off the rest and
        hand them back. Bounded even if cancelled again: whatever is left is cancelled, and
        a delivery not handed back is resent when its lease runs out, same key."""
        try:
            if self.tasks and self.stop_grace_seconds > 0:
                await asyncio.wait(list(self.tasks.values()), timeout=self.stop_grace_seconds)
        finally:
            cut = dict(self.tasks)
            tasks = list(cut.values())
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
        if cut:
            log.info("deliveries_cut_off", count=len(cut))
            try:
                async with asyncio.timeout(1.0):
                    await hand_back(list(cut), self.uow_factory(), self.clock())
            except Exception as error:  # noqa: BLE001 - their leases still run out
                log.warning("deliveries_not_handed_back", count=len(cut), error=repr(error))
