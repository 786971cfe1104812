"""The meetings figures (pure): per office, agency, kind, case type or day, meetings
booked, held, no-show, cancelled (by whom), the lead time from booking to meeting, and how
much of the video rooms' open time was booked.

Video-room use is booked minutes of video meetings (not cancelled) over room-minutes: the
office's rooms (its latest ``VideoRoomsDeclared``, else one room "video-1" when the office
registry says it has video meetings) times its opening minutes that day. A group by office
or day divides by that office's or day's room-minutes; a group by agency, kind or case type
by all the room-minutes of the selection (its share of the rooms' time).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping
from datetime import date, timedelta
from typing import Any

from services.reporting.domain.meeting_rules import MeetingRecord
from services.reporting.domain.stats import median, percentile
from shared.offices import Office

MEETING_GROUPS = ("office", "agency", "kind", "case_type", "day")
ACTORS = ("visitor", "office", "agency")
_WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
DEFAULT_ROOMS = ("video-1",)

Capacity = Mapping[tuple[str, str], float]  # (office, day) -> room-minutes open


def open_minutes(office: Office, day: date) -> int:
    """Minutes the office is open that day by its opening hours (0: closed)."""
    span = office.opening_hours.get(_WEEKDAYS[day.weekday()])
    if not span:
        return 0
    start, end = ((int(t[:2]) * 60 + int(t[3:])) for t in span.split("-"))
    return max(0, end - start)


def room_count(office: Office | None, declared: Mapping[str, int], office_id: str) -> int:
    if office_id in declared:
        return declared[office_id]
    return len(DEFAULT_ROOMS) if office is not None and office.video_meetings else 0


def capacity(offices: Iterable[str], first: date, last: date, registry: Mapping[str, Office],
             declared: Mapping[str, int]) -> dict[tuple[str, str], float]:
    """Room-minutes open per office and day from ``first`` to ``last`` (inclusive)."""
    out: dict[tuple[str, str], float] = {}
    for office_id in offices:
        office = registry.get(office_id)
        rooms = room_count(office, declared, office_id)
        if office is None or not rooms:
            continue
        day = first
        while day <= last:
            out[(office_id, day.isoformat())] = float(rooms * open_minutes(office, day))
            day += timedelta(days=1)
    return out


def _key(m: MeetingRecord, group_by: str) -> str | None:
    return m.service_day if group_by == "day" else getattr(m, "office_id" if group_by == "office" else group_by)


def _room_minutes(group_by: str, key: str, room: Capacity) -> float:
    if group_by == "office":
        return sum(v for (o, _d), v in room.items() if o == key)
    if group_by == "day":
        return sum(v for (_o, d), v in room.items() if d == key)
    return sum(room.values())


def meeting_rows(meetings: Iterable[MeetingRecord], group_by: str, room: Capacity) -> list[dict[str, Any]]:
    groups: dict[str, list[MeetingRecord]] = {}
    for m in meetings:
        key = _key(m, group_by)
        if key is not None:
            groups.setdefault(key, []).append(m)
    return [_row(group_by, key, found, _room_minutes(group_by, key, room))
            for key, found in sorted(groups.items())]


def _row(group_by: str, key: str, found: list[MeetingRecord], room_minutes: float) -> dict[str, Any]:
    status = Counter(m.status for m in found)
    by = Counter(m.cancelled_by for m in found if m.status == "cancelled")
    leads = [m.lead_minutes for m in found if m.lead_minutes is not None]
    video = sum(m.length_minutes or 0 for m in found if m.kind == "video" and m.status != "cancelled")
    met = status["held"] + status["no_show"]
    p50, p90 = median(leads), percentile(leads, 0.9)
    return {
        group_by: key,
        "booked": len(found),
        "held": status["held"],
        "no_show": status["no_show"],
        "cancelled": status["cancelled"],
        "cancelled_by": {actor: by[actor] for actor in ACTORS},
        "not_held": status["not_held"],
        "upcoming": status["booked"],
        "no_show_rate": round(status["no_show"] / met, 3) if met else None,
        "video": sum(1 for m in found if m.kind == "video"),
        "in_person": sum(1 for m in found if m.kind == "in_person"),
        "lead_time_median_minutes": p50,
        "lead_time_p90_minutes": p90,
        "lead_time_median_days": None if p50 is None else round(p50 / 1440, 1),
        "lead_time_p90_days": None if p90 is None else round(p90 / 1440, 1),
        "video_booked_minutes": video,
        "video_room_minutes": room_minutes,
        "video_room_use": round(video / room_minutes, 3) if room_minutes else None,
    }
