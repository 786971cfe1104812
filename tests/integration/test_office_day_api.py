"""The office day on intake's real SQLite store: offices and queues, tickets per queue,
desks, call-next (also with many desks at once), recall, no-show, transfer, the live queue
and its Server-Sent Events, and the queue rebuilt from the events alone."""

from __future__ import annotations

import asyncio
import json
import socket
import time
from collections import Counter

import httpx
import pytest
import uvicorn

from services.intake.bootstrap import bootstrap
from services.intake.config import IntakeSettings
from tests.helpers import api_client, auth, eventually

OFFICE = "lulea"  # general, self-service, booked, ID cards, newcomers and agency desks


@pytest.fixture
async def runtime(tmp_path):
    built = bootstrap(IntakeSettings(data_dir=tmp_path))
    await built.init_db()
    yield built
    await built.close()


@pytest.fixture
async def client(runtime):
    async with api_client(runtime) as client:
        yield client


async def take(client, queue: str | None = None, office: str = OFFICE) -> dict:
    body = {"office_id": office, "channel": "kiosk", **({"queue": queue} if queue else {})}
    response = await client.post("/v1/visits", json=body)
    assert response.status_code == 201, response.text
    return response.json()


async def call_next(client, desk: str, queues: list[str] | None = None):
    body = {"queues": queues} if queues else None
    return await client.post(f"/v1/offices/{OFFICE}/desks/{desk}/call-next", json=body)


async def test_offices_list_their_services_as_queues(client):
    offices = (await client.get("/v1/offices")).json()["offices"]
    assert len(offices) > 100 and sum(o["id_cards"] for o in offices) == 27
    lulea = (await client.get(f"/v1/offices/{OFFICE}")).json()
    queues = {s["queue"]: s for s in lulea["services"]}
    assert {"general", "self_service", "booked", "id_card", "newcomers", "polisen"} <= set(queues)
    assert queues["id_card"] == {
        "queue": "id_card", "letter": "I", "name_sv": "Id-kort", "name_en": "ID card", "agency": "skatteverket"
    }
    assert lulea["county"] == "Norrbotten" and lulea["lead_agency"] == "skatteverket"
    assert lulea["opening_hours"]["mon"] == "09:00-16:00"
    assert (await client.get("/v1/offices/atlantis")).status_code == 404


async def test_unknown_office_or_queue_is_a_422_naming_what_exists(client):
    response = await client.post("/v1/visits", json={"office_id": "atlantis", "channel": "kiosk"})
    assert response.status_code == 422
    assert "lulea" in response.json()["error"]["details"]["known_offices"]
    response = await client.post("/v1/visits", json={"office_id": "gallivare", "channel": "kiosk", "queue": "id_card"})
    assert response.status_code == 422
    assert response.json()["error"]["details"]["queues"] == ["general", "self_service"]


async def test_tickets_are_numbered_per_queue_with_its_letter_and_place_in_line(client):
    first, second = await take(client), await take(client)
    id_card = await take(client, "id_card")
    assert [first["ticket"], second["ticket"], id_card["ticket"]] == ["A001", "A002", "I001"]
    assert [first["position"], second["position"], id_card["position"]] == [1, 2, 1]
    assert first["queue"] == "general" and id_card["queue"] == "id_card"
    assert first["estimated_wait_minutes"] is None  # no desk is open yet


async def test_call_next_takes_the_longest_wait_of_the_desks_queues_and_204_when_empty(client):
    general, id_card = await take(client), await take(client, "id_card")
    opened = await client.post(f"/v1/offices/{OFFICE}/desks/3/open", json={"queues": ["id_card"]})
    assert opened.status_code == 200 and opened.json()["queues"] == ["id_card"]
    called = await call_next(client, "3")
    assert called.status_code == 200
    assert called.json() | {"called_at": None} == {
        "visit_id": id_card["visit_id"], "ticket": "I001", "queue": "id_card", "desk": "3", "called_at": None
    }
    assert (await call_next(client, "3")).status_code == 204  # its profile: ID cards only
    other = await call_next(client, "4", ["general", "id_card"])
    assert other.json()["visit_id"] == general["visit_id"]
    assert (await call_next(client, "4", ["general"])).status_code == 204


