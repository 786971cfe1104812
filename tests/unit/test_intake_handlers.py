from zoneinfo import ZoneInfo

import pytest

from services.intake.bootstrap import build_office_day
from services.intake.domain.commands import (
    CallVisit,
    EndVisit,
    RecordQuestion,
    RegisterVisit,
    ResolveQuestion,
)
from services.intake.domain.events import Satisfaction
from services.intake.handlers import queue, visits
from services.intake.unit_of_work import FakeIntakeUnitOfWork
from shared.catalog import load_catalog
from shared.errors import Conflict, InvalidInput, NotFound
from shared.vault import InMemoryVault

CATALOG = load_catalog()
VAULT = InMemoryVault()
TZ = ZoneInfo("Europe/Stockholm")


def office_day(uow: FakeIntakeUnitOfWork):
    """The office day over the fake store's log (one per test's fake database)."""
    if not hasattr(uow, "day"):
        uow.day = build_office_day(TZ)
        uow.day.feed.follow(uow.read_log)
    return uow.day


@pytest.fixture
def uow() -> FakeIntakeUnitOfWork:
    return FakeIntakeUnitOfWork()


async def register(uow, office="kiruna", channel="kiosk", agency=None):
    return await queue.register_visit(RegisterVisit(office, channel, agency), uow.fresh(), CATALOG, office_day(uow))


async def test_tickets_count_up_per_office_and_day(uow):
    first, second = await register(uow), await register(uow)
    other_office = await register(uow, office="lulea")
    assert [first.state.ticket, second.state.ticket, other_office.state.ticket] == ["A001", "A002", "A001"]
    assert len(uow.events.of_type("intake.VisitRegistered")) == 3


async def test_unknown_agency_hint_is_refused_and_nothing_is_recorded(uow):
    with pytest.raises(InvalidInput):
        await register(uow, agency="riksbanken")
    assert uow.events.log == []


async def test_question_text_is_scrubbed_and_identity_number_normalised(uow):
    visit = await register(uow)
    cmd = RecordQuestion(visit.id, "Mitt personnummer är 811218-9876", None, None, "811218-9876")
    event = await visits.record_question(cmd, uow.fresh(), CATALOG, VAULT)
    assert "9876" not in event.text
    sealed = event.personal_identity_number
    assert sealed.startswith("pd1:") and "198112189876" not in sealed
    assert await VAULT.decrypt(sealed) == "198112189876"
    await VAULT.erase(visit.id)
    assert await VAULT.decrypt(sealed) is None
    assert await uow.questions.visit_of(event.question_id) == visit.id


async def test_case_type_without_agency_is_inferred_when_unambiguous(uow):
    visit = await register(uow)
    event = await visits.record_question(RecordQuestion(visit.id, "id-kort", None, "id_kort"), uow.fresh(), CATALOG, VAULT)
    assert event.agency == "skatteverket"
    with pytest.raises(InvalidInput):
        await visits.record_question(RecordQuestion(visit.id, "övrigt", None, "ovrigt"), uow.fresh(), CATALOG, VAULT)


async def test_question_for_unknown_visit_is_not_found(uow):
    with pytest.raises(NotFound):
        await visits.record_question(RecordQuestion("no-such-visit", "hej"), uow.fresh(), CATALOG, VAULT)


async def test_a_question_is_resolved_once(uow):
    visit = await register(uow)
    event = await visits.record_question(RecordQuestion(visit.id, "Bostadsbidrag?"), uow.fresh(), CATALOG, VAULT)
    await visits.resolve_question(ResolveQuestion(event.question_id, "answered"), uow.fresh())
    with pytest.raises(Conflict):
        await visits.resolve_question(ResolveQuestion(event.question_id, "referred"), uow.fresh())


async def test_an_ended_visit_takes_no_more_questions_calls_or_ends(uow):
    visit = await register(uow)
    await visits.call_visit(CallVisit(visit.id, "D1"), uow.fresh())
    await visits.end_visit(EndVisit(visit.id, Satisfaction(treatment=5, time=4, got_help=True)), uow.fresh())
    for attempt in (
        visits.record_question(RecordQuestion(visit.id, "hej"), uow.fresh(), CATALOG, VAULT),
        visits.call_visit(CallVisit(visit.id, "D2"), uow.fresh()),
        visits.end_visit(EndVisit(visit.id), uow.fresh()),
    ):
        with pytest.raises(Conflict):
            await attempt
    loaded = await visits.get_visit(visit.id, uow.fresh())
    assert loaded.state.desk == "D1" and loaded.state.satisfaction.time == 4
    assert [e.stream_version for e in await uow.events.load(visit.id)] == [1, 2, 3]
