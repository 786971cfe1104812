"""One synthetic visit: its events as intake, routing and agency_gateway log them."""

from __future__ import annotations

import hashlib
import hmac
import random
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

# Case types that mostly need the agency itself (ID cards, moving to Sweden, permits).
_COMPLEX = {("skatteverket", "id_kort"), ("skatteverket", "flytt_till_sverige"),
            ("migrationsverket", "uppehallstillstand"), ("polisen", "pass")}
_DESTINATIONS = (("agency_system", 0.80), ("agency_desk", 0.08), ("video_meeting", 0.07),
                 ("booked_meeting", 0.05))
# Identity numbers with valid check digits: they must never reach the reporting store.
PINS = ("198112189876", "194907281233", "201002202388")

Event = tuple[str, str, str, datetime, dict[str, Any]]
# The synthetic history's stand-in for intake's pseudonym key (SK_PSEUDONYM_KEY).
PSEUDONYM_KEY = b"synthetic-history-pseudonym-key!"


def pseudonym(pin: str) -> str:
    return hmac.new(PSEUDONYM_KEY, pin.encode(), hashlib.sha256).hexdigest()


@dataclass
class VisitStory:
    office_id: str
    events: list[Event] = field(default_factory=list)
    final: list[tuple[str, str, str]] = field(default_factory=list)


def iso(moment: datetime) -> str:
    return moment.isoformat().replace("+00:00", "Z")


def _id(rng: random.Random) -> str:
    return str(uuid.UUID(int=rng.getrandbits(128), version=4))


def _level(rng: random.Random, key: tuple[str, str]) -> str:
    if key in _COMPLEX:
        return "complex" if rng.random() < 0.85 else "general"
    roll = rng.random()
    return "general" if roll < 0.55 else "in_depth" if roll < 0.92 else "complex"


def visit_story(
    rng: random.Random, office_id: str, start: datetime, keys: list[tuple[str, str]]
) -> VisitStory:
    story, vid = VisitStory(office_id), _id(rng)

    def add(producer: str, stream: str, kind: str, at: datetime, **payload: Any) -> None:
        story.events.append((producer, stream, kind, at, {"visit_id": vid, **payload}))

    # The office day's extras draw from their own generator (seeded by the visit id), so
    # the rest of a seeded history stays what it was before queues existed.
    day = random.Random(vid)
    channel = rng.choice(("kiosk", "kiosk", "desk"))
    queue = "general"
    if day.random() < 0.1:
        channel, queue = "self_service", "self_service"
    add("intake", vid, "VisitRegistered", start, office_id=office_id, channel=channel,
        agency=None, ticket=f"A{rng.randint(1, 400):03d}",
        service_day=start.date().isoformat(), registered_at=iso(start), queue=queue)
    now = start + timedelta(seconds=rng.expovariate(1 / 600))
    # The wait the kiosk showed: from its own generator, so the seeded history stays.
    shown = random.Random(vid + ":estimate").lognormvariate(0, 0.4) * (now - start).total_seconds() / 60
    story.events[-1][4]["estimated_wait_minutes"] = round(shown, 1)
    desk = f"D{rng.randint(1, 6)}"
    add("intake", vid, "VisitCalled", now, desk=desk, called_at=iso(now), office_id=office_id, queue=queue)
    if day.random() < 0.2:
        now += timedelta(seconds=day.randint(30, 90))
        add("intake", vid, "VisitRecalled", now, office_id=office_id, desk=desk, recalled_at=iso(now))
    for agency, case_type in keys:
        now += timedelta(seconds=rng.randint(60, 400))
        _question(rng, add, office_id, vid, agency, case_type, now, story)
    now += timedelta(seconds=rng.randint(60, 600))
    if day.random() < 0.08:  # on to an agency's desk: a second wait and a second step
        to_queue = keys[0][0]
        add("intake", vid, "VisitTransferred", now, office_id=office_id, from_queue=queue,
            to_queue=to_queue, to_desk=None, by_desk=desk, transferred_at=iso(now))
        now += timedelta(seconds=day.randint(60, 900))
        add("intake", vid, "VisitCalled", now, desk="D9", called_at=iso(now), office_id=office_id,
            queue=to_queue)
        now += timedelta(seconds=day.randint(120, 600))
    survey = None
    if rng.random() < 0.85:
        survey = {"treatment": 5 if rng.random() < 0.9 else rng.randint(1, 4),
                  "time": 5 if rng.random() < 0.7 else rng.randint(2, 4),
                  "got_help": rng.random() < 0.95}
    add("intake", vid, "VisitEnded", now, satisfaction=survey, ended_at=iso(now))
    return story


