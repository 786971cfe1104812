"""Dimension tables: agencies, case types (with the sources' 2014 shares), levels and
destinations from the catalog; dates and offices from the days the facts cover."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date

from sqlalchemy import case, delete, func, insert, select, union_all, update
from sqlalchemy.ext.asyncio import AsyncConnection

from services.reporting.adapters.aggregates import Q, V, upsert
from services.reporting.adapters.bi_tables import (
    DimAgency,
    DimCaseType,
    DimDate,
    DimDestination,
    DimLevel,
    DimOffice,
)
from services.reporting.domain.calendar import date_attributes
from shared.catalog import Catalog
from shared.offices import load_offices

DESTINATION_TEXT = {
    "office": "Stays with the office's service handler (general and in-depth questions)",
    "agency_system": "Forwarded to the agency's own case system by agency_gateway",
    "agency_desk": "The agency's own desk at this office",
    "video_meeting": "A video meeting with an official of the agency",
    "booked_meeting": "A booked physical meeting with the agency",
}
DATE = DimDate.__table__
OFFICE = DimOffice.__table__


async def write_catalog_dimensions(conn: AsyncConnection, catalog: Catalog) -> None:
    """Rewrite the small static dimensions from the catalog."""
    rows = {
        DimAgency.__table__: [{"agency": a, "name": n} for a, n in catalog.agency_names.items()],
        DimCaseType.__table__: [
            {"agency": c.agency, "case_type": c.code, "name": c.name, "source_share_2014": c.share}
            for c in catalog.case_types.values()
        ],
        DimLevel.__table__: [
            {"level": lv, "description": text} for lv, text in catalog.level_descriptions.items()
        ],
        DimDestination.__table__: [
            {"destination": d, "description": text} for d, text in DESTINATION_TEXT.items()
        ],
    }
    for table, values in rows.items():
        await conn.execute(delete(table))
        await conn.execute(insert(table), values)


def _registered(office_id: str) -> dict[str, str | None]:
    """What the office registry says of an office (all None for an unknown id)."""
    office = load_offices().get(office_id)
    return {
        "name": office.name if office else None,
        "municipality": office.municipality if office else None,
        "county": office.county if office else None,
        "lead_agency": office.lead_agency if office else None,
    }


async def write_office_registry(conn: AsyncConnection) -> None:
    """Names, municipality, county and lead agency of every office in ``dim_office``, as
    the registry says now (a renamed office shows its new name)."""
    known = list((await conn.execute(select(OFFICE.c.office_id))).scalars())
    for office_id in known:
        await conn.execute(update(OFFICE).where(OFFICE.c.office_id == office_id).values(**_registered(office_id)))


def _days_and_offices(days: Sequence[str] | None):
    parts = []
    for c in (V, Q):
        where = [c.service_day.isnot(None), c.office_id.isnot(None)]
        if days is not None:
            where.append(c.service_day.in_(days))
        parts.append(select(c.office_id.label("office_id"), c.service_day.label("day")).where(*where))
    return union_all(*parts).subquery()


async def update_dimensions(conn: AsyncConnection, days: Sequence[str] | None) -> None:
    """Add the dates and offices of ``days`` (None: of every fact)."""
    seen = _days_and_offices(days)
    offices = (
        await conn.execute(
            select(seen.c.office_id, func.min(seen.c.day), func.max(seen.c.day)).group_by(
                seen.c.office_id
            )
        )
    ).all()
    if offices:
        statement = upsert(conn.dialect.name, OFFICE)
        ex = statement.excluded
        await conn.execute(
            statement.on_conflict_do_update(
                index_elements=["office_id"],
                set_={
                    "first_day": case((ex.first_day < OFFICE.c.first_day, ex.first_day), else_=OFFICE.c.first_day),
                    "last_day": case((ex.last_day > OFFICE.c.last_day, ex.last_day), else_=OFFICE.c.last_day),
                },
            ),
            [{"office_id": o, "first_day": f, "last_day": la, "has_cost_config": False, **_registered(o)}
             for o, f, la in offices],
        )
    wanted = {d for d in (days or [])} if days is not None else set(
        (await conn.execute(select(seen.c.day).distinct())).scalars()
    )
    known = set((await conn.execute(select(DATE.c.day).where(DATE.c.day.in_(wanted)))).scalars())
    missing = sorted(wanted - known)
    if missing:
        await conn.execute(
            insert(DATE), [date_attributes(date.fromisoformat(d)) for d in missing]
        )
