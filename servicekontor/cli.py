"""The ``servicekontor`` command (typer)."""

from __future__ import annotations

import asyncio
import errno
import json
import os
import sys
from pathlib import Path
from typing import Annotated, Any

import typer

from servicekontor.commands import register_all
from servicekontor.commands._common import (
    CliError,
    DataDir,
    Host,
    fail,
    port_option,
    resolve_data_dir,
    service_url,
)
from shared.logging import configure_logging
from shared.settings import CommonSettings

app = typer.Typer(help="Servicekontor: case routing for Sweden's state service offices.", no_args_is_help=True)


def _overrides(**values: Any) -> dict[str, Any]:
    return {k: v for k, v in values.items() if v is not None}


def _port(service: str, default: int) -> Any:
    flag = f"--{service.replace('_', '-')}-port"
    return typer.Option(flag, min=0, max=65535, help=f"{service}'s port (0: one the kernel picks)",
                        show_default=f"SK_{service.upper()}_PORT, else {default}")


@app.command()
def up(
    data_dir: DataDir = None,
    host: Annotated[str | None, typer.Option(help="Interface to listen on", show_default="SK_HOST, else 127.0.0.1")] = None,
    intake_port: Annotated[int | None, _port("intake", 8001)] = None,
    routing_port: Annotated[int | None, _port("routing", 8002)] = None,
    agency_gateway_port: Annotated[int | None, _port("agency_gateway", 8003)] = None,
    reporting_port: Annotated[int | None, _port("reporting", 8004)] = None,
    agency_simulator_port: Annotated[int | None, typer.Option(min=0, max=65535, help="The agency simulator's port (0: one the kernel picks)", show_default="8009")] = None,
    simulator: Annotated[bool | None, typer.Option("--simulator/--no-simulator", help="Run the agency simulator", show_default="on unless SK_AGENCY_ENDPOINTS is set")] = None,
    distributed: Annotated[bool, typer.Option("--distributed", help="Separate processes on Kafka + PostgreSQL (SK_KAFKA_BOOTSTRAP_SERVERS, SK_DATABASE_URL)", show_default="off: one process, SQLite")] = False,
    processes: Annotated[bool | None, typer.Option("--processes/--one-process", help="Embedded: one process per service under one supervisor (both cores), or all in one process", show_default="SK_EMBEDDED_PROCESSES, else one process")] = None,
) -> None:
    """Start intake (8001), routing (8002), agency_gateway (8003), reporting (8004) and,
    unless real agency endpoints are configured, the agency simulator (8009). The ports
    it listens on are written to <data-dir>/ports.json, where the other commands find
    them."""
    from servicekontor.runner import PortInUse, run_loop, serve_embedded

    settings = CommonSettings()
    configure_logging(settings.log_level, settings.log_format)
    overrides = _overrides(
        data_dir=data_dir,
        host=host,
        intake_port=intake_port,
        routing_port=routing_port,
        agency_gateway_port=agency_gateway_port,
        reporting_port=reporting_port,
        agency_simulator_port=agency_simulator_port,
    )
    if distributed:
        from servicekontor.distributed import run_distributed
        from services.agency_gateway.config import GatewaySettings

        if not (settings.kafka_bootstrap_servers and settings.database_url):
            typer.echo("--distributed needs SK_KAFKA_BOOTSTRAP_SERVERS and SK_DATABASE_URL (see deploy/local/).", err=True)
            raise typer.Exit(2)
        with_simulator = GatewaySettings().uses_simulator if simulator is None else simulator
        port = agency_simulator_port or 8009
        raise typer.Exit(run_distributed(with_simulator, port, str(data_dir or settings.data_dir)))
    if settings.kafka_bootstrap_servers:
        typer.echo("SK_KAFKA_BOOTSTRAP_SERVERS is set: use `up --distributed` or `serve <service>`.", err=True)
        raise typer.Exit(2)
    from servicekontor.supervisor import processes_wanted, run_supervised
    from shared.errors import ConfigurationError

    try:
        if processes_wanted(processes):
            raise typer.Exit(run_supervised(overrides, simulator))
        run_loop(serve_embedded(overrides, simulator))
    except PortInUse as error:  # raised before anything starts: one line, no traceback
        typer.echo(_port_refused(error), err=True)
        raise typer.Exit(1) from None
    except ConfigurationError as error:  # e.g. the simulator outside development
        typer.echo(f"servicekontor: {error}", err=True)
        raise typer.Exit(2) from None


def _port_refused(error: Any) -> str:
    """One line for a port ``up`` cannot listen on, naming the option that changes it."""
    flag = f"--{error.service.replace('_', '-')}-port"
    cause = error.__context__
    if isinstance(cause, OSError) and cause.errno == errno.EADDRINUSE:
        return f"port {error.port} ({error.service}) is in use; choose another with {flag}"
    return f"{error}; choose another port with {flag} (or another --host)"


