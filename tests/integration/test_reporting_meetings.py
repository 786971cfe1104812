"""Meetings with agencies' officials in reporting (issue 16), on a hand-made history of
booking events in intake's embedded event store, with the figures worked out by hand:
the replay (also in two passes) and the live consumer build the same facts, the API
groups them, the SQL view agrees, no personal data reaches the store, bad queries → 422.

History (Stockholm is UTC+1 in December; local times). Piteå: video rooms declared
video-1 and video-2; small office, open Thu 10–15 (300 min), Fri 10–13 (180 min). Umeå:
no declaration, so the registry's one room; open Thu 09–16 (420), Fri 09–15 (360).

| id | office | kind      | agency/case               | meeting         | min | booked before | end                    |
|----|--------|-----------|---------------------------|-----------------|-----|---------------|------------------------|
| B1 | pitea  | video     | fk/foraldrapenning        | Thu 12-03 10:00 | 30  | 2 days        | checked in, held       |
| B2 | pitea  | video     | fk/foraldrapenning        | Thu 12-03 11:00 | 60  | 1 day         | no-show                |
| B3 | pitea  | video     | skv/folkbokforing         | Thu 12-03 12:00 | 30  | 4 days        | cancelled by agency    |
| B4 | pitea  | in_person | skv/folkbokforing         | Fri 12-04 10:00 | 45  | 3 days*       | moved by agency, held  |
| B5 | umea   | video     | fk/foraldrapenning        | Thu 12-03 13:00 | 30  | 7 days        | cancelled by visitor   |
| B6 | umea   | video     | fk/foraldrapenning        | Thu 12-03 14:00 | 30  | 6 hours       | technical failure      |

* booked for Thu 12-03 10:00 three days before, then moved a day: four days ahead.
"""

from __future__ import annotations

import asyncio
import json
import sqlite3
import uuid
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from servicekontor.synthetic_history import _INSERT, _open
from services.reporting.adapters.event_log import SqliteEventLog
from services.reporting.bootstrap import bootstrap
from services.reporting.config import ReportingSettings
from services.reporting.handlers import event_handlers
from services.reporting.handlers.replay import replay
from shared import topics
from shared.consumer import EventConsumer
from shared.db import sqlite_url
from shared.tracking import Checkpoint
from tests import factories as f
from tests.helpers import api_client

TZ = ZoneInfo("Europe/Stockholm")
PERIOD = {"from": "2026-12-03", "to": "2026-12-04"}
PERSONAL = ("198112189876", "Ada Andersson", "0701234567", "Kan inte komma")
FK, SKV = ("forsakringskassan", "foraldrapenning"), ("skatteverket", "folkbokforing")
MEETINGS = ("reporting_meetings", "reporting_video_rooms")


def local(day: int, hour: int) -> datetime:
    return datetime(2026, 12, day, hour, tzinfo=TZ).astimezone(UTC)


def book(booking_id: str, office: str, kind: str, key: tuple[str, str], start: datetime, minutes: int,
         ahead: timedelta):
    return f.booking_made(booking_id=booking_id, office_id=office, kind=kind, agency=key[0], case_type=key[1],
                        slot_start=start, length_minutes=minutes, room="video-1" if kind == "video" else None,
                        booked_at=start - ahead)


def history() -> list:
    b1 = book("B1", "pitea", "video", FK, local(3, 10), 30, timedelta(days=2))
    b2 = book("B2", "pitea", "video", FK, local(3, 11), 60, timedelta(days=1))
    b3 = book("B3", "pitea", "video", SKV, local(3, 12), 30, timedelta(days=4))
    b4 = book("B4", "pitea", "in_person", SKV, local(3, 10), 45, timedelta(days=3))
    b5 = book("B5", "umea", "video", FK, local(3, 13), 30, timedelta(days=7))
    b6 = book("B6", "umea", "video", FK, local(3, 14), 30, timedelta(hours=6))
    return [
        f.video_rooms_declared(office_id="pitea", rooms=["video-1", "video-2"], declared_at=local(1, 9)),
        b1, f.booking_checked_in(b1), f.meeting_outcome_recorded(b1),
        b2, f.booking_no_show(b2),
        b3, f.booking_cancelled(b3, cancelled_by="agency", cancelled_at=local(2, 9)),
        b4, f.booking_moved(b4, slot_start=local(4, 10), moved_by="agency", moved_at=local(1, 12)),
        f.booking_checked_in(b4, checked_in_at=local(4, 10) - timedelta(minutes=3)),
        b5, f.booking_cancelled(b5, cancelled_by="visitor", cancelled_at=local(1, 8)),
        b6, f.meeting_outcome_recorded(b6, outcome="technical_failure", note="Ljudet föll bort"),
    ]


