"""Wire routing: database, classifier, the consumer of intake's events (recorded questions
are classified, questions resolved as ``forwarded`` go to their agency), topic and API."""

from __future__ import annotations

from functools import partial

from services.routing.adapters.repositories import ROUTING_TABLES
from services.routing.adapters.rule_files import load_classifier, load_router
from services.routing.config import RoutingSettings
from services.routing.entrypoints.api import router
from services.routing.entrypoints.consumers import build_consumers
from services.routing.entrypoints.deps import RoutingDeps
from services.routing.unit_of_work import SqlRoutingUnitOfWork
from shared import topics
from shared.bootstrap import build_runtime
from shared.bus import Bus
from shared.catalog import load_catalog
from shared.runtime import ServiceRuntime


def bootstrap(
    settings: RoutingSettings | None = None, bus: Bus | None = None
) -> ServiceRuntime[RoutingDeps]:
    deps = RoutingDeps(catalog=load_catalog(), classifier=load_classifier(), router=load_router())
    runtime = build_runtime(
        "routing",
        settings or RoutingSettings(),
        bus,
        tables=ROUTING_TABLES,
        uow_class=SqlRoutingUnitOfWork,
        router=router,
        topic=topics.ROUTING,
        consumers=partial(build_consumers, classifier=deps.classifier),
    )
    runtime.deps = deps
    return runtime
