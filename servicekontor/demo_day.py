"""``servicekontor demo`` (the default): one office day, compressed in time.

A few offices (``GET /v1/offices`` on intake; by default three, at least one that takes
ID-card applications, chosen among the offices with the most queues) open their desks,
each with a work profile (generalists: booked, general, newcomers, self-service; an
ID-card desk; one desk for the agencies' own officials). Visitors arrive over the
office's opening hours (a morning and a lunch peak), take a ticket in a queue (kiosk,
workstation or at a desk), and the desks call the next one (``call-next``), serve for a
log-normal time of a few office minutes with one to three questions (the sources' mix,
resolved after reading routing's decision), and end the visit, with the survey answers
for some. Some visitors never come (recalled, then a no-show), some come only after a
recall, and complex questions the agency's own desk here can take are transferred to
its queue. After closing time the desks serve whoever still waits, then close.

Every duration is office minutes times ``day_seconds / length of the day``; waiting and
service times are therefore real (short) seconds on the running system, and the summary
gives them in both. The plan (offices, arrivals, queues, questions, behaviour) follows
from ``--seed`` and the weekday (today's opening hours); the interleaving of the requests
does not. The whole run is bounded: arrivals stop and the desks close at the latest half
a day after closing time (at least 15 s), then at most ``--wait-seconds`` for deliveries
and as long again for reporting's figures.
"""

from __future__ import annotations

import asyncio
import os
import random
import statistics
import time
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import httpx
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from servicekontor.demo import (
    Credentials,
    DemoError,
    DemoTargets,
    Tally,
    check_access,
    fetch_json,
    keyed,
    print_summary,
    send,
    settle,
    until,
)
from servicekontor.demo_data import (
    DESK_CHANNEL_SHARE,
    GENERALIST_DESKS_BY_SIZE,
    NO_SHOW_SHARE,
    QUESTIONS,
    QUEUE_TOPICS,
    QUEUE_WEIGHTS,
    SELF_SERVICE_CHANNEL_SHARE,
    SLOW_SHARE,
    SURVEY_SHARE,
    TRANSFER_SHARE,
    VISITORS_BY_SIZE,
    arrival_minutes,
    case_type_weights,
    service_minutes,
    synthetic_pin,
)
from servicekontor.demo_meetings import (
    BOOK_SHARE,
    KINDS,
    MeetingTally,
    fate,
    office_kinds,
    publish_by_agency,
    publish_times,
)
from shared.auth import auth_dir
from shared.offices import WEEKDAYS

GENERALIST_QUEUES = ("booked", "general", "newcomers", "self_service")
LUNCH_MINUTES = 45


def clock_minute(text: str) -> int:
    hours, minutes = text.split(":")
    return int(hours) * 60 + int(minutes)


def hhmm(minute: float) -> str:
    minute = int(minute)
    return f"{minute // 60:02d}:{minute % 60:02d}"


@dataclass
class OfficePlan:
    office_id: str
    name: str
    size: str
    weekday: str
    opens: int  # clock minute
    closes: int
    queues: list[str]
    agency_queues: list[str]  # queues served by an agency's own officials (queue = agency code)
    desks: dict[str, list[str]]  # desk -> the queues it calls from
    lunches: dict[str, tuple[int, int]]  # desk -> its lunch break (clock minutes)
    visitors: list[VisitorPlan] = field(default_factory=list)
    meeting_kinds: list[str] = field(default_factory=list)  # in_person, video: the meetings it holds
    # as the day goes
    outstanding: int = 0  # planned visitors not finished (waiting, being served, or not yet come)
    registering: int = 0  # tickets being printed right now
    arrivals_done: bool = False
    registered: int = 0
    served: int = 0
    no_shows: int = 0
    transfers: int = 0
    recalls: int = 0
    surveys: int = 0
    strangers: int = 0  # visitors the demo did not register (an earlier run's), served and ended
    waits: list[float] = field(default_factory=list)  # seconds, registered -> first called
    services: list[float] = field(default_factory=list)  # seconds, called -> ended or transferred


@dataclass
class VisitorPlan:
    arrival: float  # clock minute
    queue: str
    channel: str
    keys: list[str]
    no_show: bool
    slow: bool
    survey: bool
    service: float  # office minutes at the first desk
    agency_service: float  # office minutes at the agency's desk, after a transfer
    rng: random.Random
    visit_id: str | None = None
    registered_at: datetime | None = None
    pending: list[str] = field(default_factory=list)  # questions left to the agency's desk
    transferred: bool = False
    booking_id: str | None = None  # a visitor who checked in for a booked meeting


