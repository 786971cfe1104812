"""The office day's handlers: tickets in queues, desks, call-next, recall, no-show and
transfer. Plain async functions ``(command, uow or factory, office_day)``; ``record``
stores an ``Idempotency-Key``'s answer with the events (``handlers/visits.py``)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo

from services.intake.adapters.board_feed import BoardFeed
from services.intake.domain.commands import (
    CallNext,
    CloseDesk,
    MarkNoShow,
    OpenDesk,
    RecallVisit,
    RegisterVisit,
    TransferVisit,
)
from services.intake.domain.events import VisitRegistered
from services.intake.domain.model import Desk, Visit, check_hints
from services.intake.domain.queue_board import QueueBoard
from services.intake.handlers.visits import load_visit
from services.intake.unit_of_work import SqlIntakeUnitOfWork as IntakeUnitOfWork
from shared.catalog import Catalog
from shared.errors import ConcurrencyError, Conflict, InvalidInput
from shared.events import utc_now
from shared.handlers import retry_on_conflict
from shared.idempotency import Recorder, no_record
from shared.offices import GENERAL_QUEUE, Office, OfficeRegistry, queue_service, queue_services
from shared.unit_of_work import new_id


@dataclass
class OfficeDay:
    """What the office day's handlers share: the registry, the board and its feed."""

    offices: OfficeRegistry
    board: QueueBoard
    feed: BoardFeed
    tz: ZoneInfo

    def office(self, office_id: str) -> Office:
        office = self.offices.get(office_id)
        if office is None:
            raise InvalidInput(
                f"unknown office {office_id!r}", {"known_offices": sorted(self.offices.offices)}
            )
        return office

    def check_queues(self, office: Office, queues: list[str] | tuple[str, ...]) -> None:
        offered = [s.queue for s in queue_services(office)]
        if unknown := [q for q in queues if q not in offered]:
            raise InvalidInput(
                f"office {office.id} has no queue {', '.join(map(repr, unknown))}", {"queues": offered}
            )

    def service_day(self, at: datetime) -> str:
        return at.astimezone(self.tz).date().isoformat()


@dataclass(frozen=True)
class Ticket:
    """A registered visit, with the place and wait the kiosk shows (both from the board as
    it was just before the visit joined it)."""

    visit: Visit
    position: int


def ticket_label(letter: str, number: int) -> str:
    """``A001`` … ``A999``, then ``A1000``: numbered per queue, office and day."""
    return f"{letter}{number:03d}"


async def register_visit(cmd: RegisterVisit, uow: IntakeUnitOfWork, catalog: Catalog, day: OfficeDay) -> Visit:
    """``take_ticket``'s visit."""
    return (await take_ticket(cmd, uow, catalog, day)).visit


async def take_ticket(
    cmd: RegisterVisit, uow: IntakeUnitOfWork, catalog: Catalog, day: OfficeDay,
    record: Recorder = no_record,
) -> Ticket:
    """A ticket in the asked queue; the number comes from one atomic upsert per queue,
    office and day, so concurrent kiosks never get the same ticket."""
    agency = check_hints(catalog, cmd.agency, None)
    office = day.office(cmd.office_id)
    queue = cmd.queue or GENERAL_QUEUE
    day.check_queues(office, [queue])
    service = queue_service(office, queue)
    await day.feed.catch_up(day.feed.poll_seconds)  # the board as the displays show it
    now = utc_now()
    service_day = day.service_day(now)
    position, estimate = _estimate(day, cmd.office_id, queue, service_day, now)
    async with uow:
        number = await uow.tickets.next_number(cmd.office_id, service_day, queue)
        visit = Visit.register(
            VisitRegistered(
                visit_id=new_id(), office_id=cmd.office_id, channel=cmd.channel, agency=agency,
                ticket=ticket_label(service.letter, number), service_day=service_day,
                registered_at=now, queue=queue,
                estimated_wait_minutes=estimate,
            )
        )
        uow.save(visit)
        ticket = Ticket(visit, position)
        await record(uow, ticket)
        await uow.commit()
    await day.feed.catch_up(day.feed.poll_seconds)  # reads: the commit notified the feed
    return ticket


def _estimate(
    day: OfficeDay, office_id: str, queue: str, service_day: str, now: datetime
) -> tuple[int, float | None]:
    """The place and the wait the kiosk shows this visitor (the board before the visit is
    on it: one more than those waiting in the queue); the wait is recorded so reporting
    can measure its error."""
    position = 1 + day.board.office(office_id).waiting_in(service_day, queue)
    estimate = day.board.estimate(office_id, queue, position, now)
    return position, None if estimate is None else round(estimate, 1)


