"""A visit's bookings in its overview, an office's bookings of a day, and the outcome a
desk records, on intake's real SQLite store (and PostgreSQL where marked): what the desk
page reads (docs/bookings.md). Booking rows from before migration 0008 are completed from
the booking's events at intake's start (SQLite: the new columns and their indexes;
PostgreSQL: the migration, then the same fill)."""

from __future__ import annotations

import json
import sqlite3
import uuid
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
import sqlalchemy as sa
from sqlalchemy import event

from services.intake.bootstrap import bootstrap
from services.intake.config import IntakeSettings
from shared.idempotency import KEY_HEADER
from tests.helpers import api_client
from tests.integration import test_office_day_api as office_day_api
from tests.integration.test_bookings_api import (
    OFFICE,
    PIN,
    as_role,
    at,
    book,
    publish,
    stored_events,
)

runtime, client, take = office_day_api.runtime, office_day_api.client, office_day_api.take

STOCKHOLM = ZoneInfo("Europe/Stockholm")
LINE = {"booking_id", "code", "question_id", "agency", "case_type", "kind", "slot_start", "length_minutes",
        "room", "status", "agency_status", "outcome"}
NEW_COLUMNS = ("visit_id", "question_id", "checked_in_visit_id", "agency", "case_type", "kind",
               "length_minutes", "room", "has_identity_number", "outcome")
INDEXES = {"ix_intake_bookings_visit_id", "ix_intake_bookings_checked_in_visit_id", "ix_intake_bookings_office_day"}


def key() -> dict[str, str]:
    return {KEY_HEADER: str(uuid.uuid4())}


def local(on: date, hour: int, minute: int = 0) -> datetime:
    return datetime.combine(on, time(hour, minute), STOCKHOLM).astimezone(UTC)


def z(at_: datetime) -> str:
    return at_.isoformat().replace("+00:00", "Z")


async def overview(client, visit_id: str) -> dict:
    response = await client.get(f"/v1/visits/{visit_id}/overview")
    assert response.status_code == 200, response.text
    return response.json()


async def day_list(client, expect: int = 200, office: str = OFFICE, **params) -> dict:
    response = await client.get(f"/v1/offices/{office}/bookings", params=params)
    assert response.status_code == expect, response.text
    return response.json()


async def check_in(client, code: str) -> dict:
    response = await client.post("/v1/bookings/check-in", json={"office_id": OFFICE, "code": code})
    assert response.status_code == 200, response.text
    return response.json()


# -- the visit overview ----------------------------------------------------------------------
async def test_the_overview_carries_the_visits_bookings_by_time_without_personal_data(client):
    visit = await take(client)
    other = await take(client)
    first, second, middle = at(180), at(120), at(150)
    await publish(client, [first, second])
    await publish(client, [middle], kind="video", agency="forsakringskassan", case_types=["sjukpenning"])
    assert (await overview(client, visit["visit_id"]))["bookings"] == []
    later = await book(client, first, visit_id=visit["visit_id"], question_id="q-later",
                       personal_identity_number=PIN, name="Anna Berg", phone="070-123 45 67")
    sooner = await book(client, second, visit_id=visit["visit_id"], question_id="q-sooner")
    video = await book(client, middle, kind="video", agency="forsakringskassan", case_type="sjukpenning",
                       visit_id=visit["visit_id"], question_id="q-video")
    await book(client, at(240), status=422, visit_id=visit["visit_id"])  # no slot then: nothing added
    mine = await overview(client, visit["visit_id"])
    lines = mine["bookings"]
    assert [b["booking_id"] for b in lines] == [sooner["booking_id"], video["booking_id"], later["booking_id"]]
    assert all(set(b) == LINE for b in lines)
    by_id = {b["booking_id"]: b for b in lines}
    assert by_id[later["booking_id"]] == {
        "booking_id": later["booking_id"], "code": later["code"], "question_id": "q-later", "agency": "skatteverket",
        "case_type": "id_kort", "kind": "in_person", "slot_start": z(first), "length_minutes": 30, "room": None,
        "status": "booked", "agency_status": "pending", "outcome": None,
    }
    assert (by_id[video["booking_id"]]["kind"], by_id[video["booking_id"]]["room"]) == ("video", "video-1")
    text = json.dumps(mine)
    assert "19811218" not in text and "Anna" not in text and "45 67" not in text
    assert (await overview(client, other["visit_id"]))["bookings"] == []  # another visit's: none
    assert (await client.delete(f"/v1/bookings/{sooner['booking_id']}")).status_code == 200
    statuses = {b["booking_id"]: b["status"] for b in (await overview(client, visit["visit_id"]))["bookings"]}
    assert statuses[sooner["booking_id"]] == "cancelled" and statuses[later["booking_id"]] == "booked"


