"""Every event reporting records (in its own event store; reporting publishes no topic).

Reporting is otherwise a projection of the other services' events; what happens only here,
an export of its data, is recorded as its own event, so the audit trail of exports can be
rebuilt like everything else in the store.
"""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from shared.events import DomainEvent


class ReportingEvent(DomainEvent):
    producer = "reporting"


class DataExported(ReportingEvent):
    """Someone took a table out of the store. ``filters`` holds only the query's codes
    and days (never personal data); ``rows`` is how many rows left."""

    export_id: str
    actor: str
    table: str
    filters: dict[str, str]
    format: Literal["csv", "parquet"]
    rows: int
    exported_at: datetime
