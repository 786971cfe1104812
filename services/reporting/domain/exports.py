"""An export of the store's data: an aggregate of one event, its own stream, so exports
never contend with each other for a stream version."""

from __future__ import annotations

from datetime import datetime

from services.reporting.domain.commands import RecordExport
from services.reporting.domain.events import DataExported
from shared.aggregate import Aggregate
from shared.events import DomainEvent


class Export(Aggregate):
    recorded: DataExported | None

    def init_state(self) -> None:
        self.recorded = None

    @classmethod
    def record(cls, export_id: str, cmd: RecordExport, at: datetime) -> Export:
        export = cls(export_id)
        export.trigger(DataExported(
            export_id=export_id, actor=cmd.actor, table=cmd.table, filters=dict(cmd.filters),
            format=cmd.format, rows=cmd.rows, exported_at=at,
        ))
        return export

    def apply(self, event: DomainEvent) -> None:
        if isinstance(event, DataExported):
            self.recorded = event