async def test_the_overview_reads_bookings_in_one_query_however_many(runtime, client):
    """The statements an overview makes do not grow with its bookings (one query)."""
    visit = await take(client)
    starts = [at(120 + 30 * i) for i in range(5)]
    await publish(client, starts)
    statements: list[str] = []

    def count(_conn, _cursor, statement, *_args) -> None:
        statements.append(statement)

    async def statements_of_overview() -> int:
        statements.clear()
        event.listen(runtime.engine.sync_engine, "before_cursor_execute", count)
        try:
            await overview(client, visit["visit_id"])
        finally:
            event.remove(runtime.engine.sync_engine, "before_cursor_execute", count)
        return len(statements)

    await book(client, starts[0], visit_id=visit["visit_id"], question_id="q-0")
    one = await statements_of_overview()
    for i, start in enumerate(starts[1:], 1):
        await book(client, start, visit_id=visit["visit_id"], question_id=f"q-{i}")
    five = await statements_of_overview()
    assert len((await overview(client, visit["visit_id"]))["bookings"]) == 5
    assert five == one, statements
    assert sum("intake_bookings" in s for s in statements) == 1


async def test_check_in_puts_the_booking_in_the_new_visits_overview_and_the_desk_records_the_outcome(runtime, client):
    visit = await take(client)
    due = at(-5)  # its time has come: check-in is open
    await publish(client, [due])
    made = await book(client, due, visit_id=visit["visit_id"], question_id="q-1")
    checked = await check_in(client, made["code"])
    assert checked["visit_id"] != visit["visit_id"]
    for visit_id in (visit["visit_id"], checked["visit_id"]):  # booked for it, or made by its check-in
        [line] = (await overview(client, visit_id))["bookings"]
        assert (line["booking_id"], line["status"], line["question_id"]) == (made["booking_id"], "checked_in", "q-1")
    async with as_role(runtime, "desk") as desk:
        sent = key()
        first = await desk.post(f"/v1/bookings/{made['booking_id']}/outcome", json={"outcome": "agency_absent"},
                                headers=sent)
        again = await desk.post(f"/v1/bookings/{made['booking_id']}/outcome", json={"outcome": "agency_absent"},
                                headers=sent)
        assert first.status_code == again.status_code == 200, first.text
        assert first.json() == again.json() == {"booking_id": made["booking_id"], "status": "held",
                                                "outcome": "agency_absent"}
        assert again.headers.get("idempotent-replayed") == "true"
        [line] = (await overview(desk, checked["visit_id"]))["bookings"]
        assert (line["status"], line["outcome"]) == ("held", "agency_absent")
        [listed] = (await day_list(desk, date=due.astimezone(STOCKHOLM).date().isoformat()))["bookings"]
        assert (listed["status"], listed["outcome"]) == ("held", "agency_absent")
    types = [t for t, _ in stored_events(runtime)]
    assert types.count("intake.MeetingOutcomeRecorded") == 1


# -- the office's day ------------------------------------------------------------------------
async def test_the_day_list_is_the_offices_bookings_of_one_local_day_by_time(runtime, client):
    today = datetime.now(STOCKHOLM).date()
    d1, d2 = today + timedelta(days=1), today + timedelta(days=2)
    # 00:30 in Stockholm is the day before in UTC: it belongs to the office's own day.
    starts = [local(d1, 14), local(d1, 9), local(d2, 0, 30), local(d1, 23, 30)]
    await publish(client, starts)
    await publish(client, [local(d1, 10)], office="lulea")
    made = [await book(client, s, phone="070-123 45 67" if i == 1 else None,
                       personal_identity_number=PIN if i == 1 else None) for i, s in enumerate(starts)]
    elsewhere = await client.post("/v1/bookings", json={
        "office_id": "lulea", "agency": "skatteverket", "case_type": "id_kort", "kind": "in_person",
        "slot_start": local(d1, 10).isoformat()})
    assert elsewhere.status_code in (201, 422), elsewhere.text  # Luleå's booking is never Umeå's
    async with as_role(runtime, "desk") as desk:
        first = await day_list(desk, date=d1.isoformat())
        assert (first["office_id"], first["date"]) == (OFFICE, d1.isoformat())
        assert [b["booking_id"] for b in first["bookings"]] == [made[1]["booking_id"], made[0]["booking_id"],
                                                                made[3]["booking_id"]]
        assert all(set(b) == LINE | {"has_identity_number", "phone_masked"} for b in first["bookings"])
        with_contact = first["bookings"][0]
        assert with_contact["has_identity_number"] is True and with_contact["phone_masked"] == "••••••••67"
        assert "19811218" not in json.dumps(first) and "45 67" not in json.dumps(first)
        assert [b["booking_id"] for b in (await day_list(desk, date=d2.isoformat()))["bookings"]] \
            == [made[2]["booking_id"]]
        assert (await day_list(desk, date=(today + timedelta(days=3)).isoformat()))["bookings"] == []
        assert (await desk.delete(f"/v1/bookings/{made[0]['booking_id']}")).status_code == 200
        cancelled = await day_list(desk, date=d1.isoformat(), status="cancelled")
        assert [(b["booking_id"], b["status"]) for b in cancelled["bookings"]] == [(made[0]["booking_id"], "cancelled")]
        assert len((await day_list(desk, date=d1.isoformat(), status="booked"))["bookings"]) == 2
        # Erased: the masked phone and the identity flag go with the data key.
        assert (await client.delete(f"/v1/bookings/{made[1]['booking_id']}/personal-data")).status_code == 200
        erased = (await day_list(desk, date=d1.isoformat(), status="booked"))["bookings"][0]
        assert (erased["booking_id"], erased["phone_masked"], erased["has_identity_number"]) \
            == (made[1]["booking_id"], None, False)


