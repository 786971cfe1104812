"""The office day's routes: offices and their queues, desks, call-next, recall, no-show,
transfer, and the live queue (JSON and Server-Sent Events)."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from dataclasses import asdict
from typing import Annotated

from fastapi import APIRouter, Depends, Path, Request, Response
from fastapi.encoders import jsonable_encoder
from sse_starlette import EventSourceResponse

from services.intake.domain.commands import (
    CallNext,
    CloseDesk,
    MarkNoShow,
    OpenDesk,
    RecallVisit,
    TransferVisit,
)
from services.intake.entrypoints.deps import OfficeDayDep, UowDep
from services.intake.entrypoints.schemas import (
    Ack,
    CallNextRequest,
    DeskName,
    DeskOpen,
    DeskPublic,
    DeskRef,
    OfficePublic,
    OfficeQueuePublic,
    OfficesPublic,
    QueueServicePublic,
    TransferRequest,
    VisitCalledPublic,
)
from services.intake.handlers import queue
from services.intake.handlers.queue import OfficeDay
from services.intake.views import office_queue
from shared.errors import NotFound
from shared.events import utc_now
from shared.idempotency import IdempotencyDep, IdempotentRoute
from shared.offices import Office, queue_services
from shared.security import Principal, needs, require

# Every POST takes an Idempotency-Key (shared/idempotency.py): a desk's retry of call-next
# must not call a second visitor, nor a retried transfer count twice.
router = APIRouter(tags=["office day"], route_class=IdempotentRoute)
OfficeId = Annotated[str, Path(pattern=r"^[a-z0-9][a-z0-9-]{1,59}$")]
Desk = Annotated[DeskName, Path()]  # the pattern, and no personal data (422)
Caller = Annotated[Principal, Depends(require("visits:call"))]
QueueReader = Annotated[Principal, Depends(require("queue:read"))]


def office_public(office: Office) -> OfficePublic:
    return OfficePublic(
        office_id=office.id, name=office.name, municipality=office.municipality,
        county=office.county, lead_agency=office.lead_agency, size=office.size,
        opening_hours=dict(office.opening_hours), id_cards=office.id_cards,
        newcomer_meeting_place=office.newcomer_meeting_place,
        video_meetings=office.video_meetings, booked_meetings=office.booked_meetings,
        agency_desks=sorted(office.desks),
        services=[QueueServicePublic(**asdict(s)) for s in queue_services(office)],
    )


def known_office(day: OfficeDay, office_id: str) -> Office:
    office = day.offices.get(office_id)
    if office is None:
        raise NotFound(f"no office {office_id!r}")
    return office


@router.get("/offices", response_model=OfficesPublic, dependencies=needs("offices:read"))
async def list_offices(day: OfficeDayDep) -> OfficesPublic:
    return OfficesPublic(offices=[office_public(o) for o in day.offices])


@router.get("/offices/{office_id}", response_model=OfficePublic, dependencies=needs("offices:read"))
async def get_office(office_id: OfficeId, day: OfficeDayDep) -> OfficePublic:
    return office_public(known_office(day, office_id))


@router.post("/offices/{office_id}/desks/{desk}/open", response_model=DeskPublic)
async def open_desk(
    office_id: OfficeId, desk: Desk, body: DeskOpen, uow: UowDep, day: OfficeDayDep, caller: Caller,
    once: IdempotencyDep,
) -> DeskPublic:
    """Open a service point with its work profile (the queues it calls from; none: all)."""
    known_office(day, office_id)

    def opened(found) -> DeskPublic:
        return DeskPublic(office_id=office_id, desk=desk, open=True, queues=list(found.state.queues),
                          handler=found.state.handler)

    cmd = OpenDesk(office_id, desk, tuple(body.queues), caller.subject)
    return opened(await queue.open_desk(cmd, uow, day, once.recorder(opened)))


@router.post("/offices/{office_id}/desks/{desk}/close", response_model=DeskPublic)
async def close_desk(
    office_id: OfficeId, desk: Desk, uow: UowDep, day: OfficeDayDep, caller: Caller, once: IdempotencyDep
) -> DeskPublic:
    known_office(day, office_id)
    answer = DeskPublic(office_id=office_id, desk=desk, open=False, queues=[], handler=caller.subject)
    await queue.close_desk(CloseDesk(office_id, desk), uow, day, once.recorder(answer))
    return answer


@router.post(
    "/offices/{office_id}/desks/{desk}/call-next",
    response_model=VisitCalledPublic,
    responses={204: {"description": "nobody waits in these queues"}},
    dependencies=needs("visits:call"),
)
async def call_next(
    office_id: OfficeId, desk: Desk, request: Request, day: OfficeDayDep, once: IdempotencyDep,
    body: CallNextRequest | None = None,
) -> VisitCalledPublic | Response:
    """The longest-waiting visit of the desk's queues (visits transferred to this desk
    and booked appointments first); 204 when nobody waits (not stored: a retry asks
    again)."""
    known_office(day, office_id)
    queues = tuple(body.queues) if body and body.queues else None

    def called(visit) -> VisitCalledPublic:
        s = visit.state
        return VisitCalledPublic(visit_id=visit.id, ticket=s.ticket, queue=s.queue, desk=desk,
                                 called_at=s.last_called_at)

    visit = await queue.call_next(
        CallNext(office_id, desk, queues), request.app.state.runtime.uow_factory, day,
        record=once.recorder(called),
    )
    return Response(status_code=204) if visit is None else called(visit)


@router.post("/visits/{visit_id}/recall", response_model=Ack, dependencies=needs("visits:call"))
async def recall(
    visit_id: str, uow: UowDep, day: OfficeDayDep, once: IdempotencyDep, body: DeskRef | None = None
) -> Ack:
    answer = Ack(visit_id=visit_id, status="recalled")
    cmd = RecallVisit(visit_id, body.desk if body else None)
    await queue.recall_visit(cmd, uow, day, once.recorder(answer))
    return answer


@router.post("/visits/{visit_id}/no-show", response_model=Ack, dependencies=needs("visits:call"))
async def no_show(
    visit_id: str, uow: UowDep, day: OfficeDayDep, once: IdempotencyDep, body: DeskRef | None = None
) -> Ack:
    answer = Ack(visit_id=visit_id, status="no_show")
    cmd = MarkNoShow(visit_id, body.desk if body else None)
    await queue.mark_no_show(cmd, uow, day, once.recorder(answer))
    return answer


@router.post("/visits/{visit_id}/transfer", response_model=Ack, dependencies=needs("visits:call"))
async def transfer(visit_id: str, body: TransferRequest, uow: UowDep, day: OfficeDayDep, once: IdempotencyDep) -> Ack:
    """To another queue (``{"queue"}``) or to one desk (``{"desk"}``); the visitor keeps
    the place their arrival time gives them."""
    answer = Ack(visit_id=visit_id, status="transferred")
    cmd = TransferVisit(visit_id, body.queue, body.desk)
    await queue.transfer_visit(cmd, uow, day, once.recorder(answer))
    return answer


def _queue_document(day: OfficeDay, office: Office, principal: Principal) -> dict:
    now = utc_now()
    return office_queue(day.board, office, now, day.service_day(now), "visits:read" in principal.scopes)


@router.get("/offices/{office_id}/queue", response_model=OfficeQueuePublic, response_model_exclude_unset=True)
async def get_queue(office_id: OfficeId, day: OfficeDayDep, principal: QueueReader) -> dict:
    """Waiting counts, tickets in order, waits and estimates per queue, recent calls and
    open desks. The display role gets no visit ids."""
    office = known_office(day, office_id)
    await day.feed.catch_up()
    return _queue_document(day, office, principal)


@router.get(
    "/offices/{office_id}/queue/stream",
    responses={200: {"content": {"text/event-stream": {}}, "description": "one `queue` event per change"}},
)
async def stream_queue(office_id: OfficeId, request: Request, day: OfficeDayDep, principal: QueueReader):
    """Server-Sent Events: the queue document at once, then again on every change."""
    office = known_office(day, office_id)
    await day.feed.catch_up()
    return EventSourceResponse(_changes(request, day, office, principal), ping=15)


async def _changes(request: Request, day: OfficeDay, office: Office, principal: Principal) -> AsyncIterator[dict]:
    changes = day.feed.listen(office.id)
    try:
        while True:
            document = jsonable_encoder(_queue_document(day, office, principal))
            yield {"event": "queue", "data": json.dumps(document, ensure_ascii=False)}
            await changes.get()
    finally:
        day.feed.unlisten(office.id, changes)