def write(data_dir: Path, events: list) -> None:
    rows, versions = [], Counter()
    for event in events:
        e = f.booking_envelope(event)
        versions[e.stream_id] += 1
        rows.append((str(e.event_id), e.event_type, 1, e.stream_id, versions[e.stream_id],
                     e.occurred_at.replace(tzinfo=None).isoformat(" ", "microseconds"), str(e.event_id), None,
                     "intake", json.dumps(event.model_dump(mode="json"))))
    for name in ("intake.db", "routing.db", "agency_gateway.db"):
        db = _open(data_dir / name)
        db.executemany(_INSERT, rows if name == "intake.db" else [])
        db.commit()
        db.close()


def settings(data_dir: Path) -> ReportingSettings:
    return ReportingSettings(data_dir=data_dir, reporting_database_url=sqlite_url(data_dir / "reporting.db"))


async def build(data_dir: Path, partitions: int = 1) -> Path:
    write(data_dir, history())
    runtime = bootstrap(settings(data_dir))
    await runtime.init_db()
    logs = [SqliteEventLog(data_dir / "intake.db", topics.INTAKE)]
    await replay(runtime.engine, logs, TZ, None, partitions=partitions)
    await runtime.close()
    return data_dir


def rows_of(path: Path) -> dict[str, list]:
    with sqlite3.connect(path) as db:
        return {t: sorted(db.execute(f"SELECT * FROM {t}").fetchall()) for t in MEETINGS}


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return asyncio.run(build(tmp_path_factory.mktemp("meetings")))


@pytest.fixture
async def api(data_dir):
    """A bi client of reporting over the replayed store."""
    runtime = bootstrap(settings(data_dir))
    client = api_client(runtime, role="bi")
    async with client:
        yield client
    await runtime.close()


async def rows(api, **params) -> dict[str, dict]:
    response = await api.get("/v1/stats/meetings", params={**PERIOD, **params})
    assert response.status_code == 200, response.text
    group = params.get("group_by", "office")
    return {r[group]: r for r in response.json()["rows"]}


async def test_per_office_booked_held_no_show_cancelled_lead_time_and_room_use(api) -> None:
    found = await rows(api)
    pitea, umea = found["pitea"], found["umea"]
    assert pitea["office_name"] == "Piteå"
    assert (pitea["booked"], pitea["held"], pitea["no_show"], pitea["cancelled"], pitea["not_held"]) == (4, 2, 1, 1, 0)
    assert pitea["cancelled_by"] == {"visitor": 0, "office": 0, "agency": 1}
    assert (pitea["lead_time_median_minutes"], pitea["lead_time_p90_minutes"]) == (4320, 5760)  # 2, 1, 4, 4 days
    assert (pitea["lead_time_median_days"], pitea["lead_time_p90_days"]) == (3.0, 4.0)
    assert (pitea["video_booked_minutes"], pitea["video_room_minutes"]) == (90, 960)  # 2 rooms × (300 + 180)
    assert pitea["video_room_use"] == round(90 / 960, 3) and pitea["no_show_rate"] == round(1 / 3, 3)
    assert (umea["booked"], umea["cancelled"], umea["not_held"], umea["held"]) == (2, 1, 1, 0)
    assert umea["cancelled_by"]["visitor"] == 1 and umea["lead_time_median_minutes"] == 5220
    assert (umea["video_booked_minutes"], umea["video_room_minutes"]) == (30, 780)  # 1 room × (420 + 360)