def pick_weekday(hours: dict[str, str], today: date) -> str:
    """Today's opening hours when the office opens today, else its first opening day."""
    day = WEEKDAYS[today.weekday()]
    return day if day in hours else next(d for d in WEEKDAYS if d in hours)


def desk_profiles(queues: list[str], agency_queues: list[str], size: str) -> dict[str, list[str]]:
    """Generalists call from the common queues; an ID-card desk from ID cards and general;
    the agencies' desk(s) from the agency queues. Any other queue goes to the generalists."""
    covered = set(agency_queues) | {"id_card"}
    general = [q for q in GENERALIST_QUEUES if q in queues] + [
        q for q in queues if q not in GENERALIST_QUEUES and q not in covered
    ]
    desks = {str(n): list(general) for n in range(1, GENERALIST_DESKS_BY_SIZE.get(size, 3) + 1)}
    if "id_card" in queues:
        desks[str(len(desks) + 1)] = ["id_card", "general"]
    agency_desks = (2 if size == "large" else 1) if agency_queues else 0
    for _ in range(agency_desks):
        desks[str(len(desks) + 1)] = list(agency_queues)
    return desks


def describe_desks(desks: dict[str, list[str]]) -> str:
    """``1-3: booked, general; 4: id_card, general``: desks with one profile together."""
    groups: dict[tuple[str, ...], list[str]] = {}
    for desk, queues in desks.items():
        groups.setdefault(tuple(queues), []).append(desk)
    return "; ".join(
        f"{ds[0] if len(ds) == 1 else f'{ds[0]}-{ds[-1]}'}: {', '.join(queues)}" for queues, ds in groups.items()
    )


def office_plan(office: dict, today: date) -> OfficePlan:
    hours = office["opening_hours"]
    weekday = pick_weekday(hours, today)
    opens, closes = (clock_minute(t) for t in hours[weekday].split("-"))
    services = office["services"]
    queues = [s["queue"] for s in services]
    agency_queues = [s["queue"] for s in services if s.get("agency") and s["queue"] == s["agency"]]
    desks = desk_profiles(queues, agency_queues, office["size"])
    return OfficePlan(
        office["office_id"], office["name"], office["size"], weekday, opens, closes, queues,
        agency_queues, desks, lunch_breaks(desks, opens, closes), meeting_kinds=office_kinds(office),
    )


def lunch_breaks(desks: dict[str, list[str]], opens: int, closes: int) -> dict[str, tuple[int, int]]:
    """The generalists take 45 minutes for lunch in turns from 11:00 (three turns), so the
    lunch peak meets fewer open desks; an office closed over lunch has no breaks."""
    first = 11 * 60
    if opens > first or closes < first + 3 * LUNCH_MINUTES:
        return {}
    generalists = [d for d, queues in desks.items() if "general" in queues and "id_card" not in queues]
    return {
        desk: (first + LUNCH_MINUTES * (n % 3), first + LUNCH_MINUTES * (n % 3 + 1))
        for n, desk in enumerate(generalists)
    }


def plan_visitors(office: OfficePlan, rng: random.Random, count: int | None, weights: dict[str, float]) -> None:
    n = count if count is not None else round(VISITORS_BY_SIZE.get(office.size, 100) * rng.uniform(0.9, 1.1))
    choices = {
        q: w for q, w in QUEUE_WEIGHTS.items()
        if q in office.queues or (q == "agency_desk" and office.agency_queues)
    }
    for minute in arrival_minutes(rng, n, office.opens, office.closes):
        own = random.Random(rng.getrandbits(64))
        queue = own.choices(list(choices), weights=list(choices.values()))[0]
        if queue == "agency_desk":
            queue = own.choice(office.agency_queues)
        topics = QUEUE_TOPICS.get(queue)
        if queue in office.agency_queues:
            topics = [k for k in QUESTIONS if k.startswith(queue + "/")]
        pool = {k: weights.get(k, 0.01) for k in (topics or weights)}
        keys = own.choices(list(pool), weights=list(pool.values()))
        extra = own.choice([0, 0, 0, 1, 1, 2]) if queue != "id_card" else own.choice([0, 0, 0, 1])
        keys += own.choices(list(weights), weights=list(weights.values()), k=extra)
        if queue == "self_service":
            channel = "self_service" if own.random() < SELF_SERVICE_CHANNEL_SHARE else "kiosk"
        else:
            channel = "desk" if own.random() < DESK_CHANNEL_SHARE else "kiosk"
        no_show = own.random() < NO_SHOW_SHARE
        office.visitors.append(VisitorPlan(
            arrival=minute, queue=queue, channel=channel, keys=keys, no_show=no_show,
            slow=not no_show and own.random() < SLOW_SHARE, survey=own.random() < SURVEY_SHARE,
            service=service_minutes(own, queue, len(keys)),
            agency_service=service_minutes(own, queue, 1, agency_desk=True), rng=own,
        ))
    office.outstanding = len(office.visitors)


