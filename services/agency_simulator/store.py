"""The simulator's persistence: de-duplication by Idempotency-Key and request counts,
for cases and meetings."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import func
from sqlmodel import col, select

from services.agency_simulator.tables import (
    SIMULATOR_TABLES,
    AgencyCounter,
    MeetingChange,
    ReceivedCase,
    ReceivedMeeting,
)
from shared.catalog import load_catalog
from shared.db import create_engine, create_tables, session_maker, sqlite_url
from shared.errors import InvalidInput

PREFIXES = load_catalog().agency_short  # SKV-2025-000042: the catalog's abbreviations


def reference_for(agency: str, year: int, number: int) -> str:
    """``SKV-2025-000042``: prefix per agency, year received, the agency's case number."""
    return f"{PREFIXES.get(agency, agency[:3].upper())}-{year}-{number:06d}"


@dataclass(frozen=True)
class Receipt:
    reference: str
    duplicate: bool


class SimulatorStore:
    def __init__(self, data_dir: Path) -> None:
        self.engine = create_engine(sqlite_url(data_dir.resolve() / "agency_simulator.db"))
        self.sessions = session_maker(self.engine)
        self._ready = False
        self._lock = asyncio.Lock()

    async def ensure_tables(self) -> None:
        """Create the tables once; also when no lifespan runs (ASGI test transports)."""
        if self._ready:
            return
        async with self._lock:
            if not self._ready:
                await create_tables(self.engine, SIMULATOR_TABLES, None)
                self._ready = True

    async def receive(self, agency: str, key: str, case_type: str) -> Receipt:
        """Count the request; the first time a key is seen, open a case for it."""
        now = datetime.now(UTC)
        async with self.sessions() as session:
            counter = await session.get(AgencyCounter, agency) or AgencyCounter(agency=agency)
            case = await session.get(ReceivedCase, key)
            if case is not None and case.agency != agency:
                raise InvalidInput("Idempotency-Key already used for another agency's case")
            counter.requests += 1
            if case is None:
                counter.cases += 1
                case = ReceivedCase(
                    idempotency_key=key,
                    agency=agency,
                    case_type=case_type,
                    reference=reference_for(agency, now.year, counter.cases),
                    received_at=now,
                    last_received_at=now,
                )
                duplicate = False
            else:
                case.times_received += 1
                case.last_received_at = now
                duplicate = True
            session.add_all([counter, case])
            await session.commit()
            return Receipt(case.reference, duplicate)

    async def count_request(self, agency: str) -> None:
        """A request answered with an injected fault: counted, no case opened."""
        async with self.sessions() as session:
            counter = await session.get(AgencyCounter, agency) or AgencyCounter(agency=agency)
            counter.requests += 1
            session.add(counter)
            await session.commit()

    async def counters(self) -> list[AgencyCounter]:
        async with self.sessions() as session:
            return list((await session.exec(select(AgencyCounter))).all())

    async def duplicates(self) -> dict[str, int]:
        """Per agency: requests that repeated a key it had already taken."""
        query = select(ReceivedCase.agency, func.sum(col(ReceivedCase.times_received) - 1))
        async with self.sessions() as session:
            rows = (await session.exec(query.group_by(col(ReceivedCase.agency)))).all()
        return {agency: int(extra or 0) for agency, extra in rows}

    async def case(self, key: str) -> ReceivedCase | None:
        async with self.sessions() as session:
            return await session.get(ReceivedCase, key)

    async def receive_meeting(self, agency: str, booking_id: str, case_type: str, slot_start: datetime) -> Receipt:
        """The first time a booking is seen, the agency's meeting; a repeat is a duplicate."""
        now = datetime.now(UTC)
        async with self.sessions() as session:
            meeting = await session.get(ReceivedMeeting, booking_id)
            if meeting is not None and meeting.agency != agency:
                raise InvalidInput("Idempotency-Key already used for another agency's meeting")
            if meeting is None:
                number = await session.scalar(
                    select(func.count()).select_from(ReceivedMeeting).where(ReceivedMeeting.agency == agency)
                )
                meeting = ReceivedMeeting(
                    booking_id=booking_id, agency=agency, case_type=case_type, slot_start=slot_start,
                    reference=f"M-{reference_for(agency, now.year, int(number or 0) + 1)}", received_at=now,
                )
                duplicate = False
            else:
                meeting.times_received += 1
                duplicate = True
            session.add(meeting)
            await session.commit()
            return Receipt(meeting.reference, duplicate)

    async def change_meeting(
        self, agency: str, booking_id: str, key: str, change: str, slot_start: datetime | None = None
    ) -> ReceivedMeeting | None:
        """A move (new ``slot_start``) or cancellation, once per key; None: no such
        meeting of this agency (yet)."""
        now = datetime.now(UTC)
        async with self.sessions() as session:
            meeting = await session.get(ReceivedMeeting, booking_id)
            if meeting is None or meeting.agency != agency:
                return None
            seen = await session.get(MeetingChange, key)
            if seen is not None:
                seen.times_received += 1
                session.add(seen)
            else:
                session.add(MeetingChange(idempotency_key=key, booking_id=booking_id, change=change, received_at=now))
                meeting.status = "cancelled" if change == "cancellation" else "moved"
                meeting.slot_start = slot_start or meeting.slot_start
                session.add(meeting)
            await session.commit()
            await session.refresh(meeting)
            return meeting

    async def meeting(self, booking_id: str) -> ReceivedMeeting | None:
        async with self.sessions() as session:
            return await session.get(ReceivedMeeting, booking_id)

    async def meeting_counts(self) -> dict[str, dict[str, int]]:
        """Per agency: meetings by where they stand (accepted, moved, cancelled)."""
        query = select(ReceivedMeeting.agency, ReceivedMeeting.status, func.count())
        async with self.sessions() as session:
            rows = (await session.exec(query.group_by(ReceivedMeeting.agency, ReceivedMeeting.status))).all()
        counts: dict[str, dict[str, int]] = {}
        for agency, status, n in rows:
            counts.setdefault(agency, {})[status] = int(n)
        return counts

    async def close(self) -> None:
        await self.engine.dispose()
