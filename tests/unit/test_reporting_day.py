"""The office day in reporting: a visit's queue events become its flow (wait, service,
recalls, transfers, no-show) and service steps; desks become staffed sessions. The live
handler and the replay's in-memory fold give the same rows, in any order, with repeats."""

from __future__ import annotations

import asyncio
import random
from dataclasses import asdict
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from services.intake.domain.events import (
    DeskClosed,
    DeskOpened,
    Satisfaction,
    VisitCalled,
    VisitEnded,
    VisitMarkedNoShow,
    VisitRecalled,
    VisitRegistered,
    VisitTransferred,
)
from services.reporting.domain.day import derive
from services.reporting.domain.fold import Fold
from services.reporting.handlers import event_handlers
from services.reporting.unit_of_work import FakeReportingUnitOfWork
from shared import topics
from shared.consumer import EventConsumer
from shared.events import DomainEvent, EventEnvelope
from shared.tracking import Checkpoint

TZ = ZoneInfo("Europe/Stockholm")
T0 = datetime(2026, 3, 2, 8, 0, tzinfo=UTC)  # a Monday, 09:00 in Stockholm
OFFICE = "lulea"


def at(minutes: float) -> datetime:
    return T0 + timedelta(minutes=minutes)


def registered(vid: str, minutes: float = 0, queue: str = "general", channel: str = "kiosk") -> VisitRegistered:
    return VisitRegistered(visit_id=vid, office_id=OFFICE, channel=channel, agency=None, ticket="A001",
                           service_day="2026-03-02", registered_at=at(minutes), queue=queue)


def called(vid: str, minutes: float, desk: str = "3", queue: str = "general") -> VisitCalled:
    return VisitCalled(visit_id=vid, desk=desk, called_at=at(minutes), office_id=OFFICE, queue=queue)


def ended(vid: str, minutes: float) -> VisitEnded:
    return VisitEnded(visit_id=vid, satisfaction=Satisfaction(treatment=5, time=4, got_help=True),
                      ended_at=at(minutes))


def transferred(vid: str, minutes: float, to_queue: str = "skatteverket") -> VisitTransferred:
    return VisitTransferred(visit_id=vid, office_id=OFFICE, from_queue="general", to_queue=to_queue,
                            to_desk=None, by_desk="3", transferred_at=at(minutes))


def day_story() -> list[DomainEvent]:
    """Three visits and a desk: one transferred after a recall, one no-show, one old-style
    (a call without office and queue, as recorded before queues existed)."""
    return [
        DeskOpened(office_id=OFFICE, desk="3", queues=["general", "booked"], handler="Anna Andersson",
                   opened_at=at(-30)),
        registered("v1"), called("v1", 6), VisitRecalled(visit_id="v1", office_id=OFFICE, desk="3",
                                                         recalled_at=at(7)),
        transferred("v1", 15), called("v1", 25, desk="7", queue="skatteverket"), ended("v1", 40),
        registered("v2", 1, queue="booked", channel="self_service"), called("v2", 3, queue="booked"),
        VisitMarkedNoShow(visit_id="v2", office_id=OFFICE, desk="3", queue="booked", marked_at=at(5)),
        registered("v3", 2, channel="desk"), VisitCalled(visit_id="v3", desk="1", called_at=at(12)),
        ended("v3", 20),
        DeskClosed(office_id=OFFICE, desk="3", closed_at=at(90)),
        DeskOpened(office_id=OFFICE, desk="3", queues=["general"], handler="Bo", opened_at=at(120)),
        DeskClosed(office_id=OFFICE, desk="3", closed_at=at(180)),
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
    f = fold([registered("w"), called("w", 4)])
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
            stream = getattr(e, "visit_id", None) or f"desk:{e.office_id}:{e.desk}"
            env = EventEnvelope.wrap(e, stream_id=stream, stream_version=1)
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
