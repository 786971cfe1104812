"""Reporting on a real SQLite file: events through EventConsumer, answers over HTTP."""

from __future__ import annotations

import sqlite3
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest

from services.reporting.bootstrap import bootstrap
from services.reporting.config import ReportingSettings
from shared import topics
from shared.db import sqlite_url
from shared.events import DomainEvent, EventEnvelope
from shared.runtime import ServiceRuntime
from shared.tracking import Checkpoint
from tests.factories import (
    case_forwarded,
    case_queued_for_delivery,
    case_routed_to_agency,
    classification_overridden,
    envelopes,
    question_classified,
    question_recorded,
    visit_called,
    visit_ended,
    visit_registered,
)
from tests.helpers import api_client

D1 = datetime(2025, 3, 3, tzinfo=UTC)  # a Monday; Stockholm is UTC+1
PIN = "198112189876"
PIN_TEXT = "Nytt id-kort, personnummer 19811218-9876, hemlighetsordet"
TOPIC = {"intake": topics.INTAKE, "routing": topics.ROUTING, "gateway": topics.GATEWAY}
IDS = {n: str(uuid.uuid4()) for n in ("A", "B", "C", "D", "qA1", "qA2", "qB1", "qB2", "qC1", "qD1")}


def at(hours: float) -> datetime:
    return D1 + timedelta(hours=hours)


def visit(
    v: str, office: str, start: float, wait_min: float, end_min: float | None
) -> list[DomainEvent]:
    """Registered at ``start`` hours, called ``wait_min`` and ended ``end_min`` minutes
    later (or not yet). Reporting finds the service day itself, whatever intake says."""
    here = {"visit_id": IDS[v], "office_id": office}
    events: list[DomainEvent] = [
        visit_registered(**here, service_day="ignored", registered_at=at(start)),
        visit_called(**here, called_at=at(start + wait_min / 60)),
    ]
    if end_min is not None:
        events.append(visit_ended(visit_id=IDS[v], ended_at=at(start + end_min / 60)))
    return events


def question(v: str, q: str) -> dict[str, str]:
    return {"visit_id": IDS[v], "question_id": IDS[q]}


def story() -> dict[str, list[DomainEvent]]:
    """Malmö: A (day 1, ended, 2 questions), B (day 1, 2 Försäkringskassan questions), D (registered 23:30 UTC, so day 2 in
    Stockholm, reclassified by a handler). Umeå: C (day 1, ended, unclassified question)."""
    a, b, c, d = (
        visit("A", "sk-malmo", 8, 10, 30),
        visit("B", "sk-malmo", 9, 20, None),
        visit("C", "sk-umea", 10, 5, 10),
        visit("D", "sk-malmo", 23.5, 10, None),
    )
    malmo, umea = {"office_id": "sk-malmo"}, {"office_id": "sk-umea"}
    intake = [
        *a[:2],
        question_recorded(**question("A", "qA1"), **malmo, recorded_at=at(8.2)),
        question_recorded(
            **question("A", "qA2"), **malmo, text=PIN_TEXT, personal_identity_number=PIN, recorded_at=at(8.25)
        ),
        a[2],
        *b,
        question_recorded(**question("B", "qB1"), **malmo, recorded_at=at(9.4)),
        question_recorded(**question("B", "qB2"), **malmo, recorded_at=at(9.45)),
        *c[:2],
        question_recorded(**question("C", "qC1"), **umea, recorded_at=at(10.1)),
        c[2],
        *d,
        question_recorded(**question("D", "qD1"), **malmo, recorded_at=at(23.6)),
    ]
    fk = {"agency": "forsakringskassan"}
    routing = [
        question_classified(**question("A", "qA1"), **malmo, **fk, level="general", case_type="bostadsbidrag",
                            classified_at=at(8.3)),
        question_classified(**question("A", "qA2"), **malmo, level="complex", agency="skatteverket",
                            case_type="id_kort", classified_at=at(8.3)),
        case_routed_to_agency(
            **question("A", "qA2"), **malmo, agency="skatteverket", case_type="id_kort", text=PIN_TEXT,
            personal_identity_number=PIN, routed_at=at(8.3),
        ),
        question_classified(**question("B", "qB1"), **malmo, **fk, level="in_depth", case_type="bostadsbidrag",
                            classified_at=at(9.5)),
        question_classified(**question("B", "qB2"), **malmo, **fk, level="general", case_type="barnbidrag",
                            classified_at=at(9.5)),
        question_classified(**question("D", "qD1"), **malmo, **fk, level="general", case_type="aktivitetsstod",
                            classified_at=at(23.7)),
        classification_overridden(
            **question("D", "qD1"), **malmo, **fk, previous_level="general", previous_case_type="aktivitetsstod",
            level="in_depth", case_type="foraldrapenning", overridden_at=at(23.8),
        ),
    ]
    case = question("A", "qA2") | {"agency": "skatteverket"}
    gateway = [
        case_queued_for_delivery(**case, **malmo, case_type="id_kort", queued_at=at(8.31)),
        case_forwarded(**case, agency_reference="SKV-REF-777", attempt=1, forwarded_at=at(8.32)),
    ]
    return {"intake": intake, "routing": routing, "gateway": gateway}