async def choose_offices(
    client: httpx.AsyncClient, targets: DemoTargets, credentials: Credentials, rng: random.Random,
    count: int, wanted: list[str],
) -> list[dict]:
    """The asked offices, or ``count`` among those with the most queues (one with ID cards)."""
    url = targets.url(targets.intake_port) + "/v1/offices"
    response = await send(client, "GET", url, headers=credentials.headers("kiosk"))
    if response.status_code != 200:
        raise DemoError(f"GET {url}: {response.status_code} {response.text[:200]} (does intake have the office day API?)")
    offices = [o for o in response.json()["offices"] if o.get("opening_hours")]
    by_id = {o["office_id"]: o for o in offices}
    if wanted:
        if unknown := [w for w in wanted if w not in by_id]:
            raise DemoError(f"unknown office(s) {', '.join(unknown)}; intake knows {', '.join(sorted(by_id))}")
        return [by_id[w] for w in wanted]
    ranked = sorted(offices, key=lambda o: (-len(o["services"]), o["office_id"]))
    pool = ranked[: max(8, 3 * count)]
    with_ids = [o for o in pool if o.get("id_cards")] or pool
    first = rng.choice(with_ids)
    rest = [o for o in pool if o is not first]
    return [first, *rng.sample(rest, min(count - 1, len(rest)))]


class Clock:
    """Office clock minutes against real time: ``seconds_per_minute`` real seconds each."""

    def __init__(self, start_minute: float, seconds_per_minute: float) -> None:
        self.start_minute, self.spm = start_minute, seconds_per_minute
        self.t0 = time.monotonic()

    def minute(self) -> float:
        return self.start_minute + (time.monotonic() - self.t0) / self.spm

    def elapsed(self) -> float:
        return time.monotonic() - self.t0

    def seconds(self, minutes: float) -> float:
        return minutes * self.spm

    async def until(self, minute: float) -> None:
        delay = (minute - self.start_minute) * self.spm - self.elapsed()
        if delay > 0:
            await asyncio.sleep(delay)

    async def pause(self, minutes: float) -> None:
        await asyncio.sleep(self.seconds(minutes))