async def test_per_day_kind_agency_and_case_type(api) -> None:
    days = await rows(api, group_by="day")
    assert {d: r["booked"] for d, r in days.items()} == {"2026-12-03": 5, "2026-12-04": 1}
    assert days["2026-12-03"]["video_room_minutes"] == 600 + 420
    assert days["2026-12-03"]["video_room_use"] == round(120 / 1020, 3)
    kinds = await rows(api, group_by="kind")
    assert (kinds["video"]["booked"], kinds["in_person"]["booked"], kinds["in_person"]["held"]) == (5, 1, 1)
    agencies = await rows(api, group_by="agency")
    assert (agencies["skatteverket"]["booked"], agencies["forsakringskassan"]["booked"]) == (2, 4)
    cases = await rows(api, group_by="case_type")
    assert set(cases) == {"foraldrapenning", "folkbokforing"}


async def test_filters_narrow_the_rows(api) -> None:
    umea = await rows(api, office_id="umea", kind="video", group_by="kind")
    assert list(umea) == ["video"] and umea["video"]["booked"] == 2
    assert umea["video"]["video_room_minutes"] == 780
    skv = await rows(api, agency="skatteverket")
    assert list(skv) == ["pitea"] and skv["pitea"]["booked"] == 2
    assert await rows(api, **{"from": "2026-12-05", "to": "2026-12-31"}) == {}
    friday = await rows(api, **{"from": "2026-12-04", "to": "2026-12-04"}, group_by="day")
    assert list(friday) == ["2026-12-04"]


@pytest.mark.parametrize("params", [
    {"group_by": "month"}, {"kind": "phone"}, {"from": "2026-12-31", "to": "2026-12-01"},
    {"from": "not-a-day"}, {"agency": "no_such_agency"}, {"office_id": "Bad Office!"},
])
async def test_bad_queries_get_a_json_422(api, params) -> None:
    response = await api.get("/v1/stats/meetings", params=params)
    assert response.status_code == 422 and response.headers["content-type"].startswith("application/json")


async def test_the_route_needs_stats_read(data_dir) -> None:
    runtime = bootstrap(settings(data_dir))
    async with api_client(runtime, role="kiosk") as kiosk:
        assert (await kiosk.get("/v1/stats/meetings")).status_code == 403
        kiosk.headers.pop("authorization")
        assert (await kiosk.get("/v1/stats/meetings")).status_code == 401
    await runtime.close()


def test_no_identity_number_name_phone_or_free_text_reaches_the_store(data_dir) -> None:
    with sqlite3.connect(data_dir / "reporting.db") as db:
        dump = "\n".join(db.iterdump())
    assert "B1" in dump and not any(p in dump for p in PERSONAL) and "Ljudet" not in dump


def test_the_sql_view_agrees_with_the_api(data_dir) -> None:
    with sqlite3.connect(data_dir / "reporting.db") as db:
        [totals] = db.execute(
            "SELECT SUM(booked), SUM(held), SUM(no_show), SUM(cancelled_by_agency), SUM(cancelled_by_visitor),"
            " SUM(not_held), SUM(video_booked_minutes) FROM v_meetings_by_office_day").fetchall()
        rooms = db.execute("SELECT office_id, room_count, rooms FROM reporting_video_rooms").fetchall()
    assert totals == (6, 2, 1, 1, 1, 1, 120)
    assert rooms == [("pitea", 2, "video-1,video-2")]


async def test_a_replay_in_two_passes_and_the_live_consumer_build_the_same_facts(data_dir, tmp_path) -> None:
    replayed = rows_of(data_dir / "reporting.db")
    assert len(replayed["reporting_meetings"]) == 6
    (tmp_path / "two").mkdir()
    await build(tmp_path / "two", partitions=2)
    assert rows_of(tmp_path / "two" / "reporting.db") == replayed
    live_dir = tmp_path / "live"
    live_dir.mkdir()
    runtime = bootstrap(settings(live_dir))
    await runtime.init_db()
    consumer = EventConsumer("reporting", list(topics.ALL), runtime.uow_factory, event_handlers(TZ))
    events = history()
    for position, event in enumerate([*reversed(events), *events[:4]], start=1):  # backwards, then again
        envelope = f.booking_envelope(event, event_id=uuid.uuid4())
        await consumer.handle(envelope, Checkpoint(topics.INTAKE, 0, position))
    await runtime.close()
    assert rows_of(live_dir / "reporting.db") == replayed
