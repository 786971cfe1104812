"""The demo day's meetings (servicekontor/demo_meetings.py): the times it publishes are
bookable at once and open for check-in all day, video times fit the rooms, and the
visitors' fates are seeded by the question."""

from __future__ import annotations

import asyncio
import random
from collections import Counter
from datetime import UTC, datetime, timedelta

from servicekontor.demo_meetings import (
    FATES,
    LENGTH,
    SIM_AGENCY,
    VIDEO_ROOMS,
    MeetingTally,
    agency_case_types,
    fate,
    office_kinds,
    publish_by_agency,
    publish_times,
    slot_starts,
)

NOW = datetime(2026, 12, 2, 9, 0, 30, tzinfo=UTC)


def test_times_lie_inside_the_check_in_window_and_video_times_do_not_overlap():
    for kind in ("in_person", "video"):
        starts = slot_starts(NOW, kind)
        assert starts and all(timedelta(minutes=15) < s - NOW < timedelta(minutes=30) for s in starts)
        assert starts == sorted(set(starts))
    video = slot_starts(NOW, "video")
    assert all(b - a >= timedelta(minutes=LENGTH["video"]) for a, b in zip(video, video[1:], strict=False))


def test_an_office_holds_the_meetings_its_flags_say_and_fates_are_seeded():
    assert office_kinds({"booked_meetings": True, "video_meetings": True}) == ["in_person", "video"]
    assert office_kinds({"booked_meetings": False}) == []
    assert fate(random.Random("q1")) == fate(random.Random("q1"))
    drawn = Counter(fate(random.Random(f"q{n}")) for n in range(2000))
    assert set(drawn) == set(FATES) and drawn["check_in"] > drawn["cancel"]


def test_the_supervisors_publish_every_agency_and_the_simulated_agency_falls_back_to_them():
    calls: list[tuple[str, str, dict]] = []

    async def post(role, path, body, expect):
        calls.append((role, path, body))
        return {"slots": len(body["starts"])}

    async def put(role, path, body):
        calls.append((role, path, body))

    tally = MeetingTally()
    offices = {"pitea": ["in_person", "video"]}
    asyncio.run(publish_times(post, put, offices, NOW, tally))
    asyncio.run(publish_by_agency("http://127.0.0.1:9", offices, NOW, tally, post, None))  # no keys here
    assert ("supervisor", "/v1/offices/pitea/video-rooms", {"rooms": VIDEO_ROOMS}) in calls
    published = {(b["agency"], b["kind"]) for _, p, b in calls if p.endswith("/slots")}
    agencies = set(agency_case_types())
    assert published == {(a, k) for a in agencies for k in ("in_person", "video")}
    assert (SIM_AGENCY, "video") in published and tally.agency_published == 0
    assert tally.published == sum(len(b["starts"]) for _, p, b in calls if p.endswith("/slots"))
    assert "0 booked (none)" in tally.line()
