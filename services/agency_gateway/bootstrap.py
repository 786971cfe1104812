"""Wire the agency gateway: database, the consumer of routing's events, the delivery
worker with its one shared HTTP client, topic and API."""

from __future__ import annotations

import httpx
import structlog

from services.agency_gateway.adapters.agency_client import AgencyClient
from services.agency_gateway.adapters.tables import GATEWAY_TABLES
from services.agency_gateway.config import GatewaySettings
from services.agency_gateway.entrypoints.api import router
from services.agency_gateway.entrypoints.consumers import build_bookings_consumer, build_consumer
from services.agency_gateway.entrypoints.deps import GatewayDeps
from services.agency_gateway.entrypoints.workers import DeliveryWorker
from services.agency_gateway.unit_of_work import SqlGatewayUnitOfWork
from shared import topics, tracing
from shared.bootstrap import build_runtime
from shared.bus import Bus
from shared.runtime import ServiceRuntime
from shared.vault import build_vault

log = structlog.get_logger(__name__)


def bootstrap(
    settings: GatewaySettings | None = None, bus: Bus | None = None
) -> ServiceRuntime[GatewayDeps]:
    """Refuses (``ConfigurationError``) a production configuration that would reach the
    simulator or use a development secret, before anything is opened."""
    settings = settings or GatewaySettings()
    settings.targets()  # read SK_AGENCY_CONFIG now: a bad file stops the start
    settings.check_targets()
    vault = build_vault(settings)
    http = httpx.AsyncClient(
        timeout=settings.agency_request_timeout_seconds,
        limits=httpx.Limits(max_connections=settings.agency_max_in_flight),
    )
    tracing.instrument_client(http, "agency_gateway")  # the agency call joins the trace
    client = AgencyClient(http)
    workers: list[DeliveryWorker] = []

    def consumers(uow_factory):
        workers.append(DeliveryWorker(uow_factory, client, settings, vault=vault))
        wake = workers[0].wake
        return [build_consumer(uow_factory, wake), build_bookings_consumer(uow_factory, wake)]

    runtime = build_runtime(
        "agency_gateway",
        settings,
        bus,
        tables=GATEWAY_TABLES,
        uow_class=SqlGatewayUnitOfWork,
        router=router,
        topic=topics.GATEWAY,
        consumers=consumers,
    )
    runtime.deps = GatewayDeps(settings=settings, worker=workers[0], http_client=http)

    async def deliver_cases() -> None:
        if settings.uses_simulator:
            log.warning("agency_gateway_uses_simulator", url=settings.agency_simulator_url)
        dev = sorted(c for c, t in settings.targets().items() if t.secret_is_dev)
        if dev:
            log.warning("agency_gateway_uses_development_secrets", agencies=dev)
        await workers[0].run()

    runtime.workers = [deliver_cases]
    runtime.closers.append(http.aclose)
    runtime.closers.append(vault.engine.dispose)
    runtime.initializers.append(vault.init_db)
    return runtime
