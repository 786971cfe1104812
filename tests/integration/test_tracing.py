"""Tracing (shared/tracing.py): one question is one trace across the services, in the
embedded system on SQLite; the simulator's app continues a trace an instrumented httpx
client carries to it; off, envelopes carry nothing."""

from __future__ import annotations

import asyncio
import contextvars
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind

from servicekontor.runner import simulator_app
from services.agency_gateway.adapters.agency_client import AgencyClient
from shared import tracing
from shared.events import DomainEvent, EventEnvelope
from shared.eventstore import SqlEventStore, to_row
from tests.helpers import eventually
from tests.integration.test_audit_trail import ask, start, stop
from tests.integration.test_kafka_postgres_flow import distributed_system

SERVICES = {"intake", "routing", "agency_gateway", "reporting"}


@pytest.fixture
def spans() -> Iterator[InMemorySpanExporter]:
    exporter = InMemorySpanExporter()
    tracing.record_to(SimpleSpanProcessor(exporter))
    yield exporter
    tracing.reset()


def service(span) -> str:
    return span.resource.attributes["service.name"]


def trace_of(exporter: InMemorySpanExporter, trace_id: int) -> list:
    return [s for s in exporter.get_finished_spans() if s.context.trace_id == trace_id]


def post_of_question(exporter: InMemorySpanExporter):
    """The kiosk's (here: the desk's) POST of the question: intake's server span."""
    return next(
        s for s in exporter.get_finished_spans()
        if s.kind is SpanKind.SERVER and s.name.startswith("POST /v1/visits/") and service(s) == "intake"
        and s.name.endswith("/questions")
    )


async def reported(exporter: InMemorySpanExporter, post, timeout: float = 10.0) -> None:
    """Until reporting has handled the gateway's event of the question (the last hop)."""

    async def handled() -> list:
        return [s for s in trace_of(exporter, post.context.trace_id) if s.kind is SpanKind.CONSUMER]

    await eventually(handled, lambda found: any(
        service(s) == "reporting" and s.name.startswith("handle gateway.") for s in found
    ), timeout=timeout)


def assert_one_tree_through_every_service(exporter: InMemorySpanExporter, post) -> list:
    trace = trace_of(exporter, post.context.trace_id)
    by_id = {s.context.span_id: s for s in trace}
    assert {service(s) for s in trace} >= SERVICES
    assert post.parent is None  # the POST starts the trace
    # Every span hangs from another span of the same trace: one tree, no orphans.
    assert all(s.parent.span_id in by_id for s in trace if s is not post)

    def chain(span) -> list[str]:
        """The services from the root down to ``span``."""
        path = []
        while span is not None:
            path.append(service(span))
            span = by_id.get(span.parent.span_id) if span.parent else None
        return path[::-1]

    consumers = [s for s in trace if s.kind is SpanKind.CONSUMER]
    routed = next(s for s in consumers if service(s) == "routing" and s.name.startswith("handle intake."))
    assert chain(routed) == ["intake", "routing"]
    queued = next(s for s in consumers if service(s) == "agency_gateway")
    assert chain(queued) == ["intake", "routing", "agency_gateway"]
    last = next(s for s in consumers if service(s) == "reporting" and s.name.startswith("handle gateway."))
    assert chain(last) == ["intake", "routing", "agency_gateway", "reporting"]
    return trace


async def deliver_to_simulator(system, tmp_path: Path, question_id: str) -> None:
    """The gateway's worker (off in ``start``) sends the case once, through an httpx client
    instrumented as bootstrap instruments the gateway's, to the simulator's app."""
    gateway = system.runtimes["agency_gateway"]
    worker = gateway.deps.worker

    async def queued():
        async with gateway.uow_factory() as uow:
            return await uow.deliveries.get(question_id)

    await eventually(queued, lambda row: row is not None)
    async with httpx.AsyncClient(transport=Elsewhere(simulator_app(tmp_path / "sim", 8009))) as client:
        tracing.instrument_client(client, "agency_gateway")
        worker.agency = AgencyClient(client)
        assert await worker.run_once() == 1


