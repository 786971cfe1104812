"""Booked and video meetings with an agency's official (issue 16) for the synthetic
histories (``write_history`` and ``servicekontor demo --days``): intake's booking events,
shaped exactly as intake logs them.

They draw from a generator of their own and are written after everything else, so a
seeded history's visits, questions and cases stay what they were before meetings existed.
Per office and day some meetings, on the hour from 10:00 local (one room never holds two
at once): video at offices with video meetings, in person at the agency's desk otherwise.
Some are moved by the agency, some cancelled (by the visitor, the office or the agency);
the rest are held (checked in before the time), missed (no-show) or fail technically.
About a third are booked with an identity number (sealed in real events; reporting must
drop it) and its pseudonym.
"""

from __future__ import annotations

import random
import uuid
from collections.abc import Iterable
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from servicekontor.synthetic_visits import PINS, iso, pseudonym
from shared.catalog import load_catalog
from shared.offices import Office, load_offices

# (agency, case type, kind) a meeting is booked about; kind None: as the office allows.
TOPICS = (("skatteverket", "id_kort", "in_person"), ("forsakringskassan", "foraldrapenning", None),
          ("forsakringskassan", "sjukpenning", "video"), ("migrationsverket", "uppehallstillstand", None),
          ("arbetsformedlingen", "inskrivning", "video"), ("pensionsmyndigheten", "allman_pension", None))
HOURS = (10, 11, 13, 14)
_DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
# (stream, event type without the producer, when, payload)
Meeting = tuple[str, str, datetime, dict[str, Any]]


def _kinds(office: Office | None) -> tuple[str, ...]:
    if office is None:
        return ("video", "in_person")
    return tuple(k for k, ok in (("video", office.video_meetings), ("in_person", office.booked_meetings)) if ok)


def _id(rng: random.Random) -> str:
    return str(uuid.UUID(int=rng.getrandbits(128), version=4))


def meeting_events(
    rng: random.Random, office_days: Iterable[tuple[str, date]], tz: ZoneInfo, per_day: float = 0.5,
) -> list[Meeting]:
    """Rooms declared at the first video office, then meetings on each (office, day) the
    registry has it open (an office it does not know: any weekday)."""
    registry, out = {o.id: o for o in load_offices()}, []
    known = _topics()
    declared: set[str] = set()
    for office_id, day in office_days:
        office, kinds = registry.get(office_id), _kinds(registry.get(office_id))
        if not kinds or (office is not None and not office.opening_hours.get(_DAYS[day.weekday()])) \
                or day.weekday() >= 5:
            continue
        if "video" in kinds and not declared and office is not None:
            declared.add(office_id)
            at = datetime(day.year, day.month, day.day, 8, tzinfo=tz).astimezone(UTC) - timedelta(days=1)
            out.append((f"rooms:{office_id}", "VideoRoomsDeclared", at, {
                "office_id": office_id, "rooms": ["video-1", "video-2"], "declared_by": "admin",
                "declared_at": iso(at)}))
        count = sum(rng.random() < per_day / 2 for _ in range(4))  # 0–4, mean 2 × per_day
        for hour in sorted(rng.sample(HOURS, count)):
            start = datetime(day.year, day.month, day.day, hour, tzinfo=tz).astimezone(UTC)
            out.extend(_meeting(rng, office_id, kinds, start, known))
    return out


def _topics() -> list[tuple[str, str, str | None]]:
    types = load_catalog().case_types
    return [t for t in TOPICS if (t[0], t[1]) in types]


def _meeting(rng: random.Random, office_id: str, kinds: tuple[str, ...], start: datetime,
             known: list[tuple[str, str, str | None]]) -> list[Meeting]:
    agency, case_type, kind = rng.choice(known)
    kind = kind if kind in kinds else rng.choice(kinds)
    bid, length = _id(rng), rng.choice((30, 30, 45))
    stream, ids = f"booking:{bid}", {"booking_id": bid, "office_id": office_id}
    booked = start - timedelta(hours=max(1.0, rng.expovariate(1 / (24 * 6))))
    pin = rng.choice(PINS) if rng.random() < 0.33 else None
    room = "video-1" if kind == "video" else None
    events: list[Meeting] = [(stream, "BookingMade", booked, {
        **ids, "agency": agency, "case_type": case_type, "kind": kind, "slot_start": iso(start),
        "length_minutes": length, "room": room, "channel": rng.choice(("desk", "desk", "kiosk")),
        "question_id": None, "visit_id": None, "personal_identity_number": pin,
        "contact_name": None if pin else "Sven Svensson", "contact_phone": None if pin else "070-123 45 67",
        "booked_by": "handlaggare-1", "booked_at": iso(booked), "person_pseudonym": pseudonym(pin) if pin else None})]
    roll = rng.random()
    if roll < 0.1:  # the agency moves it a day (before the meeting)
        moved_at, new = booked + (start - booked) / 2, start + timedelta(days=1)
        events.append((stream, "BookingMoved", moved_at, {**ids, "from_start": iso(start), "slot_start": iso(new),
                                                          "room": room, "moved_by": "agency", "moved_at": iso(moved_at)}))
        start = new
    if roll > 0.9:
        cancelled = booked + (start - booked) * rng.random()
        by = rng.choices(("visitor", "office", "agency"), (6, 1.5, 2.5))[0]
        events.append((stream, "BookingCancelled", cancelled, {**ids, "cancelled_by": by, "reason": None,
                                                                "cancelled_at": iso(cancelled)}))
        return events
    fate = rng.random()
    if fate < 0.09:
        marked = start + timedelta(minutes=15)
        events.append((stream, "BookingNoShow", marked, {**ids, "marked_at": iso(marked)}))
        return events
    arrived = start - timedelta(minutes=rng.randint(3, 20))
    events.append((stream, "BookingCheckedIn", arrived, {**ids, "visit_id": _id(rng), "checked_in_at": iso(arrived)}))
    ended = start + timedelta(minutes=length)
    outcome = "technical_failure" if fate > 0.96 and kind == "video" else "held"
    events.append((stream, "MeetingOutcomeRecorded", ended, {**ids, "outcome": outcome, "note": None,
                                                             "recorded_at": iso(ended)}))
    return events


def event_id(stream: str, version: int) -> str:
    """Ids of their own (not from the history's generator, which stays as it was)."""
    return str(uuid.uuid5(uuid.NAMESPACE_URL, f"{stream}/{version}"))
