"""Prometheus metrics of one service app, served at ``GET /metrics``.

Each app has its own ``CollectorRegistry``: ``servicekontor up`` runs several apps in one
process, and the global default registry would mix them. Labels hold only methods, route
templates (``/v1/visits/{visit_id}``, never the raw path), statuses, consumer and topic
names: no ids, no personal data.

- HTTP: the app's edge middleware (``shared.api.HttpEdge``) counts requests by method,
  route and status and times them by route, refusals before routing (413) too.
- The runtime at ``app.state.runtime`` (once bootstrapped): events handled and
  dead-lettered per consumer (``EventConsumer.handled`` / ``.dead_lettered``), consumer lag
  and outbox backlog. Lag and backlog need database reads, so ``/metrics`` refreshes them
  (async, with a time limit) before the synchronous collector renders them; a value that
  cannot be read is left out rather than reported as 0.
"""

from __future__ import annotations

import asyncio
import re
from typing import Any

import fastapi.routing
import structlog
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Histogram
from prometheus_client import generate_latest as render
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily
from prometheus_client.registry import Collector
from sqlalchemy import func
from sqlmodel import select
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Router, compile_path
from starlette.types import Scope

from shared.tables import StoredEvent

log = structlog.get_logger(__name__)

METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})
UNMATCHED = "unmatched"  # real templates start with "/", so this never clashes


class HttpMetrics:
    def __init__(self, registry: CollectorRegistry) -> None:
        self.requests = Counter(
            "servicekontor_http_requests",
            "HTTP requests by method, route template and status.",
            ["method", "route", "status"],
            registry=registry,
        )
        self.latency = Histogram(
            "servicekontor_http_request_duration_seconds",
            "HTTP request latency by route template.",
            ["route"],
            registry=registry,
        )

        # The labelled children, looked up once per label set (``labels`` takes a lock
        # and builds a key every call). Bounded: methods x route templates x statuses.
        self._counted: dict[tuple[str, str, int], Any] = {}
        self._timed: dict[str, Any] = {}

    def observe(self, method: str, route: str, status: int, seconds: float) -> None:
        key = (method if method in METHODS else "OTHER", route, status)
        if (counter := self._counted.get(key)) is None:
            counter = self._counted[key] = self.requests.labels(key[0], route, str(status))
        counter.inc()
        if (timer := self._timed.get(route)) is None:
            timer = self._timed[route] = self.latency.labels(route)
        timer.observe(seconds)


class RouteTemplates:
    """Path templates of an app's routes, to name requests that routing never resolved
    (refused before it, as a 413 is, or a 405). Read once, on first use: by then every
    router is included."""

    def __init__(self, router: Router) -> None:
        self.router = router
        self._patterns: list[tuple[re.Pattern[str], str]] | None = None

    def of(self, scope: Scope) -> str:
        route = scope.get("route")
        if isinstance(getattr(route, "path", None), str):
            return route.path
        if self._patterns is None:
            self._patterns = [(compile_path(path)[0], path) for path in self._paths()]
        path = scope.get("path", "")
        return next((template for pattern, template in self._patterns if pattern.match(path)), UNMATCHED)

    def _paths(self) -> list[str]:
        # FastAPI >= 0.16x nests included routers; ``iter_route_contexts`` flattens them.
        flatten = getattr(fastapi.routing, "iter_route_contexts", None)
        routes = flatten(self.router.routes) if flatten else self.router.routes
        return [r.path for r in routes if isinstance(getattr(r, "path", None), str)]


def bus_of(runtime: Any) -> Any:
    """The bus the runtime was wired to (``None`` for a bare app)."""
    return getattr(runtime, "bus", None)


