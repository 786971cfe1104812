"""Wire intake: its database, unit of work, topic, API and (with ``SK_RETENTION_DAYS``)
the retention worker."""

from __future__ import annotations

from zoneinfo import ZoneInfo

from services.intake.adapters.tables import INTAKE_TABLES
from services.intake.config import IntakeSettings
from services.intake.entrypoints.api import router
from services.intake.entrypoints.retention import RetentionWorker
from services.intake.unit_of_work import SqlIntakeUnitOfWork
from shared import topics
from shared.bootstrap import build_runtime
from shared.bus import Bus
from shared.catalog import load_catalog
from shared.runtime import ServiceRuntime
from shared.vault import build_vault


def bootstrap(settings: IntakeSettings | None = None, bus: Bus | None = None) -> ServiceRuntime:
    settings = settings or IntakeSettings()
    vault = build_vault(settings)
    runtime = build_runtime(
        "intake",
        settings,
        bus,
        tables=INTAKE_TABLES,
        uow_class=SqlIntakeUnitOfWork,
        router=router,
        topic=topics.INTAKE,
        extras={"catalog": load_catalog(), "tz": ZoneInfo(settings.timezone), "vault": vault},
    )
    runtime.initializers.append(vault.init_db)
    runtime.closers.append(vault.engine.dispose)
    if settings.retention_days is not None:
        retention = RetentionWorker(
            runtime.uow_factory, vault, settings.retention_days, settings.retention_interval_seconds
        )
        runtime.extras["retention"] = retention
        runtime.workers.append(retention.run)
    return runtime
