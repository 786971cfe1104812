"""``servicekontor gateway ...``: dead letters, agencies, configuration checks and the
simulator's failure modes, from the command line (over the services' HTTP APIs)."""

from __future__ import annotations

import json
from typing import Annotated, Any

import httpx
import typer

gateway = typer.Typer(help="Agency gateway: dead letters, agencies, configuration, simulator faults.")
GatewayUrl = Annotated[str, typer.Option(help="The gateway's base URL")]
SimUrl = Annotated[str, typer.Option(help="The agency simulator's base URL")]
DEFAULT_GATEWAY, DEFAULT_SIM = "http://127.0.0.1:8003", "http://127.0.0.1:8009"


def register(app: typer.Typer) -> None:
    app.add_typer(gateway, name="gateway")


def _call(method: str, url: str, body: dict[str, Any] | None = None, **params: Any) -> Any:
    try:
        response = httpx.request(method, url, json=body, params=params or None, timeout=30)
    except httpx.HTTPError as error:
        typer.echo(f"cannot reach {url}: {error}", err=True)
        raise typer.Exit(2) from error
    if response.status_code >= 400:
        typer.echo(f"HTTP {response.status_code}: {response.text}", err=True)
        raise typer.Exit(1)
    return response.json()


def _show(value: Any) -> None:
    typer.echo(json.dumps(value, ensure_ascii=False, indent=2))


@gateway.command("dead-letters")
def dead_letters(
    agency: Annotated[str | None, typer.Option()] = None,
    question_id: Annotated[str | None, typer.Argument(help="Inspect this one")] = None,
    url: GatewayUrl = DEFAULT_GATEWAY,
) -> None:
    """List dead letters, or inspect one (its history, never the case's content)."""
    if question_id:
        _show(_call("GET", f"{url}/v1/dead-letters/{question_id}"))
        return
    params = {"agency": agency} if agency else {}
    _show(_call("GET", f"{url}/v1/dead-letters", **params))


@gateway.command()
def replay(
    actor: Annotated[str, typer.Option(help="Who you are: recorded with the replay")],
    question_id: Annotated[str | None, typer.Argument()] = None,
    all_: Annotated[bool, typer.Option("--all", help="Every dead letter (of --agency)")] = False,
    agency: Annotated[str | None, typer.Option()] = None,
    reason: Annotated[str | None, typer.Option()] = None,
    url: GatewayUrl = DEFAULT_GATEWAY,
) -> None:
    """Send a dead letter (or all of them) again, once the cause is fixed."""
    if bool(question_id) == all_:
        typer.echo("name one QUESTION_ID or --all", err=True)
        raise typer.Exit(2)
    body: dict[str, Any] = {"actor": actor, "reason": reason}
    if all_:
        _show(_call("POST", f"{url}/v1/dead-letters/replay", body | {"agency": agency}))
    else:
        _show(_call("POST", f"{url}/v1/dead-letters/{question_id}/replay", body))


@gateway.command()
def agencies(url: GatewayUrl = DEFAULT_GATEWAY) -> None:
    """Each agency's configuration (no secrets) and circuit breaker, live."""
    _show(_call("GET", f"{url}/v1/agencies"))


@gateway.command("check-config")
def check_config() -> None:
    """Read the gateway's agency configuration as the service would, and say what is
    wrong (exit 1), including what production refuses."""
    from services.agency_gateway.config import ConfigurationError, GatewaySettings

    try:
        settings = GatewaySettings()
        targets = settings.targets()
        settings.check_targets()
    except (ConfigurationError, ValueError) as error:
        typer.echo(f"configuration refused: {error}", err=True)
        raise typer.Exit(1) from error
    _show({code: target.public() for code, target in targets.items()})


@gateway.command("dev-secret")
def dev_secret_of(agency: str) -> None:
    """The development secret of an agency (never accepted in production)."""
    from services.agency_gateway.domain.signing import dev_secret

    typer.echo(dev_secret(agency))


@gateway.command("sim-faults")
def sim_faults(
    error_rate: Annotated[float, typer.Option(min=0, max=1)] = 0.0,
    timeout_rate: Annotated[float, typer.Option(min=0, max=1)] = 0.0,
    hang_seconds: Annotated[float, typer.Option(min=0)] = 30.0,
    latency_ms: Annotated[str, typer.Option(help="MIN,MAX")] = "0,0",
    agency: Annotated[str | None, typer.Option(help="Only this agency")] = None,
    outage: Annotated[str | None, typer.Option(help="AGENCY:SECONDS[:error|hang], from now")] = None,
    reset: Annotated[bool, typer.Option(help="Clear every fault first")] = False,
    url: SimUrl = DEFAULT_SIM,
) -> None:
    """Set the running agency simulator's failure modes."""
    if reset:
        _call("POST", f"{url}/v1/admin/reset")
    low, _, high = latency_ms.partition(",")
    faults = {
        "error_rate": error_rate,
        "timeout_rate": timeout_rate,
        "hang_seconds": hang_seconds,
        "latency_ms": [float(low), float(high or low)],
    }
    _call("PUT", f"{url}/v1/admin/faults" + (f"/{agency}" if agency else ""), faults)
    if outage:
        name, seconds, *mode = outage.split(":")
        window = {"agency": name, "seconds": float(seconds), "mode": mode[0] if mode else "error"}
        _call("POST", f"{url}/v1/admin/outages", window)
    _show(_call("GET", f"{url}/v1/admin/faults"))
