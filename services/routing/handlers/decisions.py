"""Routing's decisions: classify recorded questions; forward questions the office resolved
as ``forwarded``; apply a handler's override."""

from __future__ import annotations

from services.routing.domain.classifier import Classifier
from services.routing.domain.commands import OverrideClassification
from services.routing.domain.destination import Router
from services.routing.domain.model import Decision, QuestionFacts
from services.routing.unit_of_work import SqlRoutingUnitOfWork as RoutingUnitOfWork
from services.routing.views import load_decision
from shared.catalog import LEVELS, Catalog
from shared.contracts.intake import QuestionRecorded, QuestionResolved
from shared.errors import InvalidInput, NotFound
from shared.events import EventEnvelope, utc_now
from shared.handlers import retry_on_conflict
from shared.personal_data import scrub_text


async def classify_question(
    event: QuestionRecorded, envelope: EventEnvelope, uow: RoutingUnitOfWork, classifier: Classifier
) -> None:
    """Event handler; the consumer commits (with its inbox row). A question that already
    has a decision is left alone, so a replayed event cannot classify it twice. The
    classifier decides the destination from the office registry (``office_id``)."""
    if await uow.events.load(event.question_id):
        return
    facts = QuestionFacts(
        event.visit_id, event.question_id, event.office_id, event.text, event.personal_identity_number
    )
    result = classifier.classify(event.text, event.agency, event.case_type, office_id=event.office_id)
    uow.facts.add(facts)
    now = utc_now()
    decision = Decision.classify(facts, result, now)
    if await uow.forwards.take(event.question_id):  # resolved as forwarded before this
        decision.forward(facts, now)
    uow.save(decision, cause=envelope)


async def forward_resolved(event: QuestionResolved, envelope: EventEnvelope, uow: RoutingUnitOfWork) -> None:
    """Event handler for ``intake.QuestionResolved``. General service includes taking in
    documents and information for an agency: a question resolved as ``forwarded`` goes to
    the agency's system (``CaseRoutedToAgency``, destination ``agency_system``) unless it
    was routed already (a complex one, or a replayed resolution). A resolution that comes
    before the question's classification (that one failed and waits for a replay) is
    remembered and carried out when the question is classified."""
    if event.outcome != "forwarded":
        return
    envelopes = await uow.events.load(event.question_id)
    if not envelopes:
        await uow.forwards.request(event.question_id, event.visit_id)
        return
    decision = Decision.rehydrate(event.question_id, [e.event() for e in envelopes])
    if decision.state.routed:
        return
    facts = await uow.facts.get(event.question_id)
    if facts is None:
        raise NotFound(f"no facts kept for question {event.question_id}")
    decision.forward(facts, utc_now())
    uow.save(decision, cause=envelope)


def check_override(cmd: OverrideClassification, catalog: Catalog, current: Decision) -> tuple[str, str]:
    if cmd.level not in LEVELS:
        raise InvalidInput(f"unknown level {cmd.level!r}", {"known": list(LEVELS)})
    agency = cmd.agency or current.state.agency
    if not catalog.is_agency(agency):
        raise InvalidInput(f"unknown agency code {agency!r}")
    case_type = cmd.case_type or (current.state.case_type if agency == current.state.agency else "ovrigt")
    if not catalog.is_case_type(agency, case_type):
        raise InvalidInput(f"unknown case type {case_type!r} for {agency}")
    return agency, case_type


@retry_on_conflict
async def override_classification(
    cmd: OverrideClassification,
    uow: RoutingUnitOfWork,
    catalog: Catalog,
    router: Router | None = None,
) -> Decision:
    """A handler's decision wins; its destination comes from the office registry when a
    ``router`` is given. Overrides are the feedback the next training run learns from
    (``servicekontor export-overrides``). The reason and the handler's name are free text
    typed at a desk: masked (``scrub_text``) before they reach the event, so neither the
    store nor the decision's explanation ever holds an identity number, phone number or
    e-mail address in clear."""
    reason, handler = scrub_text(cmd.reason), scrub_text(cmd.handler)
    async with uow:
        decision = await load_decision(uow, cmd.question_id)
        agency, case_type = check_override(cmd, catalog, decision)
        now = utc_now()
        route = router.route(cmd.level, agency, case_type, decision.state.office_id) if router else None
        if decision.override(cmd.level, agency, case_type, reason, handler, now, route, actor=cmd.actor):
            facts = await uow.facts.get(cmd.question_id)
            if facts is None:
                raise NotFound(f"no facts kept for question {cmd.question_id}")
            decision.route(facts, now)
        uow.save(decision)
        await uow.commit()
    return decision
