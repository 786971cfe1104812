"""General service includes taking in documents and information for an agency: a question
the office resolves as ``forwarded`` goes to the agency's system, exactly once."""

from __future__ import annotations

from functools import partial

import pytest

from services.routing import views
from services.routing.adapters.rule_files import load_classifier
from services.routing.handlers import decisions as handlers
from services.routing.unit_of_work import FakeRoutingUnitOfWork
from shared.catalog import load_catalog
from shared.consumer import EventConsumer
from shared.events import EventEnvelope
from shared.tracking import Checkpoint
from tests.factories import envelope, ids, question_recorded, question_resolved
from tests.helpers import random_id

CATALOG = load_catalog()
GENERAL = "Hur ansöker jag om bostadsbidrag?"
COMPLEX = "Jag vill ansöka om id-kort"
SEALED_PIN = "vault:v1:sealed"  # routing only ever holds the sealed form


def consumer_for(uow: FakeRoutingUnitOfWork) -> EventConsumer:
    return EventConsumer(
        "routing",
        ["t"],
        uow.fresh,
        {
            "intake.QuestionRecorded": partial(handlers.classify_question, classifier=load_classifier()),
            "intake.QuestionResolved": handlers.forward_resolved,
        },
        max_attempts=1,
    )


@pytest.fixture
def uow() -> FakeRoutingUnitOfWork:
    return FakeRoutingUnitOfWork()


def routed_cases(uow: FakeRoutingUnitOfWork) -> list[EventEnvelope]:
    return uow.events.of_type("routing.CaseRoutedToAgency")


async def test_a_general_question_resolved_forwarded_goes_to_the_agency_system(uow):
    recorded = question_recorded(text=GENERAL, office_id="ostersund", personal_identity_number=SEALED_PIN)
    question = envelope(recorded)
    consumer = consumer_for(uow)
    await consumer.handle(question, Checkpoint("t", 0, 1))
    assert routed_cases(uow) == []
    resolution = envelope(question_resolved(**ids(question), outcome="forwarded"))
    await consumer.handle(resolution, Checkpoint("t", 0, 2))
    [case] = routed_cases(uow)
    classified = uow.events.of_type("routing.QuestionClassified")[0].payload
    assert classified["level"] in ("general", "in_depth") and classified["destination"] == "office"
    assert case.payload | {"routed_at": None} == {
        "visit_id": question.payload["visit_id"], "question_id": question.payload["question_id"],
        "office_id": "ostersund", "agency": classified["agency"], "case_type": classified["case_type"],
        "text": GENERAL, "personal_identity_number": SEALED_PIN, "destination": "agency_system",
        "routed_at": None,
    }
    assert case.causation_id == resolution.event_id and case.stream_version == 2
    decision = await views.get_decision(question.payload["question_id"], uow.fresh())
    assert decision.state.routed and decision.state.destination == "office"


@pytest.mark.parametrize("outcome", ["answered", "referred"])
async def test_other_outcomes_send_nothing(uow, outcome):
    question = envelope(question_recorded(text=GENERAL))
    consumer = consumer_for(uow)
    await consumer.handle(question, Checkpoint("t", 0, 1))
    await consumer.handle(envelope(question_resolved(**ids(question), outcome=outcome)), Checkpoint("t", 0, 2))
    assert routed_cases(uow) == []
    assert uow.forwards.rows == {}


async def test_a_complex_question_resolved_forwarded_is_not_routed_twice(uow):
    question = envelope(question_recorded(text=COMPLEX))
    consumer = consumer_for(uow)
    await consumer.handle(question, Checkpoint("t", 0, 1))
    await consumer.handle(envelope(question_resolved(**ids(question), outcome="forwarded")), Checkpoint("t", 0, 2))
    assert len(routed_cases(uow)) == 1
    assert routed_cases(uow)[0].causation_id == question.event_id


async def test_a_replayed_resolution_routes_once(uow):
    question = envelope(question_recorded(text=GENERAL))
    resolution = envelope(question_resolved(**ids(question), outcome="forwarded"))
    consumer = consumer_for(uow)
    await consumer.handle(question, Checkpoint("t", 0, 1))
    await consumer.handle(resolution, Checkpoint("t", 0, 2))
    await consumer.handle(resolution, Checkpoint("t", 0, 2))  # the same event again (inbox)
    # A copy with a new id (a producer that sent it twice) meets the aggregate's rule.
    copy = resolution.model_copy(update={"event_id": random_id()})
    await consumer.handle(copy, Checkpoint("t", 0, 3))
    assert len(routed_cases(uow)) == 1
    assert consumer.dead_lettered == 0


async def test_a_resolution_before_the_classification_is_carried_out_when_it_is_classified(uow):
    question = envelope(question_recorded(text=GENERAL))
    consumer = consumer_for(uow)
    resolution = question_resolved(**ids(question), outcome="forwarded")
    await consumer.handle(envelope(resolution), Checkpoint("t", 0, 1))
    await consumer.handle(envelope(resolution), Checkpoint("t", 0, 2))  # again, under a new event id
    assert uow.events.log == [] and list(uow.forwards.rows) == [question.payload["question_id"]]
    await consumer.handle(question, Checkpoint("t", 0, 3))
    types = [e.event_type for e in uow.events.log]
    assert types == ["routing.QuestionClassified", "routing.CaseRoutedToAgency"]
    assert routed_cases(uow)[0].payload["destination"] == "agency_system"
    assert uow.forwards.rows == {}, "the request is used up"


async def test_an_override_after_forwarding_keeps_the_case_where_it_went(uow):
    question = envelope(question_recorded(text=GENERAL))
    consumer = consumer_for(uow)
    await consumer.handle(question, Checkpoint("t", 0, 1))
    await consumer.handle(envelope(question_resolved(**ids(question), outcome="forwarded")), Checkpoint("t", 0, 2))
    cmd = handlers.OverrideClassification(question.payload["question_id"], "complex", None, None, "agency matter", "h-1")
    decision = await handlers.override_classification(cmd, uow.fresh(), CATALOG)
    assert decision.state.routed and len(routed_cases(uow)) == 1
