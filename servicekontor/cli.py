"""The ``servicekontor`` command (typer)."""

from __future__ import annotations

import asyncio
import json
import sys
from pathlib import Path
from typing import Annotated, Any

import typer

from servicekontor.commands import register_all
from shared.logging import configure_logging
from shared.settings import CommonSettings

app = typer.Typer(help="Servicekontor: case routing for Sweden's state service offices.", no_args_is_help=True)


def _overrides(**values: Any) -> dict[str, Any]:
    return {k: v for k, v in values.items() if v is not None}


@app.command()
def up(
    data_dir: Annotated[Path | None, typer.Option(help="Where the SQLite files live [SK_DATA_DIR, ./data]")] = None,
    host: Annotated[str | None, typer.Option(help="Interface to listen on [SK_HOST]")] = None,
    intake_port: Annotated[int | None, typer.Option()] = None,
    routing_port: Annotated[int | None, typer.Option()] = None,
    agency_gateway_port: Annotated[int | None, typer.Option()] = None,
    reporting_port: Annotated[int | None, typer.Option()] = None,
    agency_simulator_port: Annotated[int | None, typer.Option()] = None,
    simulator: Annotated[bool | None, typer.Option("--simulator/--no-simulator", help="Default: on unless SK_AGENCY_ENDPOINTS is set")] = None,
    distributed: Annotated[bool, typer.Option("--distributed", help="Separate processes on Kafka + PostgreSQL (SK_KAFKA_BOOTSTRAP_SERVERS, SK_DATABASE_URL)")] = False,
) -> None:
    """Start intake (8001), routing (8002), agency_gateway (8003), reporting (8004) and,
    unless real agency endpoints are configured, the agency simulator (8009)."""
    from servicekontor.runner import serve_embedded

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
    asyncio.run(serve_embedded(overrides, simulator))


@app.command()
def serve(
    service: Annotated[str, typer.Argument(help="intake | routing | agency_gateway | reporting")],
    port: Annotated[int | None, typer.Option(help="Default: the service's own port")] = None,
) -> None:
    """Run one service on Kafka + PostgreSQL (one replica of a distributed system)."""
    from servicekontor.runner import SERVICES, serve_one

    if service not in SERVICES:
        typer.echo(f"unknown service {service!r}; choose one of {', '.join(SERVICES)}", err=True)
        raise typer.Exit(2)
    settings = CommonSettings()
    configure_logging(settings.log_level, settings.log_format)
    asyncio.run(serve_one(service, _overrides(**{f"{service}_port": port})))


@app.command()
def migrate(
    service: Annotated[str | None, typer.Argument(help="One service; default: all four")] = None,
) -> None:
    """Bring the services' PostgreSQL schemas to the newest Alembic revision."""
    from servicekontor.runner import SERVICES, migrate_services

    if service is not None and service not in SERVICES:
        typer.echo(f"unknown service {service!r}; choose one of {', '.join(SERVICES)}", err=True)
        raise typer.Exit(2)
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
    data_dir: Annotated[Path | None, typer.Option()] = None,
) -> None:
    """Erase a visit's personal data by destroying its data key (crypto-shredding)."""
    from services.intake import handlers
    from services.intake.bootstrap import bootstrap
    from services.intake.config import IntakeSettings

    async def run() -> bool:
        runtime = bootstrap(IntakeSettings(**_overrides(data_dir=data_dir)))
        try:
            await runtime.init_db()
            vault = runtime.extras["vault"]
            return await handlers.erase_personal_data(visit_id, actor, runtime.uow_factory(), vault)
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
    from services.routing.rules import load_classifier

    classifier = load_classifier()
    for number, line in enumerate(sys.stdin, start=1):
        if not line.strip():
            continue
        sys.stdout.write(json.dumps(classify_line(classifier, line, number), ensure_ascii=False) + "\n")
        sys.stdout.flush()


@app.command("agency-sim")
def agency_sim(
    port: Annotated[int, typer.Option()] = 8009,
    host: Annotated[str, typer.Option()] = "127.0.0.1",
    data_dir: Annotated[Path, typer.Option()] = Path("data"),
) -> None:
    """Run the agency simulator alone: it answers for all eight agencies."""
    import uvicorn

    from services.agency_simulator.app import build_simulator
    from shared.auth import auth_dir

    settings = CommonSettings()
    configure_logging(settings.log_level, settings.log_format)
    app_ = build_simulator(data_dir, port, keys_dir=auth_dir(data_dir))
    uvicorn.run(app_, host=host, port=port, log_config=None, access_log=False)


@app.command()
def demo(
    visits: Annotated[int | None, typer.Option(min=1, max=100_000, help="Burst mode: N visits as fast as the system takes them, each called by id (load and smoke tests); without it, an office day")] = None,
    days: Annotated[int | None, typer.Option(min=1, max=730, help="History mode: N past days of ten offices (sizes, weekday and seasonal patterns, repeat visitors) written into the embedded event stores; reporting reads them")] = None,
    offices: Annotated[int, typer.Option(min=1, max=20, help="Office day: how many offices (chosen among those with the most queues, one with ID cards)")] = 3,
    office: Annotated[list[str] | None, typer.Option(help="Office day: this office (repeatable) instead of a choice")] = None,
    day_seconds: Annotated[float, typer.Option(min=5, max=86_400, help="Office day: real seconds for the whole opening day")] = 120.0,
    visitors_per_office: Annotated[int | None, typer.Option(min=1, max=5_000, help="Office day: visitors per office [by office size: 40, 90, 160]")] = None,
    host: Annotated[str, typer.Option()] = "127.0.0.1",
    intake_port: Annotated[int, typer.Option()] = 8001,
    routing_port: Annotated[int, typer.Option()] = 8002,
    agency_gateway_port: Annotated[int, typer.Option()] = 8003,
    reporting_port: Annotated[int, typer.Option()] = 8004,
    concurrency: Annotated[int, typer.Option(min=1, max=64, help="Burst mode: visits in flight")] = 8,
    seed: Annotated[int | None, typer.Option(help="Random seed, for a repeatable run")] = None,
    wait_seconds: Annotated[float, typer.Option(help="How long to wait for deliveries and reporting at the end")] = 60.0,
    data_dir: Annotated[Path | None, typer.Option(help="The running system's data directory, whose credentials.json holds the tokens [SK_DATA_DIR, ./data]")] = None,
) -> None:
    """Drive realistic traffic against a running system and print a summary: by default
    one office day compressed into --day-seconds (desks call the next visitor, waits and
    service times, no-shows, recalls, transfers); --visits N for a burst of N visits."""
    from servicekontor.demo import (
        CredentialsMissing,
        DemoError,
        DemoTargets,
        load_credentials,
        run_demo,
    )
    from servicekontor.demo_day import run_day

    if days is not None:
        _demo_history(days, seed, (data_dir or CommonSettings().data_dir).resolve())
        return
    targets = DemoTargets(host, intake_port, routing_port, agency_gateway_port, reporting_port)
    try:
        credentials = load_credentials((data_dir or CommonSettings().data_dir).resolve())
        if visits is not None:
            ok = asyncio.run(run_demo(visits, targets, concurrency, seed, wait_seconds, credentials))
        else:
            ok = asyncio.run(run_day(
                targets, credentials, offices=offices, office_ids=office or [], day_seconds=day_seconds,
                visitors_per_office=visitors_per_office, seed=seed, wait_seconds=wait_seconds,
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