@app.command()
def serve(
    service: Annotated[str, typer.Argument(help="intake | routing | agency_gateway | reporting")],
    port: Annotated[int | None, typer.Option(min=0, max=65535, help="The port to listen on", show_default="SK_<SERVICE>_PORT, else the service's own (8001-8004)")] = None,
) -> None:
    """Run one service on Kafka + PostgreSQL (one replica of a distributed system)."""
    from servicekontor.runner import SERVICES, PortInUse, run_loop, serve_one

    if service not in SERVICES:
        typer.echo(f"unknown service {service!r}; choose one of {', '.join(SERVICES)}", err=True)
        raise typer.Exit(2)
    settings = CommonSettings()
    if not settings.kafka_bootstrap_servers:
        typer.echo("serve runs one service of a distributed system: set SK_KAFKA_BOOTSTRAP_SERVERS "
                   "(and SK_DATABASE_URL); the embedded system is `servicekontor up`", err=True)
        raise typer.Exit(2)
    configure_logging(settings.log_level, settings.log_format)
    try:
        run_loop(serve_one(service, _overrides(**{f"{service}_port": port})))
    except PortInUse as error:
        typer.echo(_port_refused(error).replace(f"--{service.replace('_', '-')}-port", "--port"), err=True)
        raise typer.Exit(1) from None


@app.command()
def migrate(
    service: Annotated[str | None, typer.Argument(help="One service", show_default="all four")] = None,
    data_dir: DataDir = None,
) -> None:
    """Bring the services' PostgreSQL schemas to the newest Alembic revision (SQLite under
    --data-dir: create the tables). In development also the key pair and credentials.json."""
    from servicekontor.runner import SERVICES, migrate_services

    if service is not None and service not in SERVICES:
        typer.echo(f"unknown service {service!r}; choose one of {', '.join(SERVICES)}", err=True)
        raise typer.Exit(2)
    if data_dir is not None:  # the services read their settings from the environment
        os.environ["SK_DATA_DIR"] = str(data_dir)
    settings = CommonSettings()
    configure_logging(settings.log_level, settings.log_format)
    if settings.environment == "development" and not (settings.auth_public_key or settings.auth_public_key_file):
        # Before any service starts: the key pair and credentials.json under the data dir,
        # so services sharing it (docker-compose.yml) verify with one key, made once.
        from shared.auth import ensure_credentials

        typer.echo(f"credentials: {ensure_credentials(settings.data_dir.resolve())}")
    for name, revision in asyncio.run(migrate_services([service] if service else list(SERVICES))):
        typer.echo(f"{name}: {revision}")


@app.command()
def erase(
    visit_id: Annotated[str, typer.Argument(help="The visit whose personal data is erased")],
    actor: Annotated[str, typer.Option(help="Who erases (recorded in the event)")],
    data_dir: DataDir = None,
) -> None:
    """Erase a visit's personal data by destroying its data key (crypto-shredding), in the
    stores under --data-dir (the system may be running)."""
    from services.intake.bootstrap import bootstrap
    from services.intake.config import IntakeSettings
    from services.intake.handlers import visits

    async def run() -> bool:
        runtime = bootstrap(IntakeSettings(**_overrides(data_dir=data_dir)))
        try:
            await runtime.init_db()
            vault = runtime.deps.vault
            return await visits.erase_personal_data(visit_id, actor, runtime.uow_factory(), vault)
        finally:
            await runtime.close()

    from shared.errors import DomainError

    try:
        existed = asyncio.run(run())
    except DomainError as error:
        typer.echo(error.message, err=True)
        raise typer.Exit(2) from error
    typer.echo(f"visit {visit_id}: {'data key destroyed' if existed else 'had no personal data key'}; erasure recorded")


@app.command()
def classify() -> None:
    """Read JSON Lines questions on stdin; write one JSON decision per line."""
    from services.routing.entrypoints.cli_io import classify_line
    from services.routing.adapters.rule_files import load_classifier

    classifier = load_classifier()
    for number, line in enumerate(sys.stdin, start=1):
        if not line.strip():
            continue
        sys.stdout.write(json.dumps(classify_line(classifier, line, number), ensure_ascii=False) + "\n")
        sys.stdout.flush()


