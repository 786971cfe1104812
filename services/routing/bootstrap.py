"""Wire routing: database, classifier, consumer of intake's events, API."""

from __future__ import annotations

from functools import partial

from shared import topics
from shared.api import create_app
from shared.bus import EmbeddedBus
from shared.catalog import load_catalog
from shared.consumer import EventConsumer
from shared.db import create_engine, session_maker
from shared.runtime import ServiceRuntime
from shared.tables import SHARED_TABLES

from services.routing import handlers
from services.routing.adapters.repositories import ROUTING_TABLES
from services.routing.config import RoutingSettings
from services.routing.entrypoints.api import router
from services.routing.rules import load_classifier
from services.routing.unit_of_work import SqlRoutingUnitOfWork


def bootstrap(settings: RoutingSettings | None = None, bus: EmbeddedBus | None = None) -> ServiceRuntime:
    settings = settings or RoutingSettings()
    engine = create_engine(settings.resolved_database_url(), schema="routing")
    sessions = session_maker(engine)
    hooks = [bus.notifier(topics.ROUTING)] if bus else []
    uow_factory = partial(SqlRoutingUnitOfWork, sessions, hooks)
    classifier = load_classifier()
    consumer = EventConsumer(
        name="routing",
        topics=[topics.INTAKE],
        uow_factory=uow_factory,
        handlers={
            "intake.QuestionRecorded": partial(handlers.classify_question, classifier=classifier)
        },
    )
    runtime = ServiceRuntime(
        name="routing",
        settings=settings,
        engine=engine,
        sessions=sessions,
        tables=SHARED_TABLES + ROUTING_TABLES,
        schema="routing",
        uow_factory=uow_factory,
        topic=topics.ROUTING,
        consumers=[consumer],
        extras={"catalog": load_catalog(), "classifier": classifier},
    )
    if bus:
        bus.register_producer(topics.ROUTING, runtime)
    app = create_app("servicekontor routing", runtime.ready, max_body_bytes=settings.max_body_bytes)
    app.include_router(router)
    app.state.runtime = runtime
    runtime.app = app
    return runtime