@retry_on_conflict
async def open_desk(cmd: OpenDesk, uow: IntakeUnitOfWork, day: OfficeDay, record: Recorder = no_record) -> Desk:
    office = day.office(cmd.office_id)
    day.check_queues(office, cmd.queues)
    async with uow:
        desk = await load_desk(uow, cmd.office_id, cmd.desk)
        desk.open(cmd.office_id, cmd.desk, list(cmd.queues), cmd.handler, utc_now())
        uow.save(desk)
        await record(uow, desk)
        await uow.commit()
    await day.feed.catch_up()
    return desk


@retry_on_conflict
async def close_desk(cmd: CloseDesk, uow: IntakeUnitOfWork, day: OfficeDay, record: Recorder = no_record) -> Desk:
    """Closing a closed desk changes nothing (and stores no answer: it is safe to repeat)."""
    day.office(cmd.office_id)
    async with uow:
        desk = await load_desk(uow, cmd.office_id, cmd.desk)
        if desk.close(cmd.office_id, cmd.desk, utc_now()):
            uow.save(desk)
            await record(uow, desk)
            await uow.commit()
    await day.feed.catch_up()
    return desk


async def load_desk(uow: IntakeUnitOfWork, office_id: str, name: str) -> Desk:
    stream = Desk.stream_id(office_id, name)
    return Desk.rehydrate(stream, [e.event() for e in await uow.events.load(stream)])


async def call_next(
    cmd: CallNext, uow_factory: Callable[[], IntakeUnitOfWork], day: OfficeDay, attempts: int = 20,
    record: Recorder = no_record,
) -> Visit | None:
    """Take the first candidate that is still waiting. The board may be a moment behind
    (another desk, another replica): the visit's own stream decides, and a desk that
    loses a race for a visitor simply takes the next one."""
    office = day.office(cmd.office_id)
    queues = cmd.queues or day.board.desk_queues(cmd.office_id, cmd.desk) or ()
    day.check_queues(office, queues)
    queues = queues or tuple(s.queue for s in queue_services(office))
    skipped: set[str] = set()
    for _ in range(attempts):
        await day.feed.catch_up()
        now = utc_now()
        candidates = day.board.candidates(cmd.office_id, list(queues), cmd.desk, day.service_day(now), now)
        candidate = next((c for c in candidates if c.visit_id not in skipped), None)
        if candidate is None:
            return None
        try:
            async with uow_factory() as uow:
                visit = await load_visit(uow, candidate.visit_id)
                visit.call_next(cmd.desk, now)
                uow.save(visit)
                await record(uow, visit)
                await uow.commit()
        except (ConcurrencyError, Conflict):
            skipped.add(candidate.visit_id)
            continue
        await day.feed.catch_up()
        return visit
    raise ConcurrencyError("too many desks are calling at once; try again")


async def _change_visit(
    visit_id: str, uow: IntakeUnitOfWork, day: OfficeDay, change: Callable[[Visit], None],
    record: Recorder = no_record,
) -> Visit:
    """Load the visit, apply the desk's change, commit, and put it on the board."""
    async with uow:
        visit = await load_visit(uow, visit_id)
        change(visit)
        uow.save(visit)
        await record(uow, visit)
        await uow.commit()
    await day.feed.catch_up()
    return visit


@retry_on_conflict
async def recall_visit(cmd: RecallVisit, uow: IntakeUnitOfWork, day: OfficeDay, record: Recorder = no_record) -> Visit:
    return await _change_visit(cmd.visit_id, uow, day, lambda v: v.recall(cmd.desk, utc_now()), record)


@retry_on_conflict
async def mark_no_show(cmd: MarkNoShow, uow: IntakeUnitOfWork, day: OfficeDay, record: Recorder = no_record) -> Visit:
    return await _change_visit(cmd.visit_id, uow, day, lambda v: v.mark_no_show(cmd.desk, utc_now()), record)


@retry_on_conflict
async def transfer_visit(
    cmd: TransferVisit, uow: IntakeUnitOfWork, day: OfficeDay, record: Recorder = no_record
) -> Visit:
    if (cmd.queue is None) == (cmd.desk is None):
        raise InvalidInput("transfer to a queue or to a desk: give exactly one of them")

    def transfer(visit: Visit) -> None:
        if cmd.queue is not None:
            day.check_queues(day.office(visit.state.office_id), [cmd.queue])
        visit.transfer(cmd.queue, cmd.desk, None, utc_now())

    return await _change_visit(cmd.visit_id, uow, day, transfer, record)
