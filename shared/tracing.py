"""OpenTelemetry tracing: one question is one trace, across every service.

Off by default. ``SK_OTEL_EXPORTER_OTLP_ENDPOINT`` (e.g. ``http://127.0.0.1:4318``) turns it
on: spans go over OTLP/HTTP through a ``BatchSpanProcessor``. Off, nothing is imported or
instrumented and no envelope carries a trace (``active()`` is a module flag read first).

Each service has a ``TracerProvider`` of its own, because ``service.name`` is a *resource*
attribute and the OpenTelemetry SDK ties one resource to one provider: in the embedded mode
(all services in one process) that is the only way each service's spans are reported as
that service's, as a backend expects (a span attribute would not be seen as the service).
The global provider is left alone.

Context crosses the services in the W3C ``traceparent``/``tracestate`` form: in HTTP
headers (the FastAPI and httpx instrumentations), in the event store's ``trace`` column
and the envelope's ``trace`` field (captured when a request or a consumer stages an
event), and in Kafka message headers. Consumers start a CONSUMER span, a child of the
context the event carries.

The gateway's agency call: its delivery worker claims deliveries from its own table in a
task of its own, outside any span, so the delivery row keeps the context of the consumer
span that queued it and the worker runs the call ``continued`` under it; its httpx client
(``instrument_client``) sends the ``traceparent`` on, and the simulator's app continues it
(its own callbacks back to the gateway are instrumented too).
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Mapping
from typing import Any

_active = False  # any provider built: only then is anything captured or propagated
_providers: dict[str, Any] = {}
_test_processors: list[Any] = []  # tests: span processors every provider gets instead


def active() -> bool:
    return _active


def endpoint_from(settings: Any = None) -> str | None:
    if settings is None or not hasattr(settings, "otel_exporter_otlp_endpoint"):
        from shared.settings import CommonSettings

        settings = CommonSettings()
    return settings.otel_exporter_otlp_endpoint


def provider(service: str, settings: Any = None):
    """The service's tracer provider, made on first use; None when tracing is off."""
    global _active
    if service in _providers:
        return _providers[service]
    endpoint = None if _test_processors else endpoint_from(settings)
    if not endpoint and not _test_processors:
        return None
    from opentelemetry.sdk.resources import SERVICE_NAME, Resource
    from opentelemetry.sdk.trace import TracerProvider

    made = TracerProvider(resource=Resource.create({SERVICE_NAME: service}))
    if endpoint:
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
        from opentelemetry.sdk.trace.export import BatchSpanProcessor

        exporter = OTLPSpanExporter(endpoint=f"{endpoint.rstrip('/')}/v1/traces")
        made.add_span_processor(BatchSpanProcessor(exporter))
    for processor in _test_processors:
        made.add_span_processor(processor)
    _providers[service] = made
    _active = True
    return made


def record_to(processor: Any) -> None:
    """Tests: turn tracing on for providers made from now on, with ``processor`` (e.g. a
    ``SimpleSpanProcessor(InMemorySpanExporter())``) as their only processor."""
    reset()
    _test_processors.append(processor)


def reset() -> None:
    """Forget the providers (flushing them) and turn tracing off."""
    global _active
    for made in _providers.values():
        made.shutdown()
    _providers.clear()
    _test_processors.clear()
    _active = False


def instrument_app(app: Any, service: str, settings: Any = None) -> None:
    made = provider(service, settings)
    if made is None:
        return
    from opentelemetry.instrumentation.fastapi import FastAPIInstrumentor

    FastAPIInstrumentor.instrument_app(app, tracer_provider=made, exclude_spans=["receive", "send"])


def instrument_engine(engine: Any, service: str) -> None:
    """The engine's statements become spans of ``service``. The instrumentation's own
    ``EngineTracer`` for this one engine: ``SQLAlchemyInstrumentor().instrument`` takes one
    provider for the whole process (it is a singleton and patches ``create_engine``)."""
    made = provider(service)
    if made is None:
        return
    from opentelemetry.instrumentation.sqlalchemy.engine import EngineTracer
    from opentelemetry.metrics import NoOpMeter

    connections = NoOpMeter("servicekontor").create_up_down_counter("db.client.connections.usage")
    EngineTracer(made.get_tracer("opentelemetry.instrumentation.sqlalchemy"), engine.sync_engine, connections)


def instrument_client(client: Any, service: str) -> None:
    """An httpx client whose calls are spans of ``service`` and carry ``traceparent``."""
    made = provider(service)
    if made is None:
        return
    from opentelemetry.instrumentation.httpx import HTTPXClientInstrumentor

    HTTPXClientInstrumentor.instrument_client(client, tracer_provider=made)


def current_trace() -> dict[str, str] | None:
    """The active span's context as W3C headers, or None (tracing off, or no span)."""
    if not _active:
        return None
    from opentelemetry.propagate import inject

    carrier: dict[str, str] = {}
    inject(carrier)
    return carrier or None


@contextlib.contextmanager
def continued(trace: Mapping[str, str] | None) -> Iterator[None]:
    """Run the block in the context ``trace`` (W3C headers, as ``current_trace`` gives
    them), e.g. work a worker picked up from a table; nothing when off or ``None``."""
    if not _active or not trace:
        yield
        return
    from opentelemetry import context
    from opentelemetry.propagate import extract

    token = context.attach(extract(dict(trace)))
    try:
        yield
    finally:
        context.detach(token)


def kafka_headers(trace: Mapping[str, str] | None) -> list[tuple[str, bytes]]:
    return [(key, value.encode()) for key, value in (trace or {}).items()]


def trace_from_headers(headers: Any) -> dict[str, str] | None:
    """The ``traceparent``/``tracestate`` of a Kafka message's headers, if it has one."""
    found = {k: v.decode() for k, v in headers or () if k in ("traceparent", "tracestate")}
    return found if "traceparent" in found else None


@contextlib.contextmanager
def consumer_span(service: str, envelope: Any, consumer: str) -> Iterator[None]:
    """A CONSUMER span for handling one event, a child of the context it carries."""
    made = provider(service) if _active else None
    if made is None:
        yield
        return
    from opentelemetry.propagate import extract
    from opentelemetry.trace import SpanKind

    parent = extract(envelope.trace) if envelope.trace else None
    tracer = made.get_tracer("servicekontor.consumer")
    with tracer.start_as_current_span(
        f"handle {envelope.event_type}",
        context=parent,
        kind=SpanKind.CONSUMER,
        attributes={"messaging.consumer.group.name": consumer, "messaging.message.id": str(envelope.event_id)},
    ):
        yield