def unknown_event() -> EventEnvelope:
    return EventEnvelope(
        event_type="gateway.CaseParked",
        stream_id=IDS["A"],
        stream_version=9,
        correlation_id=uuid.uuid4(),
        producer="gateway",
        payload={"visit_id": IDS["A"]},
    )


async def feed(
    runtime: ServiceRuntime, order: tuple[str, ...]
) -> list[tuple[EventEnvelope, Checkpoint]]:
    consumer, delivered = runtime.consumers[0], []
    for producer in order:
        wrapped = envelopes(story()[producer])
        if producer == "gateway":
            wrapped.append(unknown_event())
        for position, env in enumerate(wrapped, start=1):
            checkpoint = Checkpoint(TOPIC[producer], 0, position)
            await consumer.handle(env, checkpoint)
            delivered.append((env, checkpoint))
    assert consumer.dead_lettered == 0
    return delivered


@pytest.fixture(
    params=[("intake", "routing", "gateway"), ("gateway", "routing", "intake")],
    ids=["in-flow-order", "reversed-topics"],
)
async def reporting(
    request: pytest.FixtureRequest, tmp_path: Path
) -> AsyncIterator[tuple[ServiceRuntime, list]]:
    settings = ReportingSettings(
        data_dir=tmp_path, reporting_database_url=sqlite_url(tmp_path / "reporting.db")
    )
    runtime = bootstrap(settings)
    await runtime.init_db()
    delivered = await feed(runtime, request.param)
    yield runtime, delivered
    await runtime.close()


async def get(runtime: ServiceRuntime, path: str) -> httpx.Response:
    async with api_client(runtime) as client:
        return await client.get(path)


async def rows(runtime: ServiceRuntime, path: str) -> list[dict]:
    response = await get(runtime, path)
    assert response.status_code == 200, response.text
    return response.json()["rows"]


def row(
    key: str,
    value: str,
    visits: int,
    questions: int,
    ended: int,
    wait: float | None,
    service: float | None,
) -> dict:
    return {
        key: value,
        "visits": visits,
        "questions": questions,
        "visits_ended": ended,
        "median_wait_seconds": wait,
        "median_service_seconds": service,
    }


async def test_visits_by_day_office_and_agency(reporting) -> None:
    runtime, _ = reporting
    span = "from=2025-03-03&to=2025-03-04"
    assert await rows(runtime, f"/v1/stats/visits?{span}&group_by=day") == [
        row("day", "2025-03-03", 3, 5, 2, 600.0, 750.0),
        row("day", "2025-03-04", 1, 1, 0, 600.0, None),
    ]
    assert await rows(runtime, f"/v1/stats/visits?{span}&group_by=office") == [
        row("office_id", "sk-malmo", 3, 5, 1, 600.0, 1200.0),
        row("office_id", "sk-umea", 1, 1, 1, 300.0, 300.0),
    ]
    assert await rows(runtime, f"/v1/stats/visits?{span}&office_id=sk-malmo") == [
        row("day", "2025-03-03", 2, 4, 1, 900.0, 1200.0),
        row("day", "2025-03-04", 1, 1, 0, 600.0, None),
    ]
    assert await rows(runtime, f"/v1/stats/visits?{span}&group_by=agency") == [
        row("agency", "forsakringskassan", 3, 4, 1, 600.0, 1200.0),
        row("agency", "skatteverket", 1, 1, 1, 600.0, 1200.0),
    ]
    assert await rows(
        runtime, "/v1/stats/visits?from=2025-03-03&to=2025-03-03&group_by=agency"
    ) == [
        row("agency", "forsakringskassan", 2, 3, 1, 900.0, 1200.0),
        row("agency", "skatteverket", 1, 1, 1, 600.0, 1200.0),
    ]
    assert await rows(runtime, "/v1/stats/visits?from=2025-03-05") == []


async def test_case_types_rows_and_shares(reporting) -> None:
    runtime, _ = reporting
    assert await rows(runtime, "/v1/stats/case-types?group_by=agency") == [
        {
            "agency": "forsakringskassan",
            "case_type": None,
            "level": None,
            "questions": 4,
            "share": 0.8,
        },
        {"agency": "skatteverket", "case_type": None, "level": None, "questions": 1, "share": 0.2},
    ]
    assert await rows(
        runtime, "/v1/stats/case-types?agency=forsakringskassan&group_by=level,case_type"
    ) == [
        {
            "agency": None,
            "case_type": "barnbidrag",
            "level": "general",
            "questions": 1,
            "share": 0.25,
        },
        {
            "agency": None,
            "case_type": "bostadsbidrag",
            "level": "general",
            "questions": 1,
            "share": 0.25,
        },
        {
            "agency": None,
            "case_type": "bostadsbidrag",
            "level": "in_depth",
            "questions": 1,
            "share": 0.25,
        },
        {
            "agency": None,
            "case_type": "foraldrapenning",
            "level": "in_depth",
            "questions": 1,
            "share": 0.25,
        },
    ]
    default = await rows(runtime, "/v1/stats/case-types?from=2025-03-03&to=2025-03-04")
    assert len(default) == 5 and sum(r["questions"] for r in default) == 5
    assert {
        "agency": "skatteverket",
        "case_type": "id_kort",
        "level": "complex",
        "questions": 1,
        "share": 0.2,
    } in default
    assert await rows(
        runtime, "/v1/stats/case-types?level=in_depth&office_id=sk-malmo&group_by=case_type"
    ) == [
        {"agency": None, "case_type": "bostadsbidrag", "level": None, "questions": 1, "share": 0.5},
        {
            "agency": None,
            "case_type": "foraldrapenning",
            "level": None,
            "questions": 1,
            "share": 0.5,
        },
    ]


