"""A consumer cancelled while it handles an event (the runner stopping on SIGTERM) must
stop: not retry the cancelled handling as if it had failed, not dead-letter the event, and
let the cancellation reach its caller. Before, tenacity caught the CancelledError like any
error, so the bus's loop ran on and ``servicekontor up`` never exited under load
(tests/e2e/test_system.py::test_sigterm_with_work_in_flight_...)."""

from __future__ import annotations

import asyncio

import pytest

from services.routing.bootstrap import bootstrap
from services.routing.config import RoutingSettings
from shared import topics
from shared.tracking import Checkpoint
from tests.factories import envelope, question_recorded


@pytest.mark.parametrize("entry", ["handle", "handle_batch"])
async def test_a_consumer_cancelled_mid_handler_stops_and_dead_letters_nothing(tmp_path, entry):
    runtime = bootstrap(RoutingSettings(data_dir=tmp_path))
    await runtime.init_db()
    consumer = runtime.consumers[0]
    started, calls = asyncio.Event(), []

    async def slow_handler(event, delivered, uow):
        calls.append(delivered.event_id)
        started.set()
        await asyncio.sleep(30)

    consumer.handlers = {"intake.QuestionRecorded": slow_handler}
    recorded = envelope(question_recorded(text="Jag vill ansöka om id-kort"))
    if entry == "handle":
        handling = asyncio.create_task(consumer.handle(recorded, Checkpoint(topics.INTAKE, 0, 1)))
    else:
        handling = asyncio.create_task(consumer.handle_batch([(recorded, Checkpoint(topics.INTAKE, 0, 1))]))
    try:
        await asyncio.wait_for(started.wait(), 10)
        handling.cancel()
        done, _ = await asyncio.wait([handling], timeout=5)
        assert done, "the cancelled consumer kept running"
        assert handling.cancelled(), "the cancellation did not reach the caller"
        assert calls == [recorded.event_id], "the cancelled handling was tried again"
        assert consumer.dead_lettered == 0 and consumer.handled == 0
        assert await consumer.positions() == {}
    finally:
        handling.cancel()
        await asyncio.gather(handling, return_exceptions=True)
        await runtime.close()
