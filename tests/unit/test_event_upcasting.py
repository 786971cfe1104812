"""Old versions of an event are upcast when read, never rewritten: an envelope stored
with ``schema_version`` 1 decodes into today's version 3 through the registered chain
(``shared.events.upcaster``), and a payload already at today's version is left alone."""

from __future__ import annotations

import uuid
from datetime import datetime

from shared.events import DomainEvent, EventEnvelope, upcaster


class ExampleEvent(DomainEvent):
    producer = "upcast_example"


class TicketPrinted(ExampleEvent):
    """Version 1 named the office ``office``; version 2 renamed it ``office_id``; version
    3 added ``queue`` (old tickets were all in the general queue)."""

    schema_version = 3
    visit_id: str
    office_id: str
    queue: str
    printed_at: datetime


@upcaster("upcast_example.TicketPrinted", 1)
def _office_renamed(payload: dict) -> dict:
    payload = dict(payload)
    payload["office_id"] = payload.pop("office")
    return payload


@upcaster("upcast_example.TicketPrinted", 2)
def _queue_added(payload: dict) -> dict:
    return {**payload, "queue": "general"}


def stored(version: int, payload: dict) -> EventEnvelope:
    return EventEnvelope(event_type="upcast_example.TicketPrinted", schema_version=version,
                         stream_id="v1", stream_version=1, correlation_id=uuid.uuid4(),
                         producer="upcast_example", payload=payload)


def test_a_version_1_event_is_upcast_through_every_step_to_today():
    event = stored(1, {"visit_id": "v1", "office": "kiruna", "printed_at": "2024-05-02T08:00:00+00:00"}).event()
    assert isinstance(event, TicketPrinted)
    assert (event.office_id, event.queue) == ("kiruna", "general")


def test_a_version_2_event_takes_only_the_steps_after_it():
    event = stored(2, {"visit_id": "v1", "office_id": "umea", "printed_at": "2024-05-02T08:00:00+00:00"}).event()
    assert (event.office_id, event.queue) == ("umea", "general")


def test_todays_version_is_decoded_as_it_is():
    payload = {"visit_id": "v1", "office_id": "umea", "queue": "id_card", "printed_at": "2024-05-02T08:00:00+00:00"}
    assert stored(3, payload).event().queue == "id_card"
