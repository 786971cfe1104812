"""``servicekontor gateway ...``: dead letters, agencies, configuration checks and the
simulator's failure modes, from the command line (over the services' HTTP APIs).

The commands that call the gateway find it through ``--data-dir`` (the ports a running
``servicekontor up`` wrote to ``<data_dir>/ports.json``; ``--host`` and
``--agency-gateway-port`` win) and send a bearer token: ``--token``, or one minted for
the call from the data dir's private key (role ``supervisor`` to read, ``admin`` to
replay, whose subject is the ``--actor``)."""

from __future__ import annotations

import json
from typing import Annotated, Any

import httpx
import typer

from servicekontor.commands._common import (
    CliError,
    DataDir,
    Host,
    Token,
    bearer,
    fail,
    port_option,
    resolve_data_dir,
    service_url,
    where_from,
)

gateway = typer.Typer(help="Agency gateway: dead letters, agencies, configuration, simulator faults.")
GatewayPort = Annotated[int | None, port_option("agency_gateway")]
SimulatorPort = Annotated[int | None, port_option("agency_simulator")]
READ_ROLE, REPLAY_ROLE = "supervisor", "admin"


def register(app: typer.Typer) -> None:
    app.add_typer(gateway, name="gateway")


def _call(
    method: str, url: str, token: str | None, body: dict[str, Any] | None = None, *, found: str = "",
    **params: Any,
) -> Any:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    try:
        response = httpx.request(method, url, json=body, params=params or None, headers=headers, timeout=30)
    except httpx.HTTPError as error:
        typer.echo(f"cannot reach {url} ({found}): {error}" if found else f"cannot reach {url}: {error}", err=True)
        raise typer.Exit(2) from error
    if response.status_code >= 400:
        typer.echo(f"HTTP {response.status_code}: {response.text}", err=True)
        raise typer.Exit(1)
    return response.json()


def _show(value: Any) -> None:
    typer.echo(json.dumps(value, ensure_ascii=False, indent=2))


def _gateway(data_dir, host, port, role: str, subject: str, token: str | None) -> tuple[str, str, str]:
    """The gateway's URL, the token to send, and how the URL was found."""
    where = resolve_data_dir(data_dir)
    try:
        return service_url("agency_gateway", where, host, port), bearer(where, role, subject, token), where_from(where)
    except CliError as error:
        raise fail(error) from error


@gateway.command("dead-letters")
def dead_letters(
    question_id: Annotated[str | None, typer.Argument(help="Inspect this one", show_default="list them all")] = None,
    agency: Annotated[str | None, typer.Option(help="Only this agency's", show_default="every agency")] = None,
    data_dir: DataDir = None,
    token: Token = None,
    host: Host = None,
    agency_gateway_port: GatewayPort = None,
) -> None:
    """List dead letters, or inspect one (its history, never the case's content)."""
    url, bearer_token, found = _gateway(data_dir, host, agency_gateway_port, READ_ROLE, "cli-supervisor", token)
    if question_id:
        _show(_call("GET", f"{url}/v1/dead-letters/{question_id}", bearer_token, found=found))
        return
    params = {"agency": agency} if agency else {}
    _show(_call("GET", f"{url}/v1/dead-letters", bearer_token, found=found, **params))