async def test_booked_appointments_and_visits_sent_to_the_desk_come_first(client):
    walk_in = await take(client)
    booked = await take(client, "booked")
    assert (await call_next(client, "1", ["general", "booked"])).json()["ticket"] == booked["ticket"]
    sent = await take(client)
    assert (await client.post(f"/v1/visits/{sent['visit_id']}/transfer", json={"desk": "2"})).status_code == 200
    assert (await call_next(client, "2", ["general"])).json()["visit_id"] == sent["visit_id"]
    assert (await call_next(client, "2", ["general"])).json()["visit_id"] == walk_in["visit_id"]


async def test_recall_no_show_and_transfer_follow_the_visit_state(client):
    visit = await take(client)
    vid = visit["visit_id"]
    assert (await client.post(f"/v1/visits/{vid}/recall", json={"desk": "1"})).status_code == 409  # not called
    await call_next(client, "1", ["general"])
    assert (await client.post(f"/v1/visits/{vid}/recall", json={})).json()["status"] == "recalled"
    moved = await client.post(f"/v1/visits/{vid}/transfer", json={"queue": "polisen"})
    assert moved.status_code == 200
    queue = (await client.get(f"/v1/offices/{OFFICE}/queue")).json()
    polisen = next(q for q in queue["queues"] if q["queue"] == "polisen")
    assert [t["ticket"] for t in polisen["tickets"]] == ["A001"]  # keeps its ticket
    assert (await call_next(client, "5", ["polisen"])).json()["visit_id"] == vid
    assert (await client.post(f"/v1/visits/{vid}/no-show", json={"desk": "5"})).status_code == 200
    visit_now = (await client.get(f"/v1/visits/{vid}")).json()
    assert visit_now["status"] == "no_show" and visit_now["ended_at"]
    bad = await client.post(f"/v1/visits/{vid}/transfer", json={"queue": "general", "desk": "2"})
    assert bad.status_code == 422


async def test_the_display_sees_the_queue_without_visit_ids(runtime, client):
    await client.post(f"/v1/offices/{OFFICE}/desks/3/open", json={"queues": ["general"]})
    await take(client)
    await take(client)
    await call_next(client, "3")
    async with api_client(runtime, role="display") as display:
        board = (await display.get(f"/v1/offices/{OFFICE}/queue")).json()
        assert (await display.post("/v1/visits", json={"office_id": OFFICE, "channel": "kiosk"})).status_code == 403
    general = next(q for q in board["queues"] if q["queue"] == "general")
    assert general["waiting"] == 1 and [t["ticket"] for t in general["tickets"]] == ["A002"]
    assert general["desks_open"] == 1 and general["estimated_wait_minutes"] > 0
    assert board["recently_called"][0] | {"called_at": None} == {
        "ticket": "A001", "queue": "general", "desk": "3", "called_at": None, "recall": False
    }
    assert board["desks"] == [{"desk": "3", "queues": ["general"], "serving": "A001"}]
    assert "visit_id" not in json.dumps(board)
    desk_view = (await client.get(f"/v1/offices/{OFFICE}/queue")).json()
    assert "visit_id" in json.dumps(desk_view)


async def test_many_desks_calling_at_once_each_visitor_is_called_exactly_once(client):
    visitors = [await take(client) for _ in range(30)]
    desks = [f"D{i}" for i in range(12)]
    called: list[str] = []

    async def desk_works(desk: str) -> None:
        while (response := await call_next(client, desk, ["general"])).status_code == 200:
            called.append(response.json()["visit_id"])
        assert response.status_code == 204, response.text

    await asyncio.gather(*(desk_works(d) for d in desks))
    assert Counter(called) == Counter(v["visit_id"] for v in visitors)


async def test_a_new_intake_over_the_same_store_shows_the_same_queue(tmp_path, runtime, client):
    await client.post(f"/v1/offices/{OFFICE}/desks/3/open", json={"queues": ["general", "id_card"]})
    for queue in ("general", "id_card", "general", "general"):
        await take(client, queue)
    await call_next(client, "3")
    before = (await client.get(f"/v1/offices/{OFFICE}/queue")).json()
    again = bootstrap(IntakeSettings(data_dir=tmp_path))
    try:
        async with api_client(again) as fresh:
            after = (await fresh.get(f"/v1/offices/{OFFICE}/queue")).json()
    finally:
        await again.close()
    assert comparable(after) == comparable(before)


