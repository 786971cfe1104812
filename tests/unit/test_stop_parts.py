"""The parts of a bounded stop (servicekontor/runner.py): the simulated agencies send the
status callbacks they owe at once, a server does not wait for a request whose client has
gone, and a Kafka client that cannot reach its broker does not hold the stop."""

from __future__ import annotations

import asyncio
import json
import socket
import time

import httpx
import uvicorn
from fastapi import FastAPI

from servicekontor.runner import QuietServer
from services.agency_simulator.callbacks import STATUSES, CallbackSender
from shared import kafka_bus


def sender_to(gateway) -> CallbackSender:
    sender = CallbackSender("http://gateway", lambda _agency: "secret", delay=30.0)
    sender.http = httpx.AsyncClient(transport=httpx.MockTransport(gateway))
    return sender


async def test_a_stopping_simulator_sends_the_status_callbacks_it_owes_at_once():
    seen: list[tuple[str, str]] = []

    def gateway(request: httpx.Request) -> httpx.Response:
        body = json.loads(request.content)
        seen.append((body["case_id"], body["status"]))
        return httpx.Response(200, json={"accepted": True, "duplicate": False})

    sender = sender_to(gateway)
    sender.schedule("skatteverket", "case-1", "SKV-1")
    sender.schedule("polisen", "case-2", "POL-1")
    await asyncio.sleep(0.05)
    assert seen == []  # 30 s apart, normally
    started = time.monotonic()
    assert await sender.drain(2.0) == 0
    assert time.monotonic() - started < 1.0
    for case in ("case-1", "case-2"):
        assert [status for c, status in seen if c == case] == list(STATUSES)
    await sender.close()


async def test_the_callbacks_owed_are_given_up_after_the_bound_if_the_gateway_hangs():
    async def gateway(_request: httpx.Request) -> httpx.Response:
        await asyncio.sleep(60)
        raise AssertionError("unreachable")

    sender = sender_to(gateway)
    sender.schedule("skatteverket", "case-1", "SKV-1")
    started = time.monotonic()
    assert await sender.close(flush_seconds=0.2) is None
    assert time.monotonic() - started < 1.0
    assert not sender.tasks


async def test_a_stopping_server_does_not_wait_for_a_request_whose_client_has_gone():
    app = FastAPI()
    entered = asyncio.Event()

    @app.get("/slow")
    async def slow() -> dict:
        entered.set()
        await asyncio.sleep(60)  # an agency holding a call
        return {}

    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    server = QuietServer(uvicorn.Config(app, log_config=None, timeout_graceful_shutdown=30))
    serving = asyncio.create_task(server.serve(sockets=[sock]))
    while not server.started:
        await asyncio.sleep(0.01)
    url = f"http://127.0.0.1:{sock.getsockname()[1]}/slow"
    async with httpx.AsyncClient() as client:
        call = asyncio.create_task(client.get(url))
        await entered.wait()
        call.cancel()  # the caller gives up (the gateway stopping, or its timeout)
        await asyncio.gather(call, return_exceptions=True)
    started = time.monotonic()
    server.should_exit = True
    await asyncio.wait_for(serving, 10)
    assert time.monotonic() - started < 1.5, "it waited for the grace period"


async def test_a_request_still_answering_gets_the_grace_period_and_finishes():
    app = FastAPI()
    entered = asyncio.Event()

    @app.get("/slowish")
    async def slowish() -> dict:
        entered.set()
        await asyncio.sleep(0.5)
        return {"done": True}

    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    server = QuietServer(uvicorn.Config(app, log_config=None, timeout_graceful_shutdown=5))
    serving = asyncio.create_task(server.serve(sockets=[sock]))
    while not server.started:
        await asyncio.sleep(0.01)
    async with httpx.AsyncClient() as client:
        call = asyncio.create_task(client.get(f"http://127.0.0.1:{sock.getsockname()[1]}/slowish"))
        await entered.wait()
        server.should_exit = True
        response = await call
    assert response.json() == {"done": True}
    await asyncio.wait_for(serving, 10)


async def test_a_kafka_client_that_cannot_stop_does_not_hold_the_stop():
    class Stuck:
        async def stop(self) -> None:
            await asyncio.sleep(60)  # a broker that is away

    started = time.monotonic()
    await kafka_bus._stop_client(Stuck(), "producer")
    assert time.monotonic() - started < kafka_bus.CLIENT_STOP_SECONDS + 0.5


async def test_a_stopping_bus_finishes_the_batch_in_hand_and_returns():
    from shared.bus import EmbeddedBus
    from shared.eventstore import LoggedEvent

    log_ = [LoggedEvent(position=n, envelope=None) for n in (1, 2, 3)]

    async def read(after: int, limit: int) -> list:
        return [item for item in log_ if item.position > after][:limit]

    class Consumer:
        name, topics = "c", ["t"]
        entered, release = asyncio.Event(), asyncio.Event()
        handled: list[int] = []

        async def positions(self) -> dict:
            return {}

        async def handle_batch(self, items) -> None:
            self.entered.set()
            await self.release.wait()  # a batch in hand when the stop comes
            self.handled.extend(checkpoint.position for _, checkpoint in items)

    bus = EmbeddedBus(batch_size=2, idle_poll_seconds=30)
    bus.register_log("t", read)
    consumer = Consumer()
    bus.subscribe(consumer)
    running = asyncio.create_task(bus.run())
    await consumer.entered.wait()
    bus.stop_soon()
    consumer.release.set()
    await asyncio.wait_for(running, 2)
    assert consumer.handled == [1, 2], "the batch in hand finished, no new one started"
