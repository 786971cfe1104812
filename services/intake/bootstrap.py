"""Wire intake: its database, unit of work, topic, API, the queue board and its feed,
the no-show worker of bookings, and (with ``SK_RETENTION_DAYS``) the retention worker."""

from __future__ import annotations

from functools import partial
from zoneinfo import ZoneInfo

from services.intake.adapters.board_feed import BoardFeed
from services.intake.adapters.booking_tables import create_missing_indexes
from services.intake.adapters.overview_tables import SqlVisitOverview
from services.intake.adapters.pseudonym import build_pseudonymizer
from services.intake.adapters.tables import INTAKE_TABLES
from services.intake.config import IntakeSettings
from services.intake.domain.queue_board import QueueBoard
from services.intake.entrypoints import pages
from services.intake.entrypoints.api import router
from services.intake.entrypoints.consumers import build_consumers
from services.intake.entrypoints.deps import IntakeDeps
from services.intake.entrypoints.workers import NoShowWorker, RetentionWorker
from services.intake.handlers.bookings import fill_booking_rows
from services.intake.handlers.queue import OfficeDay
from services.intake.unit_of_work import SqlIntakeUnitOfWork
from shared import topics
from shared.bootstrap import build_runtime
from shared.bus import Bus
from shared.catalog import load_catalog
from shared.db import is_sqlite
from shared.offices import load_offices, queue_services
from shared.runtime import ServiceRuntime
from shared.vault import build_vault


def bootstrap(
    settings: IntakeSettings | None = None, bus: Bus | None = None
) -> ServiceRuntime[IntakeDeps]:
    settings = settings or IntakeSettings()
    vault, pseudonyms = build_vault(settings), build_pseudonymizer(settings)
    day = build_office_day(ZoneInfo(settings.timezone), settings.queue_poll_seconds)
    catalog = load_catalog()
    runtime = build_runtime(
        "intake",
        settings,
        bus,
        tables=INTAKE_TABLES,
        uow_class=partial(SqlIntakeUnitOfWork, board_feed=day.feed),  # notifies board changes
        router=router,
        topic=topics.INTAKE,
        consumers=partial(build_consumers, repository=SqlVisitOverview.of, catalog=catalog, day=day),
    )
    runtime.app.include_router(pages.router)  # /kiosk, /desk, /display: public shells, no data
    day.feed.follow(runtime.read_log)
    day.feed.notified = True
    runtime.workers.append(day.feed.run)
    runtime.initializers.append(vault.init_db)
    runtime.initializers.append(partial(complete_booking_rows, runtime))
    runtime.closers.append(vault.engine.dispose)
    retention = None
    if settings.retention_days is not None:
        retention = RetentionWorker(
            runtime.uow_factory, vault, settings.retention_days, settings.retention_interval_seconds
        )
        runtime.workers.append(retention.run)
    no_shows = NoShowWorker(
        runtime.uow_factory, settings.booking_no_show_grace_minutes, settings.booking_no_show_interval_seconds
    )
    runtime.workers.append(no_shows.run)
    runtime.deps = IntakeDeps(catalog, vault, pseudonyms, day, retention, no_shows)
    return runtime


async def complete_booking_rows(runtime: ServiceRuntime[IntakeDeps]) -> None:
    """Booking rows from before migration 0008: their indexes (SQLite) and columns."""
    if is_sqlite(str(runtime.engine.url)):
        async with runtime.engine.begin() as conn:
            await conn.run_sync(create_missing_indexes)
    await fill_booking_rows(runtime.uow_factory)


def build_office_day(tz: ZoneInfo, poll_seconds: float = 0.25) -> OfficeDay:
    """The registry, an empty board and its feed; ``day.feed.follow(read_log)`` binds the
    feed to the event log it folds."""
    offices = load_offices()
    priorities = {o.id: {s.queue: s.priority for s in queue_services(o)} for o in offices}
    board = QueueBoard(priorities, tz)
    return OfficeDay(offices, board, BoardFeed(board, poll_seconds), tz)