class RuntimeCollector(Collector):
    """Consumer counters read at collect time; lag and backlog from the last ``refresh``."""

    def __init__(self, app: Any, timeout_seconds: float = 2.0) -> None:
        self.app = app
        self.timeout_seconds = timeout_seconds
        self.lag: dict[tuple[str, str, int], int] = {}
        self.backlog: dict[str, int] = {}

    def runtime(self) -> Any:
        return getattr(self.app.state, "runtime", None)

    def describe(self) -> list:
        return []

    def collect(self):
        runtime = self.runtime()
        if runtime is None:
            return
        handled = CounterMetricFamily(
            "servicekontor_consumer_events_handled", "Events a consumer handled.", labels=["consumer"]
        )
        dead = CounterMetricFamily(
            "servicekontor_consumer_events_dead_lettered",
            "Events a consumer dead-lettered after its retries.",
            labels=["consumer"],
        )
        for consumer in runtime.consumers:
            handled.add_metric([consumer.name], consumer.handled)
            dead.add_metric([consumer.name], consumer.dead_lettered)
        lag = GaugeMetricFamily(
            "servicekontor_consumer_lag_events",
            "Events on a topic partition that the consumer has not handled yet.",
            labels=["consumer", "topic", "partition"],
        )
        for (consumer, topic, partition), value in sorted(self.lag.items()):
            lag.add_metric([consumer, topic, str(partition)], value)
        backlog = GaugeMetricFamily(
            "servicekontor_outbox_backlog_events",
            "Events in the service's outbox not yet published to the broker.",
            labels=["topic"],
        )
        for topic, value in sorted(self.backlog.items()):
            backlog.add_metric([topic], value)
        yield from (handled, dead, lag, backlog)

    async def refresh(self) -> None:
        runtime = self.runtime()
        bus = bus_of(runtime) if runtime is not None else None
        self.lag = await self._lag(runtime, bus) if bus is not None else {}
        self.backlog = await self._backlog(runtime, bus) if bus is not None else {}

    async def _read(self, what: str, read) -> Any:
        try:
            async with asyncio.timeout(self.timeout_seconds):
                return await read
        except Exception as error:  # a scrape must not fail on one unreadable value
            log.warning("metric_unreadable", metric=what, error=type(error).__name__)
            return None

    async def _lag(self, runtime: Any, bus: Any) -> dict[tuple[str, str, int], int]:
        names = {consumer.name for consumer in runtime.consumers}
        if hasattr(bus, "lag"):  # Kafka: the bus records it per partition as it consumes
            return {key: value for key, value in bus.lag.items() if key[0] in names}
        readers = getattr(bus, "readers", {})
        heads: dict[str, int | None] = {}
        lag = {}
        for consumer in runtime.consumers:
            positions = await self._read("consumer_lag", consumer.positions())
            for topic in consumer.topics:
                if topic not in heads:
                    heads[topic] = await self._read("consumer_lag", log_head(readers.get(topic)))
                if positions is not None and heads[topic] is not None:
                    lag[(consumer.name, topic, 0)] = max(0, heads[topic] - positions.get((topic, 0), 0))
        return lag

    async def _backlog(self, runtime: Any, bus: Any) -> dict[str, int]:
        relay = getattr(bus, "relays", {}).get(runtime.topic) if runtime.topic else None
        if relay is None:  # the embedded bus has no relay: subscribers read the store
            return {}
        value = await self._read("outbox_backlog", relay.backlog())
        return {} if value is None else {runtime.topic: value}


async def log_head(reader: Any) -> int | None:
    """The last position of an embedded topic's log, when its reader is a runtime's
    ``read_log`` (as ``EmbeddedBus.register_producer`` wires it); else unknown."""
    producer = getattr(reader, "__self__", None)
    sessions = getattr(producer, "sessions", None)
    if sessions is None:
        return None
    async with sessions() as session:
        head = (await session.exec(select(func.max(StoredEvent.position)))).one()
        return head or 0


def install_metrics(app: Any, dependencies: list[Any] | None = None) -> HttpMetrics:
    """The app's registry with its collector, and ``/metrics``; the HTTP metrics returned
    are for the app's edge middleware (``shared.api.HttpEdge``) to count requests in."""
    registry = CollectorRegistry()
    collector = RuntimeCollector(app)
    registry.register(collector)
    app.state.metrics_registry = registry
    app.state.runtime_metrics = collector

    @app.get("/metrics", include_in_schema=False, dependencies=dependencies or [])
    async def metrics(_request: Request) -> Response:
        await collector.refresh()
        return Response(render(registry), media_type=CONTENT_TYPE_LATEST)

    return HttpMetrics(registry)
