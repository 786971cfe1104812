"""Rebuild every reporting table from the producers' event logs (and the audit log also
from reporting's own event store, which holds its exports).

Events are folded in memory (``domain.fold``: the same rules as the live consumer) and
bulk-written; aggregates, dimensions and costs are then rebuilt with set-based SQL. It all
happens in one transaction: a crash leaves the old store untouched, and a finished replay
leaves the live consumer's positions at the ends of the logs it read. The fold is
idempotent and order-free across topics, so duplicates and out-of-order arrivals give the
same store. ``partitions`` > 1 folds the visits in that many passes (by visit id) to bound
memory on very long histories.
"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any
from zoneinfo import ZoneInfo

from pydantic import ValidationError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from services.reporting.adapters.audit_log import (
    clear_audit,
    entries_of,
    insert_entries,
    own_events,
)
from services.reporting.adapters.bulk import (
    clear_facts,
    index_facts,
    record_run,
    reset_consumer,
    write_day,
    write_records,
)
from services.reporting.adapters.event_log import EventLog
from services.reporting.adapters.store import exclusive, rebuild_derived
from services.reporting.domain.audit import AUDITED, OWN_AUDITED
from services.reporting.domain.costs import CostConfig
from services.reporting.domain.fold import EVENT_TYPES, Fold
from services.reporting.domain.meeting_rules import MEETING_APPLIERS
from shared.events import EventEnvelope, event_class, utc_now

Progress = Callable[[int], None]


@dataclass
class ReplayResult:
    events_read: int = 0
    events_applied: int = 0
    events_invalid: int = 0
    visits: int = 0
    questions: int = 0
    audit_entries: int = 0
    fold_seconds: float = 0.0
    write_seconds: float = 0.0
    derive_seconds: float = 0.0


def _decode(event_type: str, version: int, text: str) -> dict[str, Any]:
    payload = json.loads(text)
    cls = event_class(event_type)
    if cls is not None and version != cls.schema_version:  # an old version: upcast
        envelope = EventEnvelope(event_type=event_type, schema_version=version, stream_id="-",
                                 stream_version=1, correlation_id=uuid.UUID(int=0), producer="-",
                                 payload=payload)
        payload = envelope.event().model_dump(mode="json")  # type: ignore[union-attr]
    return payload


def _visit_id(text: str) -> str:
    """The visit id of a payload without decoding it all (every event carries one); a
    pass of a partitioned replay skips the other passes' visits this way."""
    start = text.find('"visit_id":"')
    if start < 0:
        return str(json.loads(text).get("visit_id"))
    start += 12
    return text[start : text.index('"', start)]


def _in_pass(event_type: str, text: str, index: int, parts: int) -> bool:
    """A visit's events go to the pass of its visit id; the bookings' (few, and keyed by
    booking, not visit) all to the first pass."""
    if event_type in MEETING_APPLIERS:
        return index == 0
    return hash(_visit_id(text)) % parts == index


def _validated(event_type: str, payload: dict[str, Any]) -> dict[str, Any]:
    """The slow path, for a payload the fold refused: what the live consumer would do."""
    cls = event_class(event_type)
    if cls is None:
        raise ValueError(f"no class for {event_type}")
    return cls.model_validate(payload).model_dump(mode="json")


async def fold_logs(
    logs: Sequence[EventLog], fold: Fold, result: ReplayResult, progress: Progress,
    ends: dict[tuple[str, int], int], part: tuple[int, int] = (0, 1),
) -> None:
    index, parts = part
    for log in logs:
        async for batch in log.batches(20_000):
            for _position, event_type, version, text in batch:
                if event_type not in EVENT_TYPES:
                    continue
                if parts > 1 and not _in_pass(event_type, text, index, parts):
                    continue
                payload = _decode(event_type, version, text)
                try:
                    fold.apply(event_type, payload)
                except (KeyError, TypeError, ValueError):
                    try:
                        fold.apply(event_type, _validated(event_type, payload))
                    except (ValidationError, ValueError):
                        result.events_invalid += 1
                        continue
                result.events_applied += 1
            if index == 0:
                result.events_read += len(batch)
            progress(len(batch))
        if index == 0:
            ends.update(log.ends())


async def replay(
    engine: AsyncEngine,
    logs: Sequence[EventLog],
    tz: ZoneInfo,
    costs: CostConfig | None,
    *,
    progress: Progress = lambda _n: None,
    partitions: int = 1,
    reset_positions: bool = True,
    consumer: str = "reporting",
) -> ReplayResult:
    result, ends, started = ReplayResult(), {(log.topic, 0): 0 for log in logs}, utc_now()
    async with engine.begin() as conn:
        await exclusive(conn)
        await clear_facts(conn)
        for index in range(partitions):
            fold, clock = Fold(tz), time.perf_counter()
            await fold_logs(logs, fold, result, progress, ends, (index, partitions))
            fold.finish()
            result.visits += len(fold.visits)
            result.questions += len(fold.questions)
            result.fold_seconds += time.perf_counter() - clock
            clock = time.perf_counter()
            await write_records(conn, fold.visits.values(), fold.questions.values())
            await write_day(conn, fold)
            result.write_seconds += time.perf_counter() - clock
            del fold
        clock = time.perf_counter()
        await index_facts(conn)
        result.audit_entries = await rebuild_audit(conn, logs)
        result.write_seconds += time.perf_counter() - clock
        clock = time.perf_counter()
        await _finish(conn, costs, result, ends, started, reset_positions, consumer)
        result.derive_seconds = time.perf_counter() - clock
    return result


async def rebuild_audit(conn: AsyncConnection, logs: Sequence[EventLog]) -> int:
    """The audit log anew: the producers' audited events, then reporting's own exports."""
    await clear_audit(conn)
    count = 0
    for log in logs:
        async for rows in log.audited(AUDITED - OWN_AUDITED):
            entries = entries_of(rows)
            await insert_entries(conn, entries)
            count += len(entries)
    entries = entries_of(await own_events(conn, OWN_AUDITED, missing_only=False))
    await insert_entries(conn, entries)
    return count + len(entries)


async def _finish(
    conn: AsyncConnection, costs: CostConfig | None, result: ReplayResult,
    ends: dict[tuple[str, int], int], started: Any, reset_positions: bool, consumer: str,
) -> None:
    await rebuild_derived(conn, costs)
    if reset_positions:
        await reset_consumer(conn, consumer, ends)
    counts = ("events_read", "events_applied", "events_invalid", "visits", "questions")
    await record_run(conn, started, utc_now(), **{k: getattr(result, k) for k in counts})

