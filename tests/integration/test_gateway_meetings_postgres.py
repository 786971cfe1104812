"""Meetings through the gateway on the suite's real PostgreSQL (issue 16): two replicas
share one delivery table; bookings and their cancellations, handed over in batches as
Kafka would, reach the agency once each, a cancellation claimed before its meeting is
delivered being retried until it is. And the migration that adds ``kind`` (and the
trace) to a delivery table made before it."""

from __future__ import annotations

import sqlalchemy as sa
from alembic import command

from services.agency_gateway.bootstrap import bootstrap
from services.agency_gateway.handlers.meetings import delivery_id
from shared import topics
from shared.db import create_engine
from shared.migrations import alembic_config
from shared.tracking import Checkpoint
from tests.factories import booking_cancelled, booking_envelope
from tests.integration.gateway_support import gateway_settings
from tests.integration.test_gateway_delivery import started
from tests.integration.test_gateway_meetings import made
from tests.integration.test_gateway_postgres import all_finished, pytestmark  # noqa: F401 - realservers

BOOKINGS = 30


async def test_two_replicas_on_postgresql_send_each_meeting_and_cancellation_once(real_servers, tmp_path, simulator):
    settings = gateway_settings(tmp_path, simulator, agency_gateway_database_url=await real_servers.fresh_database())
    async with started(settings) as first, started(settings) as second:
        bookings = [made(agency=agency, case_type=case_type, kind="in_person", room=None)
                    for n in range(BOOKINGS)
                    for agency, case_type in [(("skatteverket", "id_kort"), ("forsakringskassan", "ovrigt"))[n % 2]]]
        events = [booking_envelope(b) for b in bookings]
        events += [booking_envelope(booking_cancelled(b, cancelled_by="office"), stream_version=2) for b in bookings[::3]]
        await first.consumers[1].handle_batch([(e, Checkpoint(topics.INTAKE, 0, i)) for i, e in enumerate(events, 1)])
        first.deps.worker.wake()
        second.deps.worker.wake()
        outcomes = await all_finished(first, len(events))

    assert {o["status"] for o in outcomes} == {"delivered"}
    cancelled = {delivery_id(b.booking_id, "cancellation") for b in bookings[::3]}
    assert {o["question_id"] for o in outcomes} == {b.booking_id for b in bookings} | cancelled
    received = (await simulator.get("/v1/received")).json()
    assert received["meetings"] == BOOKINGS
    by_status = [received["by_agency"][a]["meetings"] for a in ("skatteverket", "forsakringskassan")]
    assert sum(m.get("cancelled", 0) for m in by_status) == len(cancelled)


async def test_the_migration_adds_kind_and_trace_to_a_delivery_table_made_before_them(real_servers, tmp_path, simulator):
    url = await real_servers.fresh_database()
    runtime = bootstrap(gateway_settings(tmp_path, simulator, agency_gateway_database_url=url))
    engine = create_engine(url, schema="agency_gateway")
    try:
        async with engine.begin() as conn:
            await conn.execute(sa.text('CREATE SCHEMA IF NOT EXISTS "agency_gateway"'))
            await conn.run_sync(lambda sync: command.upgrade(alembic_config("agency_gateway", runtime.tables, sync), "0005_meetings"))
            await conn.execute(sa.text("ALTER TABLE agency_gateway.gateway_deliveries DROP COLUMN kind, DROP COLUMN trace"))
            await conn.execute(sa.text(
                "INSERT INTO agency_gateway.gateway_deliveries (question_id, visit_id, office_id, agency, case_type,"
                " status, attempts, queued_at) VALUES ('q-old', 'v', 'kiruna', 'polisen', 'pass', 'delivered', 1, now())"
            ))
        await runtime.init_db()  # migrates to head
        async with runtime.engine.connect() as conn:
            assert await conn.scalar(sa.text("SELECT version_num FROM agency_gateway.alembic_version")) == "0008_booking_visit_links"
            row = (await conn.execute(sa.text("SELECT kind, trace FROM agency_gateway.gateway_deliveries"))).one()
        assert tuple(row) == ("case", None)
    finally:
        await engine.dispose()
        await runtime.close()
