"""The office day in reporting: a visit's queue events become its flow (wait, service,
recalls, transfers, no-show) and service steps; desks become staffed sessions. The live
handler and the replay's in-memory fold give the same rows, in any order, with repeats."""

from __future__ import annotations

import asyncio
import random
from dataclasses import asdict
from datetime import datetime
from zoneinfo import ZoneInfo

from services.reporting.domain.day import derive
from services.reporting.domain.fold import Fold
from services.reporting.handlers import event_handlers
from services.reporting.unit_of_work import FakeReportingUnitOfWork
from shared import topics
from shared.consumer import EventConsumer
from shared.events import DomainEvent
from shared.tracking import Checkpoint
from tests import factories
from tests.factories import (
    desk_closed,
    desk_opened,
    envelope,
    satisfaction,
    visit_called,
    visit_ended,
    visit_marked_no_show,
    visit_recalled,
    visit_registered,
    visit_transferred,
)

TZ = ZoneInfo("Europe/Stockholm")
DAY = "2026-03-02"  # a Monday; 08:00 UTC is 09:00 in Stockholm
OFFICE = "lulea"


def at(minutes: float) -> datetime:
    return factories.at(minutes, DAY)


def day_story() -> list[DomainEvent]:
    """Three visits and a desk: one transferred after a recall, one no-show, one old-style
    (a call without office and queue, as recorded before queues existed)."""
    v1, v2, v3 = ({"visit_id": v, "office_id": OFFICE} for v in ("v1", "v2", "v3"))
    return [
        desk_opened(office_id=OFFICE, desk="3", queues=["general", "booked"], handler="Anna Andersson",
                    opened_at=at(-30)),
        visit_registered(**v1, channel="kiosk", queue="general", registered_at=at(0)),
        visit_called(**v1, desk="3", queue="general", called_at=at(6)),
        visit_recalled(**v1, desk="3", recalled_at=at(7)),
        visit_transferred(**v1, from_queue="general", to_queue="skatteverket", by_desk="3", transferred_at=at(15)),
        visit_called(**v1, desk="7", queue="skatteverket", called_at=at(25)),
        visit_ended(visit_id="v1", satisfaction=satisfaction(), ended_at=at(40)),
        visit_registered(**v2, channel="self_service", queue="booked", registered_at=at(1)),
        visit_called(**v2, desk="3", queue="booked", called_at=at(3)),
        visit_marked_no_show(**v2, desk="3", queue="booked", marked_at=at(5)),
        visit_registered(**v3, channel="desk", queue="general", registered_at=at(2)),
        visit_called(visit_id="v3", desk="1", called_at=at(12), office_id="", queue=""),  # old-style
        visit_ended(visit_id="v3", satisfaction=satisfaction(), ended_at=at(20)),
        desk_closed(office_id=OFFICE, desk="3", closed_at=at(90)),
        desk_opened(office_id=OFFICE, desk="3", queues=["general"], handler="Bo", opened_at=at(120)),
        desk_closed(office_id=OFFICE, desk="3", closed_at=at(180)),
    ]


def fold(events: list[DomainEvent]) -> Fold:
    f = Fold(TZ)
    for e in events:
        assert f.apply(e.event_type(), e.model_dump(mode="json"))
    return f


def rows(f: Fold) -> tuple[dict, dict, list]:
    flows = {d.flow.visit_id: asdict(d.flow) for d in f.derived()}
    steps = {(s.visit_id, s.step): asdict(s) for d in f.derived() for s in d.steps}
    sessions = sorted((asdict(s) for s in f.sessions()), key=lambda s: (s["desk"], s["opened_at"]))
    return flows, steps, sessions


