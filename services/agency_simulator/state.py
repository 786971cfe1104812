"""What one simulator app holds beside its store: the fault plan, the agencies' secrets
and whether signatures are checked, the callback sender, and some counters."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from fastapi import Request

from services.agency_simulator.callbacks import CallbackSender
from services.agency_simulator.faults import FaultPlan


@dataclass
class SimulatorState:
    plan: FaultPlan
    secret_for: Callable[[str], str]
    require_signature: bool = True
    callbacks: CallbackSender | None = None
    refused: dict[str, int] = field(default_factory=dict)  # agency -> bad signatures
    meeting_move_rate: float = 0.0  # shares of meetings the agency moves / cancels itself
    meeting_cancel_rate: float = 0.0

    def refuse(self, agency: str) -> None:
        self.refused[agency] = self.refused.get(agency, 0) + 1


def get_state(request: Request) -> SimulatorState:
    return request.app.state.sim
