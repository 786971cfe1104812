"""Intake's command handlers: plain async functions ``(command, uow, **deps)``.

``record`` (shared/idempotency.py) is called inside the unit of work, just before the
commit, with what the handler returns: a request's ``Idempotency-Key`` and its answer are
stored with the events, or neither is."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

from services.intake.domain.commands import (
    CallVisit,
    EndVisit,
    RecordQuestion,
    ResolveQuestion,
)
from services.intake.domain.events import QuestionRecorded
from services.intake.domain.model import PersonalDataErasedError, Visit, check_hints
from services.intake.unit_of_work import SqlIntakeUnitOfWork as IntakeUnitOfWork
from shared.catalog import Catalog
from shared.errors import NotFound
from shared.events import utc_now
from shared.handlers import retry_on_conflict
from shared.idempotency import Recorder, no_record
from shared.personal_data import normalise_pin, scrub_text
from shared.unit_of_work import new_id
from shared.vault import Vault

if TYPE_CHECKING:
    from services.intake.adapters.pseudonym import Pseudonymizer


async def load_visit(uow: IntakeUnitOfWork, visit_id: str) -> Visit:
    envelopes = await uow.events.load(visit_id)
    if not envelopes:
        raise NotFound(f"no visit {visit_id}")
    return Visit.rehydrate(visit_id, [e.event() for e in envelopes])


@retry_on_conflict
async def call_visit(cmd: CallVisit, uow: IntakeUnitOfWork, record: Recorder = no_record) -> Visit:
    async with uow:
        visit = await load_visit(uow, cmd.visit_id)
        visit.call(cmd.desk, utc_now())
        uow.save(visit)
        await record(uow, visit)
        await uow.commit()
    return visit


@retry_on_conflict
async def record_question(
    cmd: RecordQuestion, uow: IntakeUnitOfWork, catalog: Catalog, vault: Vault,
    pseudonyms: Pseudonymizer | None = None, record: Recorder = no_record,
) -> QuestionRecorded:
    """The identity number is validated, then sealed with the visit's data key: from here
    on it exists only as ciphertext (until the agency gateway opens it for the agency),
    beside its keyed hash (the person pseudonym) when ``pseudonyms`` is given.

    A visit whose personal data was erased takes no identity number again (409, before a
    data key could be made for it again); the text is masked as on every question."""
    agency = check_hints(catalog, cmd.agency, cmd.case_type)
    pin = normalise_pin(cmd.personal_identity_number) if cmd.personal_identity_number else None
    pseudonym = pseudonyms.of(pin) if pin is not None and pseudonyms is not None else None
    if pin is not None:
        (await get_visit(cmd.visit_id, uow)).check_takes_question(personal_identity_number=True)
        pin = await vault.encrypt(cmd.visit_id, pin)
    async with uow:
        visit = await load_visit(uow, cmd.visit_id)
        event = QuestionRecorded(
            visit_id=visit.id,
            question_id=new_id(),
            office_id=visit.state.office_id,
            text=scrub_text(cmd.text),
            agency=agency,
            case_type=cmd.case_type,
            personal_identity_number=pin,
            recorded_at=utc_now(),
            person_pseudonym=pseudonym,
        )
        try:
            visit.record_question(event)
        except PersonalDataErasedError:
            # Erased between the check above and here: the key the seal may just have
            # made again goes the way of the first one.
            await vault.erase(visit.id)
            raise
        await uow.questions.add(event.question_id, visit.id)
        uow.save(visit)
        await record(uow, event)
        await uow.commit()
    return event


@retry_on_conflict
async def resolve_question(cmd: ResolveQuestion, uow: IntakeUnitOfWork, record: Recorder = no_record) -> Visit:
    async with uow:
        visit_id = await uow.questions.visit_of(cmd.question_id)
        if visit_id is None:
            raise NotFound(f"no question {cmd.question_id}")
        visit = await load_visit(uow, visit_id)
        visit.resolve(cmd.question_id, cmd.outcome, cmd.note, utc_now())
        uow.save(visit)
        await record(uow, visit)
        await uow.commit()
    return visit


@retry_on_conflict
async def end_visit(cmd: EndVisit, uow: IntakeUnitOfWork, record: Recorder = no_record) -> Visit:
    async with uow:
        visit = await load_visit(uow, cmd.visit_id)
        visit.end(cmd.satisfaction, utc_now())
        uow.save(visit)
        await record(uow, visit)
        await uow.commit()
    return visit


@retry_on_conflict
async def erase_personal_data(
    visit_id: str, actor: str, uow: IntakeUnitOfWork, vault: Vault, now: datetime | None = None
) -> bool:
    """Destroy the visit's data key, then record who erased it (at ``now``, default the
    present); True if a key existed."""
    async with uow:
        visit = await load_visit(uow, visit_id)
        existed = await vault.erase(visit_id)
        visit.record_erasure(actor, now or utc_now())
        uow.save(visit)
        await uow.commit()
    return existed


async def get_visit(visit_id: str, uow: IntakeUnitOfWork) -> Visit:
    async with uow:
        return await load_visit(uow, visit_id)