@app.command("agency-sim")
def agency_sim(
    port: Annotated[int, typer.Option(min=0, max=65535, help="The port to listen on")] = 8009,
    host: Annotated[str | None, typer.Option(help="Interface to listen on", show_default="SK_HOST, else 127.0.0.1")] = None,
    data_dir: DataDir = None,
) -> None:
    """Run the agency simulator alone: it answers for all eight agencies (development
    only: its admin and /v1/received routes have no authentication). Stops like ``up``:
    the status callbacks it still owes are sent first, within the same bound."""
    from servicekontor.runner import serve_simulator
    from services.agency_simulator.app import SimulatorRefused, check_environment

    try:
        check_environment()
    except SimulatorRefused as error:
        typer.echo(str(error), err=True)
        raise typer.Exit(2) from None
    settings = CommonSettings()
    configure_logging(settings.log_level, settings.log_format)
    asyncio.run(serve_simulator(port, resolve_data_dir(data_dir), None, host or settings.host))


@app.command()
def demo(
    visits: Annotated[int | None, typer.Option(min=1, max=100_000, help="Burst mode: N visits as fast as the system takes them, each called by id (load and smoke tests)", show_default="none: an office day")] = None,
    days: Annotated[int | None, typer.Option(min=1, max=730, help="History mode: N past days of ten offices (sizes, weekday and seasonal patterns, repeat visitors) written into the embedded event stores; reporting reads them", show_default="none: an office day")] = None,
    offices: Annotated[int, typer.Option(min=1, max=20, help="Office day: how many offices (chosen among those with the most queues, one with ID cards)")] = 3,
    office: Annotated[list[str] | None, typer.Option(help="Office day: this office (repeatable) instead of a choice", show_default="a choice of --offices")] = None,
    day_seconds: Annotated[float, typer.Option(min=5, max=86_400, help="Office day: real seconds for the whole opening day")] = 120.0,
    visitors_per_office: Annotated[int | None, typer.Option(min=1, max=5_000, help="Office day: visitors per office", show_default="by office size: 40, 90, 160")] = None,
    concurrency: Annotated[int, typer.Option(min=1, max=64, help="Burst mode: visits in flight")] = 8,
    seed: Annotated[int | None, typer.Option(help="Random seed, for a repeatable run", show_default="a new one each run")] = None,
    wait_seconds: Annotated[float, typer.Option(help="How long to wait for deliveries and reporting at the end")] = 60.0,
    data_dir: DataDir = None,
    host: Host = None,
    intake_port: Annotated[int | None, port_option("intake")] = None,
    routing_port: Annotated[int | None, port_option("routing")] = None,
    agency_gateway_port: Annotated[int | None, port_option("agency_gateway")] = None,
    reporting_port: Annotated[int | None, port_option("reporting")] = None,
) -> None:
    """Drive realistic traffic against a running system and print a summary: by default
    one office day compressed into --day-seconds (desks call the next visitor, waits and
    service times, no-shows, recalls, transfers); --visits N for a burst of N visits. The
    system is the one running on --data-dir (its ports.json and credentials.json)."""
    from servicekontor.demo import (
        CredentialsMissing,
        DemoError,
        DemoTargets,
        load_credentials,
        run_demo,
    )
    from servicekontor.demo_day import run_day

    where = resolve_data_dir(data_dir).resolve()
    if days is not None:
        _demo_history(days, seed, where)
        return
    try:
        urls = {
            name: service_url(name, where, host, port)
            for name, port in (("intake", intake_port), ("routing", routing_port),
                               ("agency_gateway", agency_gateway_port), ("reporting", reporting_port))
        }
    except CliError as error:
        raise fail(error) from error
    hostname = urls["intake"].removeprefix("http://").rsplit(":", 1)[0]
    targets = DemoTargets(hostname, *(int(url.rsplit(":", 1)[1]) for url in urls.values()))
    try:
        credentials = load_credentials(where)
        if visits is not None:
            ok = asyncio.run(run_demo(visits, targets, concurrency, seed, wait_seconds, credentials))
        else:
            ok = asyncio.run(run_day(
                targets, credentials, offices=offices, office_ids=office or [], day_seconds=day_seconds,
                visitors_per_office=visitors_per_office, seed=seed, wait_seconds=wait_seconds, data_dir=where,
            ))
    except DemoError as error:  # no credentials, the system refuses them, or it is not there
        typer.echo(f"demo: {error}", err=True)
        raise typer.Exit(2 if isinstance(error, CredentialsMissing) else 1) from error
    raise typer.Exit(0 if ok else 1)


def _demo_history(days: int, seed: int | None, data_dir: Path) -> None:
    from servicekontor.demo_history import write_demo_history

    summary = write_demo_history(data_dir, days, seed=seed)
    typer.echo(
        f"demo history: {summary.visits} visits, {summary.questions} questions "
        f"({summary.repeat_visits} back about the same matter) at {', '.join(summary.offices)}, "
        f"{summary.first_day} to {summary.last_day}, in {data_dir}; reporting reads them "
        "(steering figures: /v1/stats/workload, /quality, /repeat-contacts, /v1/forecast/*, "
        "the dashboard's Styrning page)"
    )


register_all(app)


if __name__ == "__main__":  # pragma: no cover
    app()
