"""Setting the simulator's failure modes while it runs (tests, demos, the
``servicekontor gateway sim-faults`` command). In memory only."""

from __future__ import annotations

import time
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends
from pydantic import BaseModel, ConfigDict, Field

from services.agency_simulator.api import StateDep, known_agency
from services.agency_simulator.faults import Faults, Outage
from shared.catalog import load_catalog
from shared.errors import InvalidInput

router = APIRouter(prefix="/v1", tags=["agency simulator: faults"])
Agency = Annotated[str, Depends(known_agency)]


class FaultIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    status: int = Field(ge=400, le=599)
    count: int = Field(ge=1, le=10_000)


class OutageIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    agency: str
    seconds: float = Field(gt=0, le=86_400)
    mode: Literal["error", "hang"] = "error"


@router.post("/agencies/{agency}/faults")
async def inject_fault(agency: Agency, body: FaultIn, sim: StateDep) -> dict[str, int | str]:
    """The next ``count`` cases to this agency are answered with ``status``."""
    sim.plan.injected[agency] = [body.status, body.count]
    return {"agency": agency, "status": body.status, "count": body.count}


@router.get("/admin/faults")
async def show_faults(sim: StateDep) -> dict[str, Any]:
    now = time.time()
    return {
        "defaults": sim.plan.defaults.model_dump(),
        "agencies": {a: f.model_dump() for a, f in sim.plan.agencies.items()},
        "outages": {
            a: {"mode": o.mode, "seconds_left": round(o.until - now, 3)}
            for a, o in sim.plan.outages.items()
            if o.since <= now < o.until
        },
        "require_signature": sim.require_signature,
    }


@router.put("/admin/faults")
async def set_default_faults(body: Faults, sim: StateDep) -> dict[str, Any]:
    """Faults for every agency that has none of its own."""
    sim.plan.defaults = body
    return body.model_dump()


@router.put("/admin/faults/{agency}")
async def set_agency_faults(agency: Agency, body: Faults, sim: StateDep) -> dict[str, Any]:
    sim.plan.agencies[agency] = body
    return body.model_dump()


@router.post("/admin/outages")
async def start_outage(body: OutageIn, sim: StateDep) -> dict[str, Any]:
    """From now, for ``seconds``, the agency answers nothing useful."""
    if not load_catalog().is_agency(body.agency):  # in the body: 422, not 404
        raise InvalidInput(f"no agency {body.agency!r}", {"known": sorted(load_catalog().agency_names)})
    now = time.time()
    sim.plan.outages[body.agency] = Outage(since=now, until=now + body.seconds, mode=body.mode)
    return {"agency": body.agency, "seconds": body.seconds, "mode": body.mode}


@router.post("/admin/reset")
async def reset_faults(sim: StateDep) -> dict[str, bool]:
    sim.plan.reset()
    return {"reset": True}
