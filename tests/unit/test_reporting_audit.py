"""The audit trail's rules and handlers over the in-memory unit of work: each audited
event makes one entry (however often it arrives), without free text or names typed at the
desk; an export is reporting's own event and its entry, committed together."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from services.reporting.domain.audit import UNAUTHENTICATED, audit_entry
from services.reporting.domain.commands import RecordExport
from services.reporting.handlers import event_handlers
from services.reporting.handlers.audit import record_export
from services.reporting.unit_of_work import FakeReportingUnitOfWork
from shared import topics
from shared.consumer import EventConsumer
from shared.events import EventEnvelope
from shared.tracking import Checkpoint
from tests.factories import (
    classification_overridden,
    dead_letter_replayed,
    envelope,
    personal_data_erased,
)

T0 = datetime(2025, 3, 3, 8, 0, tzinfo=UTC)
VISIT, QUESTION = str(uuid.uuid4()), str(uuid.uuid4())
TOPIC = {"intake": topics.INTAKE, "routing": topics.ROUTING, "gateway": topics.GATEWAY}


IDS = {"visit_id": VISIT, "question_id": QUESTION}
OVERRIDE = classification_overridden(
    **IDS, level="in_depth", agency="forsakringskassan", case_type="bostadsbidrag", destination="office",
    reason="Besökaren 19811218-9876 ville mer", handler="Anna Andersson", actor="sara", overridden_at=T0,
)
REPLAYED = dead_letter_replayed(
    **IDS, actor="eva", reason="fixed the key", previous_error="HTTP 401 for Anna Andersson",
    replayed_at=T0 + timedelta(minutes=1),
)
ERASED = personal_data_erased(visit_id=VISIT, actor="anna-admin", erased_at=T0 + timedelta(minutes=2))


def test_each_audited_event_names_its_actor_and_subject_and_no_free_text():
    entries = [audit_entry(e.event_type, e.event_id, e.payload) for e in map(envelope, (OVERRIDE, REPLAYED, ERASED))]
    assert [(e.action, e.actor, e.subject) for e in entries] == [
        ("override", "sara", QUESTION), ("replay", "eva", QUESTION), ("erasure", "anna-admin", VISIT),
    ]
    assert entries[0].details["to"] == {"level": "in_depth", "agency": "forsakringskassan",
                                        "case_type": "bostadsbidrag", "destination": "office"}
    assert [e.occurred_at for e in entries] == [T0, T0 + timedelta(minutes=1), T0 + timedelta(minutes=2)]
    text = repr(entries)
    for secret in ("9876", "Anna Andersson", "fixed the key", "HTTP 401"):
        assert secret not in text
    assert audit_entry("intake.VisitRegistered", "x", {}) is None


def test_an_override_from_before_authentication_names_no_one():
    old = envelope(OVERRIDE.model_copy(update={"actor": ""}))
    entry = audit_entry(old.event_type, str(old.event_id), old.payload)
    assert entry.actor == UNAUTHENTICATED and "Anna" not in repr(entry)


class Feed:
    def __init__(self) -> None:
        self.uow = FakeReportingUnitOfWork()
        self.consumer = EventConsumer(
            "reporting", list(topics.ALL), self.uow.fresh, event_handlers(ZoneInfo("Europe/Stockholm"))
        )
        self.positions = dict.fromkeys(TOPIC, 0)

    async def send(self, producer: str, env: EventEnvelope) -> None:
        self.positions[producer] += 1
        await self.consumer.handle(env, Checkpoint(TOPIC[producer], 0, self.positions[producer]))


async def test_the_consumer_audits_each_event_once_beside_the_facts():
    feed = Feed()
    sent = [("routing", envelope(OVERRIDE)), ("gateway", envelope(REPLAYED)), ("intake", envelope(ERASED))]
    for producer, env in sent + sent:  # every event delivered twice
        await feed.send(producer, env)
    feed.uow.tracking.handled.clear()  # the inbox emptied, as by a rebuild: still once
    for producer, env in sent:
        await feed.send(producer, env)
    store = feed.uow.audit_store
    assert sorted(e.action for e in store.values()) == ["erasure", "override", "replay"]
    assert set(store) == {str(env.event_id) for _, env in sent}
    assert feed.uow.store.questions[QUESTION].overridden  # the override still updates the facts
    assert feed.consumer.dead_lettered == 0


async def test_an_erasure_is_audited_and_adds_no_visit_to_the_facts():
    feed = Feed()
    await feed.send("intake", envelope(ERASED))
    assert feed.uow.store.visits == {} and len(feed.uow.audit_store) == 1


async def test_an_export_is_an_event_in_reportings_own_store_and_an_audit_entry():
    uow = FakeReportingUnitOfWork()
    cmd = RecordExport("bertil-bi", "reporting_visits", "csv", 42, {"from": "2025-03-01", "office_id": "sk-malmo"})
    event = await record_export(cmd, uow.fresh())
    [stored] = uow.events.of_type("reporting.DataExported")
    assert stored.stream_id == event.export_id and stored.payload["rows"] == 42
    [entry] = uow.audit_store.values()
    assert (entry.action, entry.actor, entry.subject) == ("export", "bertil-bi", "reporting_visits")
    assert entry.event_id == str(stored.event_id)
    assert entry.details == {"filters": {"from": "2025-03-01", "office_id": "sk-malmo"}, "format": "csv", "rows": 42}


async def test_an_export_that_cannot_be_recorded_leaves_nothing():
    uow = FakeReportingUnitOfWork()

    async def broken_commit() -> None:
        raise RuntimeError("database gone")

    unit = uow.fresh()
    unit._commit = broken_commit  # type: ignore[method-assign]
    with pytest.raises(RuntimeError):
        await record_export(RecordExport("x", "dim_date", "csv", 1), unit)
    assert uow.events.log == [] and uow.audit_store == {}