def assert_the_agency_call_is_in_the_trace(trace: list) -> None:
    """The gateway's POST to the agency hangs below its consumer span, and the
    simulator's server span below that POST (issue 13)."""
    by_id = {s.context.span_id: s for s in trace}
    sent = next(s for s in trace if s.kind is SpanKind.CLIENT and s.name == "POST" and service(s) == "agency_gateway")
    served = next(s for s in trace if s.kind is SpanKind.SERVER and service(s) == "agency_simulator")
    assert served.parent.span_id == sent.context.span_id
    parent = by_id[sent.parent.span_id]
    assert (parent.kind, service(parent)) == (SpanKind.CONSUMER, "agency_gateway")


async def test_one_complex_question_is_one_trace_through_every_service(tmp_path: Path, spans) -> None:
    system = await start(tmp_path)
    try:
        _, question_id = await ask(system, "Jag behöver ett nytt pass", "polisen", "pass")
        post = post_of_question(spans)
        await deliver_to_simulator(system, tmp_path, question_id)
        await reported(spans, post)
    finally:
        await stop(system)
    trace = assert_one_tree_through_every_service(spans, post)
    assert_the_agency_call_is_in_the_trace(trace)
    # The SQLAlchemy instrumentation: the request's statements are its children.
    statements = [s for s in trace if s is not post and s.parent.span_id == post.context.span_id and s.kind is SpanKind.CLIENT]
    assert statements and {service(s) for s in statements} <= {"intake", "vault"}


@pytest.mark.realservers
async def test_on_kafka_the_trace_crosses_in_the_message_headers(real_servers, tmp_path: Path, spans) -> None:
    """On Kafka the envelope's JSON has no trace: only the message headers can carry it."""
    async with distributed_system(real_servers, tmp_path) as (clients, _runtimes, _bus):
        visit = (await clients["intake"].post("/v1/visits", json={"office_id": "kiruna", "channel": "kiosk"})).json()
        asked = await clients["intake"].post(f"/v1/visits/{visit['visit_id']}/questions", json={"text": "Jag vill ansöka om id-kort"})
        assert asked.status_code == 201, asked.text
        post = post_of_question(spans)
        await reported(spans, post, timeout=60)
    assert_one_tree_through_every_service(spans, post)


class Elsewhere(httpx.AsyncBaseTransport):
    """The app runs in a context of its own, as behind a network: only the request's
    headers can tell it the trace."""

    def __init__(self, app) -> None:
        self.inner = httpx.ASGITransport(app=app)

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        return await asyncio.create_task(self.inner.handle_async_request(request), context=contextvars.Context())


async def test_the_simulator_continues_the_trace_an_instrumented_client_sends(tmp_path: Path, spans) -> None:
    app = simulator_app(tmp_path, 8009)
    tracer = tracing.provider("agency_gateway").get_tracer("test")
    async with httpx.AsyncClient(transport=Elsewhere(app), base_url="http://sim") as client:
        tracing.instrument_client(client, "agency_gateway")
        with tracer.start_as_current_span("deliver") as deliver:
            assert (await client.get("/health")).status_code == 200
    trace = trace_of(spans, deliver.get_span_context().trace_id)
    sent = next(s for s in trace if s.kind is SpanKind.CLIENT)
    served = next(s for s in trace if s.kind is SpanKind.SERVER)
    assert (service(sent), service(served)) == ("agency_gateway", "agency_simulator")
    assert served.parent.span_id == sent.context.span_id


class _Probe(DomainEvent):
    """Unregistered (no producer): only here to be wrapped."""

    n: int = 1


def test_off_envelopes_carry_no_trace_and_nothing_is_instrumented() -> None:
    tracing.reset()
    envelope = EventEnvelope.wrap(_Probe(), stream_id="s", stream_version=1)
    store = SqlEventStore(session=None)  # type: ignore[arg-type]
    store.append([envelope])
    assert store.staged == [envelope] and store.staged[0] is envelope
    assert tracing.provider("intake") is None and not tracing.active()
    assert "trace" not in envelope.model_dump_json() and to_row(envelope).trace is None
