"""The agency gateway under failure, as separate processes: the simulator answers 30 %
of requests with a 5xx and holds 5 % past the gateway's timeout (having taken the case),
one agency goes fully down for 10 seconds, and in the second test the gateway itself is
SIGKILLed mid-run. Every case must end delivered, once in the agency's system, with the
reference the agency gave; and the outage must not slow the other agencies. The test
reads the gateway as a supervisor would, with a bearer token (the simulator is open).

Parametrised by ``RIGS`` (``gateway_rigs``): the embedded default here; another backend
is one more factory there.
"""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from datetime import datetime

import httpx
import pytest
from sqlalchemy import distinct, func, select

from shared.catalog import load_catalog
from shared.db import create_engine
from shared.events import EventEnvelope
from shared.tables import StoredEvent
from tests.fault.gateway_rigs import RIGS, Processes, routed_case
from tests.helpers import eventually

AGENCIES = sorted(load_catalog().agency_names)
DOWN = "polisen"
TIMEOUT = 1.0
GATEWAY = {
    "SK_AGENCY_REQUEST_TIMEOUT_SECONDS": str(TIMEOUT),
    "SK_AGENCY_RETRY_INITIAL_SECONDS": "0.2",
    "SK_AGENCY_RETRY_MAX_SECONDS": "2.0",
    "SK_AGENCY_BREAKER_FAILURES": "10",
    "SK_AGENCY_BREAKER_COOLDOWN_SECONDS": "1.0",
    "SK_AGENCY_BREAKER_MAX_COOLDOWN_SECONDS": "2.0",
}
FAULTS = ["--error-rate", "0.3", "--timeout-rate", "0.05", "--hang-seconds", "3"]
FAULTS += ["--latency-ms", "2,20", "--seed", "7"]
BATCHES, OUTAGE_FROM = 65, 15


@pytest.fixture(params=["embedded", pytest.param("kafka", marks=pytest.mark.realservers)])
async def processes(request, tmp_path):
    if request.param == "kafka":
        rig = await RIGS["kafka"](tmp_path, request.getfixturevalue("real_servers"))
    else:
        rig = await RIGS["embedded"](tmp_path)
    running = Processes(tmp_path, rig, GATEWAY)
    try:
        yield running
    finally:
        running.stop_all()
        await rig.close()


async def answers(http: httpx.AsyncClient, url: str, processes: Processes) -> bool:
    processes.check_alive()
    try:
        return (await http.get(url)).status_code == 200
    except httpx.HTTPError:
        return False


async def gateway_up(http: httpx.AsyncClient, processes: Processes) -> None:
    await eventually(lambda: answers(http, f"{processes.gateway_url}/ready", processes), bool, 30)


async def delivered_count(http: httpx.AsyncClient, processes: Processes) -> int:
    processes.check_alive()
    params = {"status": "delivered", "limit": 1}
    return (await http.get(f"{processes.gateway_url}/v1/deliveries", params=params)).json()["count"]


async def all_delivered(http: httpx.AsyncClient, processes: Processes, n: int) -> list[dict]:
    await eventually(lambda: delivered_count(http, processes), lambda c: c >= n, timeout=60)
    page = await http.get(f"{processes.gateway_url}/v1/deliveries", params={"limit": 500})
    return page.json()["data"]


async def gateway_log_counts(url: str) -> dict[str, tuple[int, int]]:
    """Per event type: how many, and over how many distinct cases."""
    table = StoredEvent.__table__
    engine = create_engine(url, schema="agency_gateway")
    query = select(table.c.event_type, func.count(), func.count(distinct(table.c.stream_id)))
    async with engine.connect() as conn:
        rows = (await conn.execute(query.group_by(table.c.event_type))).all()
    await engine.dispose()
    return {event_type.split(".")[1]: (n, cases) for event_type, n, cases in rows}


async def check_each_case_delivered_once(
    http: httpx.AsyncClient, processes: Processes, cases: list[EventEnvelope], rows: list[dict]
) -> dict:
    by_id = {row["question_id"]: row for row in rows}
    assert set(by_id) == {c.stream_id for c in cases}, "a case was lost or invented"
    assert {row["status"] for row in rows} == {"delivered"}
    received = (await http.get(f"{processes.sim_url}/v1/received")).json()
    assert received["unique_cases"] == len(cases), "the agencies saw a case twice, or missed one"
    per_agency = Counter(c.payload["agency"] for c in cases)
    assert {a: received["by_agency"][a]["unique_cases"] for a in per_agency} == per_agency
    keys = await asyncio.gather(*(http.get(f"{processes.sim_url}/v1/received/{q}") for q in by_id))
    assert all(k.json()["reference"] == by_id[k.json()["idempotency_key"]]["agency_reference"] for k in keys)
    log = await gateway_log_counts(processes.rig.gateway_database_url)
    assert log["CaseQueuedForDelivery"] == (len(cases), len(cases)), "a case was queued twice"
    assert log["CaseForwarded"] == (len(cases), len(cases)), "a delivery was recorded twice"
    return {
        "cases": len(cases),
        "attempts": sum(row["attempts"] for row in rows),
        "failed_attempts": log.get("CaseForwardingFailed", (0, 0))[0],
        "requests_seen_by_simulator": received["total_requests"],
        "duplicates_seen_by_simulator": received["duplicates"],
    }