async def test_the_day_list_defaults_to_today_in_the_offices_time_zone(runtime, client):
    soon = at(10)
    await publish(client, [soon])
    made = await book(client, soon)
    today = datetime.now(STOCKHOLM).date().isoformat()
    async with as_role(runtime, "supervisor") as supervisor:
        default = await day_list(supervisor)
        explicit = await day_list(supervisor, date=today)
        on_its_day = await day_list(supervisor, date=soon.astimezone(STOCKHOLM).date().isoformat())
    assert default == explicit and default["date"] == today
    assert made["booking_id"] in [b["booking_id"] for b in on_its_day["bookings"]]


async def test_the_day_list_refuses_callers_offices_and_dates_it_must(runtime, client):
    async with api_client(runtime) as anonymous:
        anonymous.headers.pop("Authorization")
        assert (await anonymous.get(f"/v1/offices/{OFFICE}/bookings")).status_code == 401
    for role in ("kiosk", "display", "bi", "monitor", "agency"):  # no bookings:read
        async with as_role(runtime, role) as caller:
            assert (await caller.get(f"/v1/offices/{OFFICE}/bookings")).status_code == 403, role
    for role in ("desk", "supervisor", "admin"):
        async with as_role(runtime, role) as caller:
            assert (await caller.get(f"/v1/offices/{OFFICE}/bookings")).status_code == 200, role
    missing = await day_list(client, 404, office="nowhere")
    assert "nowhere" in json.dumps(missing)
    for bad in ("2026-13-01", "yesterday", "2026-02-30", "9999-12-31", "1999-12-31", "03.12.2026"):
        refused = await day_list(client, 422, date=bad)
        assert refused["error"]["code"] == "validation_error", bad
    refused = await client.get(f"/v1/offices/{OFFICE}/bookings", params={"status": "lost"})
    assert refused.status_code == 422 and refused.json()["error"]["code"] == "validation_error"


# -- rows from before migration 0008 ---------------------------------------------------------
async def same_overviews(runtime_, visit_id: str, before: list, ticket_visit: str, booking_id: str) -> None:
    """The booked-for visit's bookings as before; the check-in visit's: that booking."""
    async with api_client(runtime_) as fresh:
        assert (await overview(fresh, visit_id))["bookings"] == before
        assert [b["booking_id"] for b in (await overview(fresh, ticket_visit))["bookings"]] == [booking_id]


def _strip_new_columns(db_path) -> None:
    """The booking rows as a file made before 0008 holds them: no new columns, no indexes."""
    with sqlite3.connect(db_path) as db:
        for index in INDEXES:
            db.execute(f"DROP INDEX {index}")
        for column in NEW_COLUMNS:
            db.execute(f"ALTER TABLE intake_bookings DROP COLUMN {column}")