def parse_time(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


class OfficeDay:
    """The offices' day: arrivals, desks, and what the demo measured."""

    def __init__(
        self, client: httpx.AsyncClient, targets: DemoTargets, credentials: Credentials,
        offices: list[OfficePlan], clock: Clock, hard_stop: float, tally: Tally, on_done,
        keys_dir: Path | None = None,
    ) -> None:
        self.client, self.targets, self.credentials = client, targets, credentials
        self.offices, self.clock, self.hard_stop, self.tally = offices, clock, hard_stop, tally
        self.on_done = on_done  # called once per finished planned visitor (progress bar)
        self.visitors: dict[str, VisitorPlan] = {}
        # Service at the first desk of the visits served there: planned and taken (seconds).
        self.planned_service = self.actual_service = 0.0
        self.intake = targets.url(targets.intake_port)
        self.meetings, self.keys_dir = MeetingTally(), keys_dir
        self.meeting_tasks: list[asyncio.Task] = []

    # -- HTTP ------------------------------------------------------------------------------
    async def post(self, role: str, path: str, body: dict, expect: tuple[int, ...] = (200,)) -> dict | None:
        response = await send(  # with its own Idempotency-Key: a retry records nothing twice
            self.client, "POST", self.intake + path, self.tally, json=body,
            headers=keyed(self.credentials.headers(role)),
        )
        if response.status_code not in expect:
            raise DemoError(f"POST {path} (as {role}): {response.status_code} {response.text[:200]}")
        return response.json() if response.status_code != 204 else None

    async def call(self, method: str, role: str, path: str, body: dict | None = None) -> httpx.Response:
        return await send(self.client, method, self.intake + path, self.tally, json=body,
                          headers=keyed(self.credentials.headers(role)))

    def error(self, error: Exception) -> None:
        self.tally.errors[type(error).__name__ + ": " + str(error)[:80]] += 1

    # -- the day ----------------------------------------------------------------------------
    async def run(self) -> None:
        await asyncio.gather(*(self.office_day(office) for office in self.offices))
        await asyncio.gather(*self.meeting_tasks)

    # -- meetings (servicekontor/demo_meetings.py) ----------------------------------------------
    async def publish_meetings(self) -> None:
        async def put(role: str, path: str, body: dict) -> None:
            answer = await self.call("PUT", role, path, body)
            if answer.status_code != 200:
                raise DemoError(f"PUT {path}: {answer.status_code} {answer.text[:200]}")

        offices = {o.office_id: o.meeting_kinds for o in self.offices if o.meeting_kinds}
        now = datetime.now(UTC)
        await publish_times(self.post, put, offices, now, self.meetings)
        gateway = self.targets.url(self.targets.gateway_port)
        await publish_by_agency(gateway, offices, now, self.meetings, self.post, self.keys_dir)

    async def book_meeting(self, office: OfficePlan, v: VisitorPlan, qid: str, decision: dict) -> None:
        """The desk books the first free time; the visitor's fate is drawn at once."""
        kind = KINDS[decision["destination"]]
        query = {"agency": decision["agency"], "case_type": decision["case_type"], "kind": kind}
        found = await send(self.client, "GET", f"{self.intake}/v1/offices/{office.office_id}/slots", self.tally,
                           params=query, headers=self.credentials.headers("desk"))
        for slot in (found.json()["slots"] if found.status_code == 200 else [])[:3]:
            body = {"office_id": office.office_id, **query, "slot_start": slot["slot_start"],
                    "question_id": qid, "visit_id": v.visit_id}
            answer = await self.call("POST", "desk", "/v1/bookings", body)
            if answer.status_code == 201:
                self.meetings.booked[kind] += 1
                booking = answer.json()
                what = fate(random.Random(qid))
                if what == "check_in":
                    office.outstanding += 1  # the desks stay until this visitor is served
                if what != "absent":
                    self.meeting_tasks.append(asyncio.create_task(self.meeting_day(office, booking, what, qid)))
                else:
                    self.meetings.absent += 1
                return
            if answer.status_code not in (409, 422):  # taken meanwhile: the next one
                raise DemoError(f"POST /v1/bookings: {answer.status_code} {answer.text[:200]}")
        self.meetings.no_time += 1

    async def meeting_day(self, office: OfficePlan, booking: dict, what: str, qid: str) -> None:
        rng = random.Random(qid + what)
        await self.clock.pause(rng.uniform(5, 40))
        try:
            if what == "cancel":
                answer = await self.call("DELETE", "desk", f"/v1/bookings/{booking['booking_id']}")
                if answer.status_code != 200:
                    raise DemoError(f"DELETE booking: {answer.status_code} {answer.text[:200]}")
                self.meetings.cancelled += 1
                return
            done = await self.post("kiosk", "/v1/bookings/check-in",
                                   {"office_id": office.office_id, "code": booking["code"]})
            assert done is not None
            v = VisitorPlan(arrival=self.clock.minute(), queue=done["queue"], channel="kiosk", keys=[], no_show=False,
                            slow=False, survey=False, service=rng.uniform(10, 25), agency_service=0.0, rng=rng,
                            visit_id=done["visit_id"], registered_at=datetime.now(UTC), booking_id=booking["booking_id"])
            self.visitors[done["visit_id"]] = v
            office.registered += 1
            self.meetings.checked_in += 1
        except (DemoError, httpx.HTTPError) as error:
            self.error(error)
            if what == "check_in":
                self.finish(office)

    async def at_meeting(self, office: OfficePlan, v: VisitorPlan, called_at: datetime) -> None:
        """The agency's official meets the visitor (at the desk or by video); then the outcome."""
        await self.clock.pause(v.service)
        await self.post("desk", f"/v1/bookings/{v.booking_id}/outcome", {"outcome": "held"})
        self.meetings.held += 1
        await self.end(office, v, called_at)

    async def office_day(self, office: OfficePlan) -> None:
        await self.clock.until(office.opens)
        base = f"/v1/offices/{office.office_id}/desks/"
        opened: list[str] = []
        try:
            for desk, queues in office.desks.items():
                await self.post("desk", base + f"{desk}/open", {"queues": queues})
                opened.append(desk)
            desks = [asyncio.create_task(self.desk(office, d, q)) for d, q in office.desks.items()]
            await self.arrivals(office)
            await asyncio.gather(*desks)
        finally:
            for desk in opened:
                try:
                    await self.post("desk", base + f"{desk}/close", {})
                except (DemoError, httpx.HTTPError) as error:
                    self.error(error)

    async def arrivals(self, office: OfficePlan) -> None:
        tickets: list[asyncio.Task] = []
        for visitor in office.visitors:
            await self.clock.until(visitor.arrival)
            if self.clock.elapsed() > self.hard_stop:
                break
            office.registering += 1
            tickets.append(asyncio.create_task(self.arrive(office, visitor)))
        await asyncio.gather(*tickets)
        office.arrivals_done = True
        office.outstanding -= sum(1 for v in office.visitors if v.visit_id is None)  # never came in time

    async def arrive(self, office: OfficePlan, v: VisitorPlan) -> None:
        body: dict = {"office_id": office.office_id, "channel": v.channel, "queue": v.queue}
        if v.queue == "general" and v.channel == "kiosk" and v.rng.random() < 0.3:
            body["agency"] = v.keys[0].split("/")[0]
        try:
            # A kiosk or workstation ticket is taken by the visitor, a walk-in by the desk.
            ticket = await self.post("desk" if v.channel == "desk" else "kiosk", "/v1/visits", body, (201,))
            assert ticket is not None
            v.visit_id, v.registered_at = ticket["visit_id"], parse_time(ticket["registered_at"])
            self.visitors[v.visit_id] = v
            office.registered += 1
        except (DemoError, httpx.HTTPError) as error:
            self.error(error)
            self.on_done()
        finally:
            office.registering -= 1

    def finish(self, office: OfficePlan) -> None:
        office.outstanding -= 1
        self.on_done()

    async def desk(self, office: OfficePlan, desk: str, queues: list[str]) -> None:
        # An idle desk asks again after an office minute (at least half a real second:
        # a day's desks polling faster would be most of the system's load).
        idle = max(0.5, self.clock.seconds(1.0))
        path = f"/v1/offices/{office.office_id}/desks/{desk}/call-next"
        lunch = office.lunches.get(desk)
        while self.clock.elapsed() < self.hard_stop:
            if lunch and self.clock.minute() >= lunch[0]:
                await self.lunch(office, desk, queues, lunch[1])
                lunch = None
            try:
                called = await self.post("desk", path, {}, (200, 204))
            except (DemoError, httpx.HTTPError) as error:
                self.error(error)
                await asyncio.sleep(idle)
                continue
            if called is None:
                closed = self.clock.minute() >= office.closes and office.arrivals_done
                if closed and office.outstanding <= 0:
                    return
                await asyncio.sleep(idle)
                continue
            await self.serve(office, desk, called)

    async def lunch(self, office: OfficePlan, desk: str, queues: list[str], until_minute: int) -> None:
        """After the visitor at the desk: closed for lunch, then open again."""
        base = f"/v1/offices/{office.office_id}/desks/{desk}"
        try:
            await self.post("desk", f"{base}/close", {})
            await self.clock.until(until_minute)
            await self.post("desk", f"{base}/open", {"queues": queues})
        except (DemoError, httpx.HTTPError) as error:
            self.error(error)

    async def known(self, office: OfficePlan, visit_id: str) -> VisitorPlan | None:
        """The demo's visitor with this id; a ticket still being printed may be it."""
        deadline = time.monotonic() + 10
        while visit_id not in self.visitors and office.registering and time.monotonic() < deadline:
            await asyncio.sleep(0.02)
        return self.visitors.get(visit_id)

    async def serve(self, office: OfficePlan, desk: str, called: dict) -> None:
        vid = called["visit_id"]
        v = await self.known(office, vid)
        try:
            if v is None:
                await self.stranger(office, vid)
            elif v.booking_id:
                await self.at_meeting(office, v, parse_time(called["called_at"]))
            elif v.transferred:
                await self.at_agency_desk(office, v, parse_time(called["called_at"]))
            else:
                await self.at_first_desk(office, desk, v, parse_time(called["called_at"]))
        except (DemoError, httpx.HTTPError) as error:
            self.error(error)
            if v is not None:
                self.finish(office)

    async def stranger(self, office: OfficePlan, vid: str) -> None:
        """Someone from an earlier run still waiting: served briefly and sent home."""
        await self.clock.pause(1.0)
        await self.post("desk", f"/v1/visits/{vid}/end", {})
        office.strangers += 1

    async def at_first_desk(self, office: OfficePlan, desk: str, v: VisitorPlan, called_at: datetime) -> None:
        rng = v.rng
        assert v.registered_at is not None and v.visit_id is not None
        office.waits.append((called_at - v.registered_at).total_seconds())
        vid = v.visit_id
        if v.no_show or v.slow:
            await self.clock.pause(1.0)  # nobody comes to the desk
            if v.slow or rng.random() < 0.6:
                await self.post("desk", f"/v1/visits/{vid}/recall", {"desk": desk})
                office.recalls += 1
                await self.clock.pause(1.0 if v.no_show else 0.5)
            if v.no_show:
                await self.post("desk", f"/v1/visits/{vid}/no-show", {"desk": desk})
                office.no_shows += 1
                self.finish(office)
                return
        started = time.monotonic()
        step = self.clock.seconds(v.service) / (len(v.keys) + 1)
        transfer_to = None
        for n, key in enumerate(v.keys, start=1):
            qid = await self.ask(vid, key, rng)
            # The handler talks with the visitor while routing classifies the question.
            await asyncio.sleep(max(0.0, started + step * (n - 0.5) - time.monotonic()))
            decision = await self.decision(qid)
            if decision.get("destination") in KINDS and random.Random(qid).random() < BOOK_SHARE:
                await self.book_meeting(office, v, qid, decision)
            target = None if transfer_to else self.transfer_target(office, v, decision)
            if target and rng.random() < TRANSFER_SHARE:
                transfer_to = target
                v.pending.append(qid)
            else:
                await self.resolve(qid, decision["level"], rng)
            await asyncio.sleep(max(0.0, started + step * n - time.monotonic()))
        if transfer_to:
            await self.post("desk", f"/v1/visits/{vid}/transfer", {"queue": transfer_to})
            office.services.append((datetime.now(UTC) - called_at).total_seconds())
            office.transfers += 1
            v.transferred = True
            return
        await asyncio.sleep(max(0.0, started + step * (len(v.keys) + 1) - time.monotonic()))
        await self.end(office, v, called_at)
        self.planned_service += self.clock.seconds(v.service)
        self.actual_service += time.monotonic() - started

    async def at_agency_desk(self, office: OfficePlan, v: VisitorPlan, called_at: datetime) -> None:
        await self.clock.pause(v.agency_service)
        for qid in v.pending:
            await self.post("desk", f"/v1/questions/{qid}/resolution", {"outcome": "answered"})
        await self.end(office, v, called_at)

    def transfer_target(self, office: OfficePlan, v: VisitorPlan, decision: dict) -> str | None:
        """The agency's own queue here, when routing says its desk here can take the case
        (never from a queue the agency's officials already serve)."""
        if decision.get("destination") != "agency_desk" or v.queue == "id_card" or v.queue in office.agency_queues:
            return None
        agency = decision.get("agency")
        if agency in office.agency_queues:
            return agency
        if decision.get("case_type") == "id_kort" and "id_card" in office.queues:
            return "id_card"
        return None

    async def ask(self, vid: str, key: str, rng: random.Random) -> str:
        body: dict = {"text": rng.choice(QUESTIONS[key])}
        if rng.random() < 0.4:
            body["personal_identity_number"] = synthetic_pin(rng)
        if rng.random() < 0.3:
            body["agency"] = key.split("/")[0]
        question = await self.post("desk", f"/v1/visits/{vid}/questions", body, (201,))
        assert question is not None
        qid = question["question_id"]
        self.tally.questions += 1
        return qid

    async def decision(self, qid: str) -> dict:
        """Routing's decision (level, agency, destination), once it is there."""
        url = f"{self.targets.url(self.targets.routing_port)}/v1/questions/{qid}/decision"
        supervisor = self.credentials.headers("supervisor")
        response = await until(
            lambda: send(self.client, "GET", url, self.tally, headers=supervisor),
            lambda r: r.status_code not in (404, 503), 15.0, interval=0.2,
        )
        if response.status_code != 200:
            raise DemoError(f"no decision for {qid} within 15 s: {response.status_code}")
        decision = response.json()
        self.tally.levels[decision["level"]] += 1
        if decision["level"] == "complex":
            self.tally.complex_questions.append(qid)
        return decision

    async def resolve(self, qid: str, level: str, rng: random.Random) -> None:
        outcome = {"complex": "forwarded", "in_depth": rng.choice(["answered", "referred"])}.get(level, "answered")
        await self.post("desk", f"/v1/questions/{qid}/resolution", {"outcome": outcome})

    async def end(self, office: OfficePlan, v: VisitorPlan, called_at: datetime) -> None:
        assert v.visit_id is not None and v.registered_at is not None
        if v.survey:
            waited = (called_at - v.registered_at).total_seconds() / self.clock.spm
            await self.post("kiosk", f"/v1/visits/{v.visit_id}/end", {"satisfaction": satisfaction(v.rng, waited)})
            office.surveys += 1
        else:
            await self.post("desk", f"/v1/visits/{v.visit_id}/end", {})
        office.services.append((datetime.now(UTC) - called_at).total_seconds())
        office.served += 1
        self.tally.visits += 1
        self.finish(office)


def satisfaction(rng: random.Random, waited_minutes: float) -> dict:
    """Survey answers; the "answer in reasonable time" score falls with the wait."""
    r = rng.random
    time_score = 5 if waited_minutes < 10 else 4 if waited_minutes < 20 else (3 if r() < 0.7 else 2)
    return {
        "treatment": 5 if r() < 0.9 else (4 if r() < 0.9 else 2),
        "time": time_score if r() < 0.9 else max(1, time_score - 1),
        "got_help": r() < 0.95,
    }


def service_day_today() -> str:
    return datetime.now(ZoneInfo(os.environ.get("SK_TIMEZONE", "Europe/Stockholm"))).date().isoformat()


async def reporting_waits(client: httpx.AsyncClient, targets: DemoTargets, credentials: Credentials) -> dict[str, dict]:
    """Reporting's figures per office today: ``/v1/stats/waits`` (minutes, with no-shows,
    transfers and recalls) when reporting has it, else ``/v1/stats/waiting`` (seconds).
    Office id -> {wait, service (median seconds), no_shows, transfers, recalls}."""
    day = service_day_today()
    base = f"{targets.url(targets.reporting_port)}/v1/stats/"
    for route in ("waits", "waiting"):
        found = await fetch_json(client, f"{base}{route}?group_by=office&from={day}&to={day}", credentials.headers("bi"))
        if found is not None:
            return {str(row.get("office_id", row.get("office"))): reported_row(row) for row in found.get("rows", [])}
    return {}


def reported_row(row: dict) -> dict:
    def seconds(name: str) -> float | None:
        if row.get(f"median_{name}_minutes") is not None:
            return row[f"median_{name}_minutes"] * 60
        return row.get(f"median_{name}_seconds")

    counts = {k: row.get(k) for k in ("visits", "no_shows", "transfers", "recalls")}
    return {"wait": seconds("wait"), "service": seconds("service"), **counts}


def seconds_and_minutes(values: list[float], spm: float) -> str:
    if not values:
        return "-"
    median = statistics.median(values)
    p90 = sorted(values)[max(0, round(0.9 * len(values)) - 1)]
    return f"{median:.1f} / {p90:.1f} s ≈ {median / spm:.0f} / {p90 / spm:.0f} min"


def office_table(offices: list[OfficePlan], spm: float, reported: dict[str, dict]) -> Table:
    """One column per office: what the demo did and measured, and what reporting says."""
    table = Table(title=f"The office day (1 office minute = {spm:.2f} s; median / p90)")
    table.add_column("measure")
    for o in offices:
        table.add_column(o.name, justify="right")

    def row(label: str, cell) -> None:
        table.add_row(label, *(cell(o) for o in offices))

    def from_reporting(o: OfficePlan, keys: tuple[str, ...], unit: str = "") -> str:
        r = reported.get(o.office_id) or {}
        return " / ".join("-" if r.get(k) is None else f"{r[k]:.1f}{unit}" if unit else str(r[k]) for k in keys)

    row("opening hours", lambda o: f"{o.weekday} {hhmm(o.opens)}-{hhmm(o.closes)}")
    row("desks", lambda o: str(len(o.desks)))
    row("visitors (tickets of planned)", lambda o: f"{o.registered} of {len(o.visitors)}")
    row("served and ended", lambda o: str(o.served))
    row("no-shows / transfers / recalls", lambda o: f"{o.no_shows} / {o.transfers} / {o.recalls}")
    row("survey answers", lambda o: str(o.surveys))
    row("wait (registered → called)", lambda o: seconds_and_minutes(o.waits, spm))
    row("service (called → ended or transferred)", lambda o: seconds_and_minutes(o.services, spm))
    row("reporting today: median wait / service", lambda o: from_reporting(o, ("wait", "service"), " s"))
    row("reporting today: no-shows / transfers / recalls", lambda o: from_reporting(o, ("no_shows", "transfers", "recalls")))
    if any(o.strangers for o in offices):
        row("earlier runs' visitors served", lambda o: str(o.strangers))
    return table


async def run_day(
    targets: DemoTargets, credentials: Credentials, *, offices: int = 3, office_ids: list[str] | None = None,
    day_seconds: float = 120.0, visitors_per_office: int | None = None, seed: int | None = None,
    wait_seconds: float = 60.0, data_dir: Path | None = None,
) -> bool:
    console = Console()
    rng = random.Random(seed)
    tally = Tally()
    started = time.monotonic()
    async with httpx.AsyncClient(timeout=30.0, limits=httpx.Limits(max_connections=64)) as client:
        await check_access(client, targets, credentials)
        chosen = await choose_offices(client, targets, credentials, rng, offices, office_ids or [])
        today = date.today()
        plans = [office_plan(office, today) for office in chosen]
        weights = case_type_weights()
        for plan in plans:
            plan_visitors(plan, random.Random(rng.getrandbits(64)), visitors_per_office, weights)
        first, last = min(p.opens for p in plans), max(p.closes for p in plans)
        spm = day_seconds / (last - first)
        planned = sum(len(p.visitors) for p in plans)
        console.print(
            f"An office day, {hhmm(first)}-{hhmm(last)} in {day_seconds:g} s "
            f"(1 office minute = {spm:.2f} s), {planned} visitors:"
        )
        for p in plans:
            lunch = f"; lunch in turns {hhmm(min(b for b, _ in p.lunches.values()))}-" \
                f"{hhmm(max(e for _, e in p.lunches.values()))}" if p.lunches else ""
            console.print(
                f"  {p.name} ({p.office_id}, {p.size}): {len(p.visitors)} visitors; desks {describe_desks(p.desks)}{lunch}"
            )
        summary_url = f"{targets.url(targets.reporting_port)}/v1/stats/summary"
        bi = credentials.headers("bi")
        before = await fetch_json(client, summary_url, bi) or {}
        # The desks drain the queues after closing; this bounds the whole day.
        hard_stop = day_seconds + max(15.0, day_seconds / 2)
        with Progress(
            TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(), console=console,
        ) as bar:
            task = bar.add_task("office day", total=planned)
            clock = Clock(first, spm)
            day = OfficeDay(client, targets, credentials, plans, clock, hard_stop, tally, lambda: bar.advance(task),
                            auth_dir(data_dir) if data_dir else None)
            await day.publish_meetings()

            async def show_clock() -> None:
                while True:
                    bar.update(task, description=f"clock {hhmm(min(clock.minute(), last + 59))}")
                    await asyncio.sleep(0.5)

            ticker = asyncio.create_task(show_clock())
            try:
                await day.run()
            finally:
                ticker.cancel()
            overrun = clock.minute() - last
        stretch = day.actual_service / day.planned_service if day.planned_service else 1.0
        traffic_seconds = time.monotonic() - started
        delivered, summary = await settle(client, targets, credentials, tally, before, wait_seconds)
        reported = await until(  # reporting folds the day's events a moment after the counts
            lambda: reporting_waits(client, targets, credentials),
            lambda r: all((r.get(p.office_id) or {}).get("visits", 0) >= p.registered for p in plans),
            min(wait_seconds, 15.0), interval=0.2,
        )
    left = sum(max(0, p.outstanding) for p in plans)
    console.print(office_table(plans, spm, reported))
    console.print(day.meetings.line())
    registered = sum(p.registered for p in plans)
    print_summary(
        console, tally, delivered, traffic_seconds, time.monotonic() - started, summary, registered=registered,
    )
    console.print(
        f"Service took {stretch:.2f} × the planned time (the system's own response times count as service "
        f"time); the last desk closed {max(0.0, overrun):.0f} office minutes after closing time."
    )
    if stretch > 1.4:
        console.print(
            "[yellow]This machine did not keep pace with the day: fewer visitors (--visitors-per-office, "
            "--offices) or a longer day (--day-seconds) give office-like waits and service times.[/yellow]"
        )
    if left:
        console.print(f"[red]{left} visitors were still waiting or being served when the day's time ran out[/red]")
    return not tally.errors and not left and delivered == len(tally.complex_questions)

