"""The demo day's meetings with an agency's official (issue 16, docs/bookings.md).

Before the day the offices' supervisors publish the agencies' times (every agency, all
its case types, in person where the office books meetings and by video where it has
video rooms), and one simulated agency publishes its own video times through the gateway
(the agency simulator's ``publish_agency_slots``, when the demo runs beside the system).
During the day a desk books a free time for most questions routing sends to a
``video_meeting`` or a ``booked_meeting``; then the visitor checks in at the kiosk (a
ticket in the booked queue, called by a desk, the meeting ``held``), cancels through a
desk, or never comes (intake's no-show worker marks those at their time plus the grace,
after the demo).

Meeting times are wall-clock times, not office minutes: they lie 16-28 minutes ahead,
inside the check-in window (30 minutes before) for the whole compressed day. A visitor
who checks in early waits behind everyone (docs/bookings.md), so the desks take the
meetings as the queues empty."""

from __future__ import annotations

import random
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx

from shared.catalog import load_catalog

KINDS = {"video_meeting": "video", "booked_meeting": "in_person"}
BOOK_SHARE = 0.8  # of the questions routed to a meeting: the visitor takes a time
FATES = {"check_in": 0.6, "cancel": 0.2, "absent": 0.2}  # of the booked meetings
VIDEO_ROOMS = ["video-1", "video-2", "video-3", "video-4"]
LENGTH = {"in_person": 20, "video": 5}  # minutes: video rooms are few, video meetings short
SIM_AGENCY = "forsakringskassan"  # publishes its own video times through the gateway


def slot_starts(now: datetime, kind: str) -> list[datetime]:
    """Times 16-28 minutes ahead: bookable at once and open for check-in all day."""
    first = now.astimezone(UTC).replace(second=0, microsecond=0) + timedelta(minutes=16)
    step = 1 if kind == "in_person" else LENGTH["video"]
    return [first + timedelta(minutes=m) for m in range(0, 13, step)]


def agency_case_types() -> dict[str, list[str]]:
    """Agency -> its case types in the catalog (what a published time offers)."""
    found: dict[str, list[str]] = {}
    for c in load_catalog().case_types.values():
        found.setdefault(c.agency, []).append(c.code)
    return found


def office_kinds(office: dict) -> list[str]:
    """The meeting kinds an office offers (``GET /v1/offices`` flags)."""
    return [k for k, flag in (("in_person", "booked_meetings"), ("video", "video_meetings")) if office.get(flag)]


def fate(rng: random.Random) -> str:
    return rng.choices(list(FATES), weights=list(FATES.values()))[0]


@dataclass
class MeetingTally:
    published: int = 0  # times the offices published
    agency_published: int = 0  # times the simulated agency published through the gateway
    booked: Counter = field(default_factory=Counter)  # kind -> meetings booked
    no_time: int = 0  # a question routed to a meeting with no free time
    checked_in: int = 0
    held: int = 0
    cancelled: int = 0
    absent: int = 0  # booked, never checked in (no-show after the demo)

    def line(self) -> str:
        booked = sum(self.booked.values())
        kinds = ", ".join(f"{n} {k.replace('_', ' ')}" for k, n in sorted(self.booked.items())) or "none"
        agency = f" (+{self.agency_published} by the agency via the gateway)" if self.agency_published else ""
        return (
            f"Meetings: {self.published} times published{agency}; {booked} booked ({kinds}); "
            f"{self.checked_in} checked in, {self.held} held, {self.cancelled} cancelled, "
            f"{self.absent} never checked in (no-show at their time + grace); {self.no_time} without a free time"
        )


async def publish_times(post, put, offices: dict[str, list[str]], now: datetime, tally: MeetingTally) -> None:
    """The supervisors publish every agency's times at the offices that hold meetings
    (office id -> its meeting kinds). ``post(role, path, body, expect)``/``put(role,
    path, body)``: the demo's HTTP."""
    case_types = agency_case_types()
    for office_id, kinds in offices.items():
        base = f"/v1/offices/{office_id}"
        if "video" in kinds:
            await put("supervisor", f"{base}/video-rooms", {"rooms": VIDEO_ROOMS})
        for kind in kinds:
            for agency, codes in sorted(case_types.items()):
                if kind == "video" and agency == SIM_AGENCY:
                    continue  # the agency publishes these itself (publish_by_agency), else below
                body = {"agency": agency, "case_types": codes, "kind": kind, "length_minutes": LENGTH[kind],
                        "starts": [s.isoformat() for s in slot_starts(now, kind)]}
                created = await post("supervisor", f"{base}/slots", body, (201,))
                tally.published += created["slots"] if created else 0


async def publish_by_agency(gateway_url: str, offices: dict[str, list[str]], now: datetime, tally: MeetingTally,
                            post, keys_dir: Path | None) -> None:
    """``SIM_AGENCY`` publishes its video times through the gateway, signed, as the agency
    simulator does; where that cannot be done from here (the simulator's keys are on
    another machine), the offices' supervisors publish them instead (``post``)."""
    video = [office_id for office_id, kinds in offices.items() if "video" in kinds]
    if not video:
        return
    starts = [s.isoformat() for s in slot_starts(now, "video")]
    codes = agency_case_types().get(SIM_AGENCY, [])
    try:
        from services.agency_simulator.app import publish_agency_slots

        if keys_dir is None or not keys_dir.is_dir():
            raise OSError("the system's keys are not here")
        answer = await publish_agency_slots(gateway_url, SIM_AGENCY, {
            "case_types": codes, "kind": "video", "office_ids": video, "starts": starts,
            "length_minutes": LENGTH["video"],
        }, keys_dir)
        tally.agency_published += int(answer.get("slots", 0))
        return
    except (httpx.HTTPError, OSError, RuntimeError, ValueError, KeyError):
        pass  # fall back to the offices' supervisors
    for office_id in video:
        body = {"agency": SIM_AGENCY, "case_types": codes, "kind": "video",
                "length_minutes": LENGTH["video"], "starts": starts}
        created = await post("supervisor", f"/v1/offices/{office_id}/slots", body, (201,))
        tally.published += created["slots"] if created else 0