def no_show_story(rng: random.Random, office_id: str, start: datetime) -> VisitStory:
    """A visitor who took a ticket and was not there when called, twice."""
    story, vid = VisitStory(office_id), _id(rng)

    def add(kind: str, at: datetime, **payload: Any) -> None:
        story.events.append(("intake", vid, kind, at, {"visit_id": vid, **payload}))

    add("VisitRegistered", start, office_id=office_id, channel="kiosk", agency=None,
        ticket=f"A{rng.randint(1, 400):03d}", service_day=start.date().isoformat(),
        registered_at=iso(start), queue="general")
    called = start + timedelta(seconds=rng.expovariate(1 / 600))
    add("VisitCalled", called, desk="D1", called_at=iso(called), office_id=office_id, queue="general")
    recalled, marked = called + timedelta(seconds=60), called + timedelta(seconds=150)
    add("VisitRecalled", recalled, office_id=office_id, desk="D1", recalled_at=iso(recalled))
    add("VisitMarkedNoShow", marked, office_id=office_id, desk="D1", queue="general", marked_at=iso(marked))
    return story


def desk_story(office_id: str, days: list[datetime], close_after: timedelta) -> VisitStory:
    """Two desks open each day the office had visitors (``days``: local opening times)."""
    story = VisitStory(office_id)
    for desk in ("D1", "D2"):
        stream = f"desk:{office_id}:{desk}"
        for opened in days:
            closed = opened + close_after
            story.events.append(("intake", stream, "DeskOpened", opened, {
                "office_id": office_id, "desk": desk, "queues": ["general", "self_service"],
                "handler": f"handlaggare-{desk.lower()}", "opened_at": iso(opened)}))
            story.events.append(("intake", stream, "DeskClosed", closed, {
                "office_id": office_id, "desk": desk, "closed_at": iso(closed)}))
    return story


def _question(rng, add, office_id, vid, agency, case_type, at, story) -> None:
    qid, pin = _id(rng), rng.choice(PINS) if rng.random() < 0.4 else None
    text = f"Fråga om {case_type}" + (f", mitt personnummer är {PINS[0][:8]}-{PINS[0][8:]}"
                                      if rng.random() < 0.1 else "")
    add("intake", vid, "QuestionRecorded", at, question_id=qid, office_id=office_id, text=text,
        agency=None, case_type=None, personal_identity_number=pin, recorded_at=iso(at),
        person_pseudonym=pseudonym(pin) if pin else None)
    level, decided = _level(rng, (agency, case_type)), at + timedelta(seconds=1)
    destination = "office"
    if level == "complex":
        destination = rng.choices([d for d, _ in _DESTINATIONS], [w for _, w in _DESTINATIONS])[0]
    add("routing", qid, "QuestionClassified", decided, question_id=qid, office_id=office_id,
        level=level, agency=agency, case_type=case_type, confidence=round(rng.uniform(0.5, 1), 3),
        explanation="ord: " + case_type, destination=destination, needs_review=False,
        model_version="rules-1", classified_at=iso(decided))
    if level != "complex" and rng.random() < 0.04:
        new = "in_depth" if level == "general" else "general"
        add("routing", qid, "ClassificationOverridden", decided + timedelta(seconds=30),
            question_id=qid, office_id=office_id, previous_level=level, previous_agency=agency,
            previous_case_type=case_type, level=new, agency=agency, case_type=case_type,
            destination="office", reason=f"Besökaren {PINS[1]} behövde mer", handler="Anna Andersson",
            overridden_at=iso(decided + timedelta(seconds=30)))
        level = new
    story.final.append((agency, case_type, level))
    add("intake", vid, "QuestionResolved", at + timedelta(seconds=90), question_id=qid,
        outcome="forwarded" if level == "complex" else "answered", note=None,
        resolved_at=iso(at + timedelta(seconds=90)))
    if level == "complex":
        add("routing", qid, "CaseRoutedToAgency", decided, question_id=qid, office_id=office_id,
            agency=agency, case_type=case_type, text=text, personal_identity_number=pin,
            destination=destination, routed_at=iso(decided))
        if destination == "agency_system":
            _delivery(rng, add, qid, office_id, agency, case_type, decided)


def _delivery(rng, add, qid, office_id, agency, case_type, at) -> None:
    ids = {"question_id": qid, "agency": agency}
    add("gateway", qid, "CaseQueuedForDelivery", at, **ids, office_id=office_id,
        case_type=case_type, queued_at=iso(at))
    failures = 0 if rng.random() < 0.9 else rng.randint(1, 3)
    for attempt in range(1, failures + 1):
        at += timedelta(seconds=2 ** attempt)
        add("gateway", qid, "CaseForwardingFailed", at, **ids, attempt=attempt,
            reason="503 from agency", retry_at=iso(at + timedelta(seconds=2)), failed_at=iso(at))
    at += timedelta(seconds=rng.uniform(0.2, 3))
    if failures == 3:
        add("gateway", qid, "CaseDeadLettered", at, **ids, attempt=failures + 1,
            reason="422 from agency", dead_lettered_at=iso(at))
    else:
        reference = f"REF-{rng.randrange(10**6)}"
        add("gateway", qid, "CaseForwarded", at, **ids, agency_reference=reference,
            attempt=failures + 1, forwarded_at=iso(at))
        decided = at + timedelta(days=random.Random(qid).expovariate(1 / 7))  # its own generator
        add("gateway", qid, "AgencyCaseUpdated", decided, **ids, agency_reference=reference, status="decided",
            note=None, callback_id=f"cb-{qid}", agency_updated_at=iso(decided), received_at=iso(decided))
