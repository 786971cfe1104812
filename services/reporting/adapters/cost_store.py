"""Cost tables: the configured costs per office and period, and their allocation to
agencies by the measured case mix, recomputed from the daily aggregates."""

from __future__ import annotations

from collections import defaultdict
from datetime import date

from sqlalchemy import delete, func, insert, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from services.reporting.adapters.bi_tables import (
    AggCaseTypeDay,
    AggOfficeDay,
    CostAllocation,
    CostOfficePeriod,
    CostSharingAgency,
    DimOffice,
)
from services.reporting.domain.costs import CostConfig, OfficeAllocation, OfficeCosts, allocate

A = AggCaseTypeDay.__table__.c
O = AggOfficeDay.__table__.c  # noqa: E741
OFFICE = DimOffice.__table__


async def period_counts(
    conn: AsyncConnection, first: str, last: str
) -> tuple[dict[str, dict[str, int]], dict[str, int]]:
    """Questions per office and agency, and visits per office, in a period."""
    questions: dict[str, dict[str, int]] = defaultdict(dict)
    rows = await conn.execute(
        select(A.office_id, A.agency, func.sum(A.questions))
        .where(A.service_day >= first, A.service_day <= last)
        .group_by(A.office_id, A.agency)
    )
    for office, agency, n in rows:
        questions[office][agency] = int(n)
    visits = await conn.execute(
        select(O.office_id, func.sum(O.visits))
        .where(O.service_day >= first, O.service_day <= last)
        .group_by(O.office_id)
    )
    return questions, {office: int(n) for office, n in visits}


async def materialize_costs(conn: AsyncConnection, config: CostConfig | None) -> None:
    """Rewrite the cost tables for every configured office and variable-cost period."""
    for table in (CostAllocation, CostOfficePeriod, CostSharingAgency):
        await conn.execute(delete(table.__table__))
    await conn.execute(update(OFFICE).values(has_cost_config=False))
    if config is None:
        return
    seen = set((await conn.execute(select(OFFICE.c.office_id))).scalars())
    offices = [c for c in (config.for_office(o) for o in sorted(seen | set(config.offices))) if c]
    by_period: dict[tuple[date, date], list[OfficeCosts]] = defaultdict(list)
    for office in offices:
        for period in config.periods(office):
            by_period[period].append(office)
    allocations: list[OfficeAllocation] = []
    for (first, last), members in sorted(by_period.items()):
        questions, visits = await period_counts(conn, first.isoformat(), last.isoformat())
        for office in members:
            allocations.append(
                allocate(office, first, last, questions.get(office.office_id, {}),
                         visits.get(office.office_id, 0))
            )
    await _write(conn, offices, allocations)


async def _write(
    conn: AsyncConnection, offices: list[OfficeCosts], allocations: list[OfficeAllocation]
) -> None:
    sharing = [{"office_id": o.office_id, "agency": a} for o in offices for a in o.sharing_agencies]
    periods = [
        {"office_id": a.office_id, "period_from": a.first_day.isoformat(),
         "period_to": a.last_day.isoformat(), "fixed_sek": a.fixed, "variable_sek": a.variable,
         "sharing_agencies": len(next(o for o in offices if o.office_id == a.office_id).sharing_agencies)}
        for a in allocations
    ]
    rows = [
        {"office_id": c.office_id, "period_from": a.first_day.isoformat(),
         "period_to": a.last_day.isoformat(), "agency": c.agency, "questions": c.questions,
         "mix_share": c.mix_share, "fixed_sek": c.fixed, "variable_sek": c.variable,
         "total_sek": c.total, "variable_basis": a.variable_basis}
        for a in allocations for c in a.agencies
    ]
    for table, values in ((CostSharingAgency, sharing), (CostOfficePeriod, periods),
                          (CostAllocation, rows)):
        if values:
            await conn.execute(insert(table.__table__), values)
    configured = sorted({o.office_id for o in offices})
    if configured:
        await conn.execute(
            update(OFFICE).where(OFFICE.c.office_id.in_(configured)).values(has_cost_config=True)
        )