async def test_an_older_sqlite_file_gets_the_columns_their_indexes_and_their_values_at_start(runtime, client):
    visit = await take(client)
    due, later = at(-5), at(120)
    await publish(client, [due, later])
    checked_in = await book(client, due, visit_id=visit["visit_id"], question_id="q-1", phone="070-123 45 67")
    plain = await book(client, later)  # a kiosk's: no visit, no question
    ticket = await check_in(client, checked_in["code"])
    before = (await overview(client, visit["visit_id"]))["bookings"]
    await runtime.close()
    path = runtime.settings.data_dir / "intake.db"
    _strip_new_columns(path)
    again = bootstrap(IntakeSettings(data_dir=runtime.settings.data_dir))
    await again.init_db()
    try:
        inspector_rows = sqlite3.connect(path)
        indexes = {r[1] for r in inspector_rows.execute("PRAGMA index_list(intake_bookings)")}
        assert indexes >= INDEXES
        rows = dict(inspector_rows.execute(
            "SELECT booking_id, json_array(visit_id, question_id, checked_in_visit_id, agency, kind, room,"
            " length_minutes, has_identity_number, phone_masked) FROM intake_bookings").fetchall())
        inspector_rows.close()
        assert json.loads(rows[checked_in["booking_id"]]) == [
            visit["visit_id"], "q-1", ticket["visit_id"], "skatteverket", "in_person", None, 30, 0, "••••••••67"]
        assert json.loads(rows[plain["booking_id"]])[:4] == [None, None, None, "skatteverket"]
        await same_overviews(again, visit["visit_id"], before, ticket["visit_id"], checked_in["booking_id"])
    finally:
        await again.close()


def test_migration_0008_adds_the_columns_and_indexes_on_sqlite(tmp_path):
    """Alembic on SQLite (as tests/unit/test_idempotency.py runs 0003); PostgreSQL below."""
    from alembic import command

    from shared.migrations import alembic_config

    tables = bootstrap(IntakeSettings(data_dir=tmp_path)).tables
    engine = sa.create_engine(f"sqlite:///{tmp_path / 'old.db'}")
    with engine.begin() as conn:
        command.upgrade(alembic_config(None, tables, conn), "0007_gateway_delivery_kind")
    _strip_new_columns(tmp_path / "old.db")
    assert "visit_id" not in {c["name"] for c in sa.inspect(engine).get_columns("intake_bookings")}
    with engine.begin() as conn:
        command.upgrade(alembic_config(None, tables, conn), "head")
    inspector = sa.inspect(engine)
    assert set(NEW_COLUMNS) <= {c["name"] for c in inspector.get_columns("intake_bookings")}
    assert {
        i["name"] for i in inspector.get_indexes("intake_bookings")} >= INDEXES
    with engine.connect() as conn:
        assert conn.execute(sa.text("SELECT version_num FROM alembic_version")).scalar() == "0008_booking_visit_links"
    engine.dispose()


@pytest.mark.realservers
async def test_on_postgresql_migration_0008_and_the_fill_complete_a_booking_made_before_it(real_servers, tmp_path):
    url = await real_servers.fresh_database()

    def settings():
        return IntakeSettings(data_dir=tmp_path, database_url=url, intake_database_url=None, vault_database_url=None)

    first = bootstrap(settings())
    await first.init_db()
    try:
        async with api_client(first) as one:
            visit = await take(one)
            due = at(-5)
            await publish(one, [due], kind="video", agency="forsakringskassan", case_types=["sjukpenning"])
            made = await book(one, due, kind="video", agency="forsakringskassan", case_type="sjukpenning",
                              visit_id=visit["visit_id"], question_id="q-1")
            ticket = await check_in(one, made["code"])
            before = (await overview(one, visit["visit_id"]))["bookings"]
        async with first.engine.begin() as conn:  # the schema as 0007 left it
            for index in INDEXES:
                await conn.execute(sa.text(f"DROP INDEX intake.{index}"))
            await conn.execute(sa.text("ALTER TABLE intake.intake_bookings "
                                       + ", ".join(f"DROP COLUMN {c}" for c in NEW_COLUMNS)))
            await conn.execute(sa.text("UPDATE intake.alembic_version SET version_num = '0007_gateway_delivery_kind'"))
    finally:
        await first.close()
    second = bootstrap(settings())
    await second.init_db()  # migrates to head, then fills the row from the booking's events
    try:
        async with second.engine.connect() as conn:
            assert await conn.scalar(sa.text("SELECT version_num FROM intake.alembic_version")) \
                == "0008_booking_visit_links"
            indexes = set((await conn.execute(sa.text(
                "SELECT indexname FROM pg_indexes WHERE schemaname = 'intake' AND tablename = 'intake_bookings'"
            ))).scalars())
            row = (await conn.execute(sa.text(
                "SELECT visit_id, question_id, checked_in_visit_id, agency, kind, room FROM intake.intake_bookings"
            ))).one()
        assert indexes >= INDEXES
        assert tuple(row) == (visit["visit_id"], "q-1", ticket["visit_id"], "forsakringskassan", "video", "video-1")
        await same_overviews(second, visit["visit_id"], before, ticket["visit_id"], made["booking_id"])
    finally:
        await second.close()