async def test_summary_totals(reporting) -> None:
    runtime, _ = reporting
    response = await get(runtime, "/v1/stats/summary?from=2025-03-03&to=2025-03-04")
    assert response.status_code == 200
    assert response.json() == {
        "visits": 4,
        "visits_ended": 2,
        "questions": 6,
        "questions_by_level": {"general": 2, "in_depth": 2, "complex": 1},
        "unclassified": 1,
        "cases_routed": 1,
        "cases_delivered": 1,
    }
    umea = (await get(runtime, "/v1/stats/summary?office_id=sk-umea")).json()
    assert (umea["visits"], umea["questions"], umea["unclassified"], umea["cases_routed"]) == (
        1,
        1,
        1,
        0,
    )
    day2 = (await get(runtime, "/v1/stats/summary?from=2025-03-04&to=2025-03-04")).json()
    assert (
        day2["visits"],
        day2["questions_by_level"]["in_depth"],
        day2["questions_by_level"]["general"],
    ) == (1, 1, 0)


async def test_a_case_the_gateway_reports_before_routing_counts_as_routed(tmp_path: Path) -> None:
    settings = ReportingSettings(
        data_dir=tmp_path, reporting_database_url=sqlite_url(tmp_path / "r.db")
    )
    runtime = bootstrap(settings)
    await runtime.init_db()
    await feed(runtime, ("gateway",))
    summary = (await get(runtime, "/v1/stats/summary?from=2025-03-03&to=2025-03-03")).json()
    await runtime.close()
    assert (summary["questions"], summary["unclassified"]) == (1, 1), "known, not yet classified"
    assert (summary["cases_routed"], summary["cases_delivered"]) == (1, 1)


@pytest.mark.parametrize(
    "path",
    [
        "/v1/stats/visits?from=2025-13-01",
        "/v1/stats/visits?group_by=week",
        "/v1/stats/visits?from=2025-03-04&to=2025-03-03",
        "/v1/stats/case-types?group_by=agency,week",
        "/v1/stats/case-types?agency=nasa",
        "/v1/stats/case-types?level=hard",
        "/v1/stats/summary?to=yesterday",
        "/v1/stats/summary?office_id=Bad%20Office",
    ],
)
async def test_bad_parameters_get_a_422_json_error(reporting, path: str) -> None:
    runtime, _ = reporting
    response = await get(runtime, path)
    assert response.status_code == 422
    error = response.json()["error"]
    assert error["code"] in {"validation_error", "invalid_input"} and error["message"]
    assert "details" in error


async def test_redelivery_changes_nothing_and_positions_are_saved(reporting) -> None:
    runtime, delivered = reporting
    before = await get(runtime, "/v1/stats/summary")
    consumer = runtime.consumers[0]
    handled = consumer.handled
    for env, checkpoint in delivered:
        await consumer.handle(env, checkpoint)
    assert consumer.handled == handled
    assert (await get(runtime, "/v1/stats/summary")).json() == before.json()
    positions = await consumer.positions()
    assert positions == {(topics.INTAKE, 0): 16, (topics.ROUTING, 0): 7, (topics.GATEWAY, 0): 3}


async def test_bi_tools_read_plain_sql_and_the_file_holds_no_identity_number(
    reporting, tmp_path: Path
) -> None:
    runtime, _ = reporting
    await runtime.close()
    with sqlite3.connect(tmp_path / "reporting.db") as db:
        visits = dict(
            db.execute("SELECT visit_id, question_count FROM reporting_visits").fetchall()
        )
        columns = {
            r[1]
            for t in ("reporting_visits", "reporting_questions")
            for r in db.execute(f"PRAGMA table_info({t})")
        }
        reference = db.execute(
            "SELECT agency_reference FROM reporting_questions WHERE question_id = ?", (IDS["qA2"],)
        ).fetchone()
    db.close()
    assert visits == {IDS["A"]: 2, IDS["B"]: 2, IDS["C"]: 1, IDS["D"]: 1}
    assert reference == ("SKV-REF-777",)
    assert not columns & {"text", "personal_identity_number", "explanation", "note"}

    files = [p for p in tmp_path.iterdir() if p.name.startswith("reporting.db")]
    raw = b"".join(p.read_bytes() for p in files)
    assert b"SKV-REF-777" in raw, "the scan reads the stored rows"
    for secret in (PIN, "19811218-9876", "hemlighetsordet"):
        assert secret.encode() not in raw