def delivered_at(row: dict) -> datetime:
    return datetime.fromisoformat(row["delivered_at"])


def queued_at(row: dict) -> datetime:
    return datetime.fromisoformat(row["queued_at"])


async def test_every_case_is_delivered_once_through_errors_timeouts_and_an_outage(processes):
    processes.start_simulator(*FAULTS)
    processes.start_gateway()
    cases: list[EventEnvelope] = []
    began = time.monotonic()
    async with httpx.AsyncClient(timeout=10, headers=processes.headers) as http:
        await eventually(lambda: answers(http, f"{processes.sim_url}/health", processes), bool, 30)
        await gateway_up(http, processes)
        for batch in range(BATCHES):  # 325 cases over 13 s or more, all eight agencies in turn
            if batch == OUTAGE_FROM:  # after 15 batches of normal running, the outage
                down = {"agency": DOWN, "seconds": 10, "mode": "hang"}
                assert (await http.post(f"{processes.sim_url}/v1/admin/outages", json=down)).status_code == 200
            new = [routed_case(AGENCIES[(batch * 5 + i) % 8]) for i in range(5)]
            await processes.rig.feed(new)
            cases += new
            await asyncio.sleep(0.2)
        rows = await all_delivered(http, processes, len(cases))
        figures = await check_each_case_delivered_once(http, processes, cases, rows)
        breakers = (await http.get(f"{processes.gateway_url}/v1/agencies")).json()

    # By count and by order on the gateway's own timeline, not against the clock: what
    # the machine's load cannot change. The down agency answers nothing of the outage's
    # cases until it is over: its first such delivery marks the outage's end, and the
    # first of them queued marks (about) its start. The healthy cases the gateway queued
    # in the first half of that span must (nearly all) be delivered before its end: they
    # did not wait for the down agency's slots. With Kafka the gateway may queue a batch
    # seconds after it was fed, so the span is read from the gateway, not the feeder.
    fed_in = {c.stream_id: n // 5 for n, c in enumerate(cases)}
    outage_cases = [r for r in rows if r["agency"] == DOWN and fed_in[r["question_id"]] >= OUTAGE_FROM]
    began_at = min(queued_at(r) for r in outage_cases)
    ended_at = min(delivered_at(r) for r in outage_cases)
    halfway = began_at + (ended_at - began_at) / 2
    healthy_inside = [r for r in rows if r["agency"] != DOWN and began_at <= queued_at(r) < halfway]
    overtook = [r for r in healthy_inside if delivered_at(r) < ended_at]
    figures.update(
        seconds=round(time.monotonic() - began, 1),
        outage_seen_by_the_gateway_seconds=round((ended_at - began_at).total_seconds(), 1),
        healthy_queued_in_its_first_half=len(healthy_inside),
        healthy_delivered_before_the_down_agency_recovered=len(overtook),
        breaker_opened={a: b["times_opened"] for a, b in breakers.items() if b["times_opened"]},
    )
    print("\nfault run:", figures)
    assert len(healthy_inside) >= 20, figures  # 5 s of feeding at 4 healthy cases per 0.2 s
    # An outage that took the other agencies' slots would hold their cases until the down
    # agency recovered: (almost) none would overtake it. Measured (2 cores): 111 of 112
    # embedded, 114 of 115 on Kafka; 83 of 98 with both cores busy with stress-ng (retries
    # of the healthy agencies' 30 % errors then take longer). Half is the line between
    # "not held" and "held".
    assert len(overtook) >= 0.5 * len(healthy_inside), figures
    assert breakers[DOWN]["times_opened"] >= 1, "the down agency's circuit breaker never opened"


async def test_a_gateway_killed_mid_run_resumes_and_still_delivers_each_case_once(processes):
    processes.start_simulator(*FAULTS)
    processes.start_gateway()
    cases: list[EventEnvelope] = []
    began = time.monotonic()
    async with httpx.AsyncClient(timeout=10, headers=processes.headers) as http:
        await eventually(lambda: answers(http, f"{processes.sim_url}/health", processes), bool, 30)
        await gateway_up(http, processes)
        for batch in range(5):  # 100 cases in half a second
            new = [routed_case(AGENCIES[(batch * 20 + i) % 8]) for i in range(20)]
            await processes.rig.feed(new)
            cases += new
            await asyncio.sleep(0.1)
        at_kill = await eventually(lambda: delivered_count(http, processes), lambda c: c >= 30, 30)
        processes.kill("gateway")  # SIGKILL: no clean-up, calls in flight cut off
        processes.start_gateway()
        await gateway_up(http, processes)
        rows = await all_delivered(http, processes, len(cases))
        figures = await check_each_case_delivered_once(http, processes, cases, rows)
    figures.update(delivered_before_kill=at_kill, seconds=round(time.monotonic() - began, 1))
    print("\nkill run:", figures)
    assert at_kill < len(cases), "the gateway was killed after it had finished: no test"