def test_waits_service_steps_and_counts_follow_the_events() -> None:
    flows, steps, _ = rows(fold(day_story()))
    v1 = flows["v1"]
    assert (v1["wait_seconds"], v1["service_seconds"], v1["service_steps"]) == (360.0, 540.0 + 900.0, 2)
    assert (v1["recalls"], v1["transfers"], v1["no_show"]) == (1, 1, False)
    assert (v1["queue"], v1["channel"], v1["service_day"]) == ("general", "kiosk", "2026-03-02")
    assert (v1["registered_hour"], v1["registered_weekday"]) == (9, 1)  # local time, Monday
    first, second = steps[("v1", 1)], steps[("v1", 2)]
    assert (first["queue"], first["end_reason"], first["service_seconds"], first["recalls"]) == (
        "general", "transferred", 540.0, 1)
    # The transferred visit waited again, in its new queue, from the transfer on.
    assert (second["queue"], second["desk"], second["wait_seconds"], second["end_reason"]) == (
        "skatteverket", "7", 600.0, "ended")
    v2 = flows["v2"]
    assert v2["no_show"] and v2["wait_seconds"] == 120.0 and v2["service_seconds"] is None
    assert steps[("v2", 1)]["end_reason"] == "no_show" and steps[("v2", 1)]["service_seconds"] is None
    assert v2["channel"] == "self_service" and v2["queue"] == "booked"
    # An old call without office and queue: both come from the registration.
    assert steps[("v3", 1)]["queue"] == "general" and steps[("v3", 1)]["office_id"] == OFFICE
    assert flows["v3"]["wait_seconds"] == 600.0 and flows["v3"]["service_seconds"] == 480.0


def test_desk_sessions_give_staffed_time_and_no_handler_name() -> None:
    _, _, sessions = rows(fold(day_story()))
    assert [(s["queues"], s["staffed_seconds"], s["service_day"]) for s in sessions] == [
        ("general,booked", 7200.0, "2026-03-02"), ("general", 3600.0, "2026-03-02")]
    assert "Anna" not in repr(sessions) and "handler" not in sessions[0]


def test_any_order_and_repeats_give_the_same_rows() -> None:
    events = day_story()
    expected = rows(fold(events))
    rng = random.Random(5)
    for _ in range(20):
        shuffled = events + rng.sample(events, 6)
        rng.shuffle(shuffled)
        assert rows(fold(shuffled)) == expected


def test_a_visit_still_waiting_or_at_the_desk_has_open_values() -> None:
    waiting = derive("w", [], TZ)
    assert waiting.flow.wait_seconds is None and waiting.steps == []
    w = {"visit_id": "w", "office_id": OFFICE}
    f = fold([visit_registered(**w, registered_at=at(0)), visit_called(**w, called_at=at(4))])
    (d,) = f.derived()
    assert d.flow.wait_seconds == 240.0 and d.flow.service_seconds is None
    assert d.steps[0].end_reason is None and d.flow.service_steps == 0


class Feed:
    def __init__(self) -> None:
        self.uow = FakeReportingUnitOfWork()
        self.consumer = EventConsumer("reporting", list(topics.ALL), self.uow.fresh, event_handlers(TZ))
        self.position = 0

    async def send(self, events: list[DomainEvent]) -> None:
        for e in events:
            env = envelope(e)
            self.position += 1
            await self.consumer.handle(env, Checkpoint(topics.INTAKE, 0, self.position))

    def rows(self) -> tuple[dict, dict, list]:
        store = self.uow.day_store
        flows = {v: asdict(d.flow) for v, d in store.derived.items()}
        steps = {(s.visit_id, s.step): asdict(s) for d in store.derived.values() for s in d.steps}
        sessions = sorted((asdict(s) for s in store.sessions.values()), key=lambda s: (s["desk"], s["opened_at"]))
        return flows, steps, sessions


def test_the_live_handler_writes_what_the_replay_folds() -> None:
    async def run() -> tuple:
        feed = Feed()
        await feed.send(day_story())
        once = feed.rows()
        events = len(feed.uow.day_store.events["v1"])
        await feed.send(day_story())  # the same events again (new ids, later positions)
        return once, events, feed.rows(), feed
    once, events, twice, feed = asyncio.run(run())
    assert once == rows(fold(day_story())) == twice
    assert events == 6 and len(feed.uow.day_store.events["v1"]) == 6
    # The visit's own facts still come from the existing fold.
    assert feed.uow.store.visits["v1"].wait_seconds == 360.0