def comparable(board: dict) -> dict:
    """The board without the times that move with the clock."""
    drop = {"updated_at", "waiting_minutes", "longest_wait_minutes", "estimated_wait_minutes"}

    def clean(value):
        if isinstance(value, dict):
            return {k: clean(v) for k, v in value.items() if k not in drop}
        if isinstance(value, list):
            return [clean(v) for v in value]
        return value

    return clean(board)


# -- Server-Sent Events, through a real HTTP server -------------------------------------------
@pytest.fixture
async def server(runtime):
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    config = uvicorn.Config(runtime.app, log_level="warning", lifespan="off")
    served = uvicorn.Server(config)
    task = asyncio.create_task(served.serve(sockets=[sock]))
    feed = asyncio.create_task(runtime.deps.office_day.feed.run())
    await eventually(lambda: asyncio.sleep(0.01, served.started), bool, 10)
    yield f"http://127.0.0.1:{sock.getsockname()[1]}"
    served.should_exit = True
    feed.cancel()
    await task


async def read_events(response: httpx.Response, count: int, into: list[tuple[float, dict]]) -> None:
    data = None
    async for line in response.aiter_lines():
        if line.startswith("data:"):
            data = json.loads(line[5:])
        elif line == "" and data is not None:
            into.append((time.perf_counter(), data))
            data = None
            if len(into) == count:
                return


async def test_the_stream_sends_the_queue_at_once_and_on_every_change(runtime, server):
    headers = auth(runtime.settings.data_dir, "display")
    desk = auth(runtime.settings.data_dir, "desk")
    seen: list[tuple[float, dict]] = []
    async with (
        httpx.AsyncClient(base_url=server, timeout=10) as http,
        http.stream("GET", f"/v1/offices/{OFFICE}/queue/stream", headers=headers) as response,
    ):
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("text/event-stream")
        reader = asyncio.create_task(read_events(response, 3, seen))
        await eventually(lambda: asyncio.sleep(0.01, len(seen)), lambda n: n >= 1, 5)
        await http.post("/v1/visits", json={"office_id": OFFICE, "channel": "kiosk"}, headers=desk)
        await eventually(lambda: asyncio.sleep(0.01, len(seen)), lambda n: n >= 2, 5)
        sent = time.perf_counter()
        await http.post(f"/v1/offices/{OFFICE}/desks/3/call-next", json={"queues": ["general"]}, headers=desk)
        await asyncio.wait_for(reader, 5)
    waiting = [next(q for q in doc["queues"] if q["queue"] == "general")["waiting"] for _, doc in seen]
    assert waiting == [0, 1, 0]
    assert seen[2][1]["recently_called"][0]["ticket"] == "A001"
    assert seen[2][0] - sent < 1.0
    assert "visit_id" not in json.dumps([doc for _, doc in seen])


# -- two intake replicas on one PostgreSQL database -----------------------------------------
@pytest.mark.realservers
async def test_on_postgresql_desks_on_two_replicas_call_each_visitor_exactly_once(real_servers, tmp_path):
    url = await real_servers.fresh_database()
    settings = IntakeSettings(data_dir=tmp_path, database_url=url, intake_database_url=None, vault_database_url=None)
    replicas = [bootstrap(settings), bootstrap(settings)]
    await replicas[0].init_db()
    try:
        async with api_client(replicas[0]) as one, api_client(replicas[1]) as two:
            tickets = await asyncio.gather(*(take(c) for c in [one, two] * 15))
            assert sorted(t["ticket"] for t in tickets) == [f"A{n:03d}" for n in range(1, 31)]
            called: list[str] = []

            async def desk_works(client, desk: str) -> None:
                while (response := await call_next(client, desk, ["general"])).status_code == 200:
                    called.append(response.json()["visit_id"])

            await asyncio.gather(*(desk_works(c, f"{i}") for i, c in enumerate([one, two] * 4)))
            assert Counter(called) == Counter(t["visit_id"] for t in tickets)
            boards = [(await c.get(f"/v1/offices/{OFFICE}/queue")).json() for c in (one, two)]
            assert comparable(boards[0]) == comparable(boards[1])
    finally:
        for replica in replicas:
            await replica.close()