@gateway.command()
def replay(
    question_id: Annotated[str | None, typer.Argument(help="The dead letter to send again", show_default="none: use --all")] = None,
    all_: Annotated[bool, typer.Option("--all", help="Every dead letter (of --agency)", show_default="off")] = False,
    agency: Annotated[str | None, typer.Option(help="With --all: only this agency's", show_default="every agency")] = None,
    actor: Annotated[str | None, typer.Option(help="Who you are: the minted token's subject, recorded with the replay (with --token: the token's subject is)", show_default="required unless --token")] = None,
    reason: Annotated[str | None, typer.Option(help="Why (recorded; personal data is masked)", show_default="none")] = None,
    data_dir: DataDir = None,
    token: Token = None,
    host: Host = None,
    agency_gateway_port: GatewayPort = None,
) -> None:
    """Send a dead letter (or all of them) again, once the cause is fixed. The replay is
    recorded with the token's subject as its actor."""
    if bool(question_id) == all_:
        typer.echo("name one QUESTION_ID or --all", err=True)
        raise typer.Exit(2)
    if not actor and not token:
        typer.echo("say who replays: --actor NAME (or send your own --token)", err=True)
        raise typer.Exit(2)
    url, bearer_token, found = _gateway(data_dir, host, agency_gateway_port, REPLAY_ROLE, actor or "", token)
    body: dict[str, Any] = {"reason": reason}
    if all_:
        _show(_call("POST", f"{url}/v1/dead-letters/replay", bearer_token, body | {"agency": agency}, found=found))
    else:
        _show(_call("POST", f"{url}/v1/dead-letters/{question_id}/replay", bearer_token, body, found=found))


@gateway.command()
def agencies(
    data_dir: DataDir = None,
    token: Token = None,
    host: Host = None,
    agency_gateway_port: GatewayPort = None,
) -> None:
    """Each agency's configuration (no secrets) and circuit breaker, live."""
    url, bearer_token, found = _gateway(data_dir, host, agency_gateway_port, READ_ROLE, "cli-supervisor", token)
    _show(_call("GET", f"{url}/v1/agencies", bearer_token, found=found))


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
def dev_secret_of(agency: Annotated[str, typer.Argument(help="The agency's code, e.g. skatteverket")]) -> None:
    """The development secret of an agency (never accepted in production)."""
    from shared.signing import dev_secret

    typer.echo(dev_secret(agency))


@gateway.command("sim-faults")
def sim_faults(
    error_rate: Annotated[float, typer.Option(min=0, max=1, help="Share of cases answered with a 5xx, not taken")] = 0.0,
    timeout_rate: Annotated[float, typer.Option(min=0, max=1, help="Share of cases taken, then answered late")] = 0.0,
    hang_seconds: Annotated[float, typer.Option(min=0, help="How late a late answer is")] = 30.0,
    latency_ms: Annotated[str, typer.Option(help="MIN,MAX: every answer waits a uniform draw")] = "0,0",
    agency: Annotated[str | None, typer.Option(help="Only this agency", show_default="every agency")] = None,
    outage: Annotated[str | None, typer.Option(help="AGENCY:SECONDS[:error|hang], from now", show_default="none")] = None,
    reset: Annotated[bool, typer.Option(help="Clear every fault first")] = False,
    data_dir: DataDir = None,
    host: Host = None,
    agency_simulator_port: SimulatorPort = None,
) -> None:
    """Set the running agency simulator's failure modes (development only: the simulator
    has no authentication)."""
    where = resolve_data_dir(data_dir)
    try:
        url, found = service_url("agency_simulator", where, host, agency_simulator_port), where_from(where)
    except CliError as error:
        raise fail(error) from error
    if reset:
        _call("POST", f"{url}/v1/admin/reset", None, found=found)
    low, _, high = latency_ms.partition(",")
    try:
        latency = [float(low), float(high or low)]
    except ValueError:
        typer.echo(f"--latency-ms is MIN,MAX in milliseconds, not {latency_ms!r}", err=True)
        raise typer.Exit(2) from None
    faults = {
        "error_rate": error_rate,
        "timeout_rate": timeout_rate,
        "hang_seconds": hang_seconds,
        "latency_ms": latency,
    }
    _call("PUT", f"{url}/v1/admin/faults" + (f"/{agency}" if agency else ""), None, faults, found=found)
    if outage:
        name, _, rest = outage.partition(":")
        seconds, _, mode = rest.partition(":")
        try:
            window = {"agency": name, "seconds": float(seconds), "mode": mode or "error"}
        except ValueError:
            typer.echo(f"--outage is AGENCY:SECONDS[:error|hang], not {outage!r}", err=True)
            raise typer.Exit(2) from None
        _call("POST", f"{url}/v1/admin/outages", None, window, found=found)
    _show(_call("GET", f"{url}/v1/admin/faults", None, found=found))
