"""Erasure and retention in intake, on the in-memory fakes: the vault lists keys past
their time, the worker erases each through the handler (one ``PersonalDataErased`` per
visit, actor ``retention``), and neither an outage nor one bad visit stops it."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy.exc import OperationalError

from services.intake.bootstrap import build_office_day
from services.intake.domain.commands import RecordQuestion, RegisterVisit
from services.intake.entrypoints.workers import RetentionWorker
from services.intake.handlers import queue, visits
from services.intake.unit_of_work import FakeIntakeUnitOfWork
from shared.catalog import load_catalog
from shared.errors import NotFound
from shared.vault import InMemoryVault
from tests.helpers import eventually

CATALOG = load_catalog()
TZ = ZoneInfo("Europe/Stockholm")
T0 = datetime(2025, 1, 1, 9, tzinfo=UTC)
PIN = "811218-9876"


class Clock:
    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock(T0)


@pytest.fixture
def vault(clock: Clock) -> InMemoryVault:
    return InMemoryVault(clock=clock)


def office_day(uow: FakeIntakeUnitOfWork):
    """The office day over the fake store's log (one per test's fake database)."""
    if not hasattr(uow, "day"):
        uow.day = build_office_day(TZ)
        uow.day.feed.follow(uow.read_log)
    return uow.day


@pytest.fixture
def uow() -> FakeIntakeUnitOfWork:
    return FakeIntakeUnitOfWork()


async def visit_with_pin(uow: FakeIntakeUnitOfWork, vault: InMemoryVault) -> str:
    visit = await queue.register_visit(RegisterVisit("kiruna", "desk"), uow.fresh(), CATALOG, office_day(uow))
    cmd = RecordQuestion(visit.id, "Id-kort", None, None, PIN)
    await visits.record_question(cmd, uow.fresh(), CATALOG, vault)
    return visit.id


def erasures(uow: FakeIntakeUnitOfWork) -> dict[str, str]:
    return {e.payload["visit_id"]: e.payload["actor"] for e in uow.events.of_type("intake.PersonalDataErased")}


async def test_the_vault_lists_keys_older_than_the_days_oldest_first(vault, clock):
    for day, visit_id in enumerate(["a", "b", "c"]):
        clock.now = T0 + timedelta(days=day)
        await vault.encrypt(visit_id, "198112189876")
    now = T0 + timedelta(days=32)
    assert await vault.keys_older_than(30, now) == ["a", "b"]
    assert await vault.keys_older_than(30, now, limit=1) == ["a"]
    assert await vault.keys_older_than(40, now) == []
    assert await vault.erase_older_than(31, now) == ["a"]
    assert await vault.keys_older_than(30, now) == ["b"]


async def test_an_erasure_records_who_and_when_and_reports_whether_a_key_existed(uow, vault):
    visit_id = await visit_with_pin(uow, vault)
    at = T0 + timedelta(hours=1)
    assert await visits.erase_personal_data(visit_id, "admin-1", uow.fresh(), vault, now=at) is True
    assert await visits.erase_personal_data(visit_id, "admin-1", uow.fresh(), vault) is False
    events = uow.events.of_type("intake.PersonalDataErased")
    assert [e.payload["actor"] for e in events] == ["admin-1", "admin-1"]
    assert events[0].payload["erased_at"] == at.isoformat().replace("+00:00", "Z")
    with pytest.raises(NotFound):
        await visits.erase_personal_data("no-such-visit", "admin-1", uow.fresh(), vault)


async def test_a_round_erases_the_visits_past_their_time_through_the_handler(uow, vault, clock):
    old = await visit_with_pin(uow, vault)
    await vault.encrypt("orphan", "198112189876")  # a key whose visit was never recorded
    clock.now = T0 + timedelta(days=20)
    young = await visit_with_pin(uow, vault)
    clock.now = T0 + timedelta(days=31)
    worker = RetentionWorker(uow.fresh, vault, days=30, clock=clock)
    assert await worker.run_once() == [old]
    assert erasures(uow) == {old: "retention"}
    assert set(vault.keys) == {young}
    assert await worker.run_once() == []  # nothing left past its time: nothing recorded
    assert erasures(uow) == {old: "retention"}


class FlakyVault(InMemoryVault):
    """Its database is down for the first ``outages`` listings."""

    def __init__(self, clock: Clock, outages: int) -> None:
        super().__init__(clock=clock)
        self.outages = outages

    async def keys_older_than(self, days, now=None, limit=1000):
        if self.outages:
            self.outages -= 1
            raise OperationalError("SELECT", {}, ConnectionRefusedError("database down"))
        return await super().keys_older_than(days, now, limit)


async def test_the_worker_waits_out_an_outage_and_goes_on(uow, clock):
    vault = FlakyVault(clock, outages=2)
    visit_id = await visit_with_pin(uow, vault)
    clock.now = T0 + timedelta(days=8)
    worker = RetentionWorker(uow.fresh, vault, days=7, interval_seconds=3600, clock=clock, retry_seconds=0.01)
    task = asyncio.create_task(worker.run())
    try:
        await eventually(lambda: asyncio.sleep(0, erasures(uow)), lambda found: visit_id in found)
        assert worker.failed_rounds == 2 and not task.done()
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
    assert erasures(uow) == {visit_id: "retention"}


async def test_one_visit_that_cannot_be_erased_does_not_block_the_others(uow, vault, clock, monkeypatch):
    first, second = await visit_with_pin(uow, vault), await visit_with_pin(uow, vault)
    clock.now = T0 + timedelta(days=8)
    real = visits.erase_personal_data

    async def broken_for_first(visit_id, actor, uow_, vault_, now=None):
        if visit_id == first:
            raise ValueError("a fault in this visit's stream")
        return await real(visit_id, actor, uow_, vault_, now)

    monkeypatch.setattr(visits, "erase_personal_data", broken_for_first)
    worker = RetentionWorker(uow.fresh, vault, days=7, clock=clock)
    assert await worker.run_once() == [second]
    assert erasures(uow) == {second: "retention"}


async def test_a_woken_worker_runs_a_round_at_once(uow, vault, clock):
    worker = RetentionWorker(uow.fresh, vault, days=7, interval_seconds=3600, clock=clock)
    task = asyncio.create_task(worker.run())
    try:
        await asyncio.sleep(0)
        visit_id = await visit_with_pin(uow, vault)
        clock.now = T0 + timedelta(days=8)
        worker.wake()
        await eventually(lambda: asyncio.sleep(0, erasures(uow)), lambda found: visit_id in found)
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)


async def test_an_erasure_cut_off_after_the_key_went_is_recorded_in_the_next_round(uow, vault, clock):
    """The vault destroyed the key, then intake's commit met an outage: the vault no
    longer lists the visit, yet its erasure must still become an event."""
    visit_id = await visit_with_pin(uow, vault)
    clock.now = T0 + timedelta(days=8)
    outages = [OperationalError("COMMIT", {}, ConnectionRefusedError("database down"))]

    def factory() -> FakeIntakeUnitOfWork:
        unit = uow.fresh()
        if outages:
            error = outages.pop()

            async def failing_commit() -> None:
                raise error

            unit._commit = failing_commit  # type: ignore[method-assign]
        return unit

    worker = RetentionWorker(factory, vault, days=7, clock=clock)
    with pytest.raises(OperationalError):
        await worker.run_once()
    assert visit_id not in vault.keys and erasures(uow) == {}
    assert await worker.run_once() == [visit_id]
    assert erasures(uow) == {visit_id: "retention"} and worker.unfinished == {}
