"""Build the agency simulator's app. Logs loudly that it is a SIMULATOR, and refuses to
start at all outside development (``SK_ENVIRONMENT`` other than ``development``): its
admin routes (failure modes) and ``/v1/received`` have no authentication."""

from __future__ import annotations

import os
import random
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from functools import cache
from pathlib import Path

import structlog
from fastapi import FastAPI
from pydantic import Field, SecretStr

from services.agency_simulator import admin, api, meetings
from services.agency_simulator.callbacks import CallbackSender
from services.agency_simulator.faults import FaultPlan
from services.agency_simulator.state import SimulatorState
from services.agency_simulator.store import SimulatorStore
from shared.api import create_app
from shared.auth import TokenIssuer, auth_dir, ensure_keys
from shared.db import ping
from shared.errors import ConfigurationError
from shared.settings import CommonSettings
from shared.signing import dev_secret

log = structlog.get_logger("agency_simulator")


class SimulatorSettings(CommonSettings):
    """``SK_AGENCY_SIMULATOR_CALLBACK_URL``: the gateway's base URL, to send status
    callbacks to (unset: none are sent); arguments of ``build_simulator`` win.
    ``SK_AGENCY_SECRETS`` (JSON, agency → secret), as the gateway reads it: the simulator
    plays every agency, so it signs and checks with the same secrets; an agency not named
    there has its development secret (``shared.signing.dev_secret``).
    ``SK_SIM_MEETING_MOVE_RATE`` / ``SK_SIM_MEETING_CANCEL_RATE``: see ``meetings``."""

    agency_simulator_callback_url: str | None = None
    agency_simulator_callback_delay_seconds: float = Field(default=2.0, ge=0)
    agency_secrets: dict[str, SecretStr] = {}
    # Shares of the meetings each simulated agency moves / cancels itself (deterministic
    # by booking id): small, so a demo day shows both.
    sim_meeting_move_rate: float = Field(default=0.05, ge=0, le=1)
    sim_meeting_cancel_rate: float = Field(default=0.03, ge=0, le=1)


def agency_secrets(settings: SimulatorSettings) -> Callable[[str], str]:
    """The secret each simulated agency shares with the gateway."""
    given = {agency: secret.get_secret_value() for agency, secret in settings.agency_secrets.items()}
    return lambda agency: given.get(agency) or dev_secret(agency)


def agency_tokens(auth_dir: Path) -> Callable[[str], str]:
    """Bearer tokens for the simulated agencies (role agency, one per agency), signed with
    the installation's development key: the simulator never runs in production."""
    issuer = TokenIssuer(ensure_keys(auth_dir)[0])
    return cache(lambda agency: issuer.issue(f"agency-simulator-{agency}", "agency", agency))


class SimulatorRefused(ConfigurationError):
    """The simulator was asked to run outside development (a one-line message)."""


def check_environment(environ: dict[str, str] | None = None) -> None:
    """Refuse (``SimulatorRefused``) unless ``SK_ENVIRONMENT`` is unset or ``development``.
    Read before any settings are parsed, so an unknown value is refused the same way."""
    environ = os.environ if environ is None else environ
    value = next((v for k, v in environ.items() if k.upper() == "SK_ENVIRONMENT"), "development")
    if value != "development":
        raise SimulatorRefused(
            f"the agency simulator runs only in development (SK_ENVIRONMENT={value!r}): its "
            "admin and /v1/received routes have no authentication; configure the agencies' "
            "real endpoints (SK_AGENCY_ENDPOINTS) instead"
        )


def build_simulator(
    data_dir: Path,
    port: int = 8009,
    *,
    plan: FaultPlan | None = None,
    require_signature: bool = True,
    callback_url: str | None = None,
    callback_delay: float | None = None,
    seed: int | None = None,
    keys_dir: Path | None = None,
) -> FastAPI:
    """``keys_dir``: the installation's key directory, to sign the callbacks' tokens
    (default ``<SK_DATA_DIR>/auth``)."""
    check_environment()
    settings = SimulatorSettings()
    store = SimulatorStore(data_dir)
    secret_for = agency_secrets(settings)
    callback_url = callback_url or settings.agency_simulator_callback_url
    if callback_delay is None:
        callback_delay = settings.agency_simulator_callback_delay_seconds
    plan = plan or FaultPlan()
    if seed is not None:
        plan.rng = random.Random(seed)
    tokens = agency_tokens(keys_dir or auth_dir(settings.data_dir))
    sender = CallbackSender(callback_url, secret_for, callback_delay, tokens) if callback_url else None
    state = SimulatorState(
        plan, secret_for, require_signature, sender,
        meeting_move_rate=settings.sim_meeting_move_rate, meeting_cancel_rate=settings.sim_meeting_cancel_rate,
    )

    async def ready() -> dict[str, bool]:
        return {"database": await ping(store.engine)}

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        log.warning(
            "AGENCY SIMULATOR: not an agency system; cases sent here reach no agency",
            port=port,
            data_dir=str(data_dir),
            require_signature=require_signature,
            callback_url=callback_url,
        )
        await store.ensure_tables()
        yield
        if sender is not None:
            await sender.close()
        await store.close()

    app = create_app("servicekontor agency simulator (NOT an agency system)", ready, lifespan)
    app.include_router(api.router)
    app.include_router(meetings.router)
    app.include_router(admin.router)
    app.state.store = store
    app.state.sim = state
    return app


async def publish_agency_slots(
    gateway_url: str, agency: str, slots: dict, keys_dir: Path | None = None
) -> dict:
    """The simulated ``agency`` publishes slots through the gateway (``POST
    /v1/agency/slots``, signed with its secret and token, as callbacks are): ``slots``
    has ``case_types``, ``kind``, ``office_ids``, ``starts`` (ISO 8601 with offset),
    ``length_minutes`` and optionally ``publication_id``. Answers the gateway's JSON;
    raises ``httpx.HTTPStatusError`` for a refusal. For demos (docs/agency-api.md)."""
    check_environment()
    settings = SimulatorSettings()
    tokens = agency_tokens(keys_dir or auth_dir(settings.data_dir))
    sender = CallbackSender(gateway_url, agency_secrets(settings), 0.0, tokens)
    try:
        response = await sender.publish_slots(agency, slots)
        response.raise_for_status()
        return response.json()
    finally:
        await sender.close()
