"""The admin's erasure route: crypto-shred a visit's personal data. Who erased is the
token's subject, never a name from the request, so the recorded event can be trusted."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends

from services.intake.entrypoints.deps import DepsDep, UowDep
from services.intake.entrypoints.schemas import PersonalDataErasure
from services.intake.handlers import visits
from shared.events import utc_now
from shared.security import Principal, require

router = APIRouter(prefix="/visits", tags=["intake"])
Eraser = Annotated[Principal, Depends(require("personal_data:erase"))]


@router.delete("/{visit_id}/personal-data", response_model=PersonalDataErasure)
async def erase_personal_data(
    visit_id: str, principal: Eraser, uow: UowDep, deps: DepsDep
) -> PersonalDataErasure:
    """Destroy the visit's data key and record ``intake.PersonalDataErased``."""
    erased_at = utc_now()
    destroyed = await visits.erase_personal_data(
        visit_id, principal.subject, uow, deps.vault, now=erased_at
    )
    return PersonalDataErasure(
        visit_id=visit_id, key_destroyed=destroyed, erased_by=principal.subject, erased_at=erased_at
    )
