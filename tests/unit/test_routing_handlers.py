import pytest

from services.routing import views
from services.routing.adapters.rule_files import load_classifier, load_router
from services.routing.handlers import decisions as handlers
from services.routing.unit_of_work import FakeRoutingUnitOfWork
from shared.catalog import load_catalog
from shared.consumer import EventConsumer
from shared.errors import Conflict, InvalidInput
from shared.tracking import Checkpoint
from tests.factories import envelope, question_recorded
from tests.helpers import random_id

CATALOG = load_catalog()


@pytest.fixture
def uow() -> FakeRoutingUnitOfWork:
    return FakeRoutingUnitOfWork()


def consumer_for(uow: FakeRoutingUnitOfWork) -> EventConsumer:
    from functools import partial

    handler = partial(handlers.classify_question, classifier=load_classifier())
    return EventConsumer("routing", ["t"], uow.fresh, {"intake.QuestionRecorded": handler})


async def test_complex_question_is_classified_and_routed_with_its_identity_number(uow):
    recorded = envelope(question_recorded(text="Jag vill ansöka om id-kort", personal_identity_number="198112189876"))
    await consumer_for(uow).handle(recorded, Checkpoint("t", 0, 1))
    types = [e.event_type for e in uow.events.log]
    assert types == ["routing.QuestionClassified", "routing.CaseRoutedToAgency"]
    routed = uow.events.log[1]
    assert routed.payload["agency"] == "skatteverket"
    assert routed.payload["personal_identity_number"] == "198112189876"
    assert routed.causation_id == recorded.event_id and routed.correlation_id == recorded.correlation_id


async def test_general_question_is_classified_but_not_routed(uow):
    recorded = envelope(question_recorded(text="Hur ansöker jag om bostadsbidrag?"))
    await consumer_for(uow).handle(recorded, Checkpoint("t", 0, 1))
    assert [e.event_type for e in uow.events.log] == ["routing.QuestionClassified"]


async def test_the_same_event_twice_is_classified_once(uow):
    recorded = envelope(question_recorded(text="Jag behöver ett nytt pass"))
    consumer = consumer_for(uow)
    await consumer.handle(recorded, Checkpoint("t", 0, 1))
    await consumer.handle(recorded, Checkpoint("t", 0, 1))
    assert len(uow.events.of_type("routing.QuestionClassified")) == 1
    assert len(uow.events.of_type("routing.CaseRoutedToAgency")) == 1


async def test_a_new_event_for_an_already_decided_question_changes_nothing(uow):
    recorded = envelope(question_recorded(text="Jag behöver ett nytt pass"))
    replayed = recorded.model_copy(update={"event_id": random_id()})
    consumer = consumer_for(uow)
    await consumer.handle(recorded, Checkpoint("t", 0, 1))
    await consumer.handle(replayed, Checkpoint("t", 0, 2))
    assert len(uow.events.log) == 2


async def test_override_to_complex_routes_the_case_once(uow):
    recorded = envelope(question_recorded(text="Hur ansöker jag om bostadsbidrag?", personal_identity_number="198112189876"))
    await consumer_for(uow).handle(recorded, Checkpoint("t", 0, 1))
    qid = recorded.payload["question_id"]
    cmd = handlers.OverrideClassification(qid, "complex", None, None, "Visitor wants to appeal", "handler-7")
    decision = await handlers.override_classification(cmd, uow.fresh(), CATALOG)
    assert decision.state.overridden and decision.state.routed
    again = handlers.OverrideClassification(qid, "complex", None, None, "same again", "handler-7")
    await handlers.override_classification(again, uow.fresh(), CATALOG)
    assert len(uow.events.of_type("routing.CaseRoutedToAgency")) == 1
    assert len(uow.events.of_type("routing.ClassificationOverridden")) == 2


async def test_override_with_unknown_codes_is_refused(uow):
    recorded = envelope(question_recorded(text="Hur ansöker jag om bostadsbidrag?"))
    await consumer_for(uow).handle(recorded, Checkpoint("t", 0, 1))
    qid = recorded.payload["question_id"]
    with pytest.raises(InvalidInput):
        await handlers.override_classification(
            handlers.OverrideClassification(qid, "complex", "riksbanken", None, "r", "h"), uow.fresh(), CATALOG
        )
    assert len(uow.events.log) == 1


async def test_a_routed_case_cannot_be_sent_to_another_agency(uow):
    recorded = envelope(question_recorded(text="Jag vill ansöka om id-kort"))
    await consumer_for(uow).handle(recorded, Checkpoint("t", 0, 1))
    qid = recorded.payload["question_id"]
    with pytest.raises(Conflict):
        await handlers.override_classification(
            handlers.OverrideClassification(qid, "complex", "polisen", "pass", "r", "h"), uow.fresh(), CATALOG
        )


@pytest.mark.parametrize(
    ("office_id", "destination", "reason"),
    [
        ("ostersund", "agency_desk", "Östersund takes ID-card applications"),
        ("gallivare", "agency_system", "Nearest offices that take it: Kiruna"),
        ("atlantis", "agency_system", "'atlantis' is unknown to the office registry"),
    ],
)
async def test_a_complex_question_is_routed_to_its_agency_whatever_its_destination(uow, office_id, destination, reason):
    recorded = envelope(question_recorded(text="Jag vill ansöka om id-kort", office_id=office_id))
    await consumer_for(uow).handle(recorded, Checkpoint("t", 0, 1))
    classified, routed = uow.events.log
    assert routed.event_type == "routing.CaseRoutedToAgency" and routed.payload["agency"] == "skatteverket"
    assert classified.payload["destination"] == routed.payload["destination"] == destination
    assert reason in classified.payload["destination_reason"] and reason in classified.payload["explanation"]
    decision = await views.get_decision(recorded.payload["question_id"], uow.fresh())
    assert (decision.state.destination, decision.state.routed) == (destination, True)


async def test_a_general_question_stays_at_the_office(uow):
    recorded = envelope(question_recorded(text="Hur ansöker jag om bostadsbidrag?", office_id="ostersund"))
    await consumer_for(uow).handle(recorded, Checkpoint("t", 0, 1))
    assert uow.events.log[0].payload["destination"] == "office"


async def test_an_override_to_complex_takes_its_destination_from_the_office_registry(uow):
    recorded = envelope(question_recorded(text="Hur ansöker jag om bostadsbidrag?", office_id="stockholm-rinkeby"))
    await consumer_for(uow).handle(recorded, Checkpoint("t", 0, 1))
    cmd = handlers.OverrideClassification(recorded.payload["question_id"], "complex", "migrationsverket", "uppehallstillstand", "Asked about a permit", "h-1")
    decision = await handlers.override_classification(cmd, uow.fresh(), CATALOG, load_router())
    overridden = uow.events.of_type("routing.ClassificationOverridden")[0].payload
    assert overridden["destination"] == "agency_desk" and "Rinkeby" in overridden["destination_reason"]
    assert decision.state.routed and uow.events.of_type("routing.CaseRoutedToAgency")[0].payload["destination"] == "agency_desk"


async def test_a_question_classified_before_destination_reasons_existed_still_loads(uow):
    recorded = envelope(question_recorded(text="Jag vill ansöka om id-kort"))
    await consumer_for(uow).handle(recorded, Checkpoint("t", 0, 1))
    old = uow.events.log[0]
    payload = {k: v for k, v in old.payload.items() if k != "destination_reason"}
    event = old.model_copy(update={"payload": payload}).event()
    assert event.destination_reason == "" and event.destination == old.payload["destination"]
