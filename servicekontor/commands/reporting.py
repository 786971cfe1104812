"""Reporting's commands: ``servicekontor replay reporting`` rebuilds the reporting store
from the event logs; ``servicekontor reporting-bi-role`` creates PostgreSQL's read-only
role for BI tools."""

from __future__ import annotations

import asyncio
import os
from pathlib import Path
from typing import Annotated

import httpx
import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from servicekontor.commands._common import DataDir, resolve_data_dir, service_url
from servicekontor.instance import read_instance
from shared import topics
from shared.db import sqlite_url
from shared.settings import CommonSettings

PRODUCERS = (("intake", topics.INTAKE), ("routing", topics.ROUTING),
             ("agency_gateway", topics.GATEWAY))


def producer_url(service: str, common: CommonSettings) -> str:
    """A producer's database, resolved the way its own settings do."""
    own = os.environ.get(f"SK_{service.upper()}_DATABASE_URL")
    return own or common.database_url or sqlite_url(common.data_dir.resolve() / f"{service}.db")


def producer_logs(common: CommonSettings) -> list:
    """Where a replay reads the producers' events: on Kafka (a distributed deployment) their
    topics, so reporting never touches another service's database; embedded, their SQLite
    event stores (one process owns them all)."""
    from services.reporting.adapters.event_log import event_log
    from services.reporting.adapters.kafka_log import KafkaEventLog

    if common.kafka_bootstrap_servers:
        return [KafkaEventLog(common.kafka_bootstrap_servers, topic, common.kafka_topic_prefix)
                for _, topic in PRODUCERS]
    return [event_log(producer_url(s, common), s, topic) for s, topic in PRODUCERS]


def _answers(url: str) -> bool:
    try:
        return httpx.get(f"{url}/health", timeout=1).status_code == 200
    except httpx.HTTPError:
        return False


def running_reporting(data_dir: Path, common: CommonSettings) -> str | None:
    """The URL of a reporting service that uses these stores and answers, or None.

    Embedded (SQLite under ``data_dir``): the system ``up`` runs on that data dir says
    where in ``<data_dir>/ports.json``; without the card nothing runs on these files (a
    system on another data dir may answer on 8004: it is not ours). On a shared database
    (``SK_DATABASE_URL``: compose, Kubernetes) there is no card: the configured reporting
    port is asked."""
    card = read_instance(data_dir)
    if card is not None:
        url = card.url("reporting")
        return url if _answers(url) else None
    if common.database_url or os.environ.get("SK_REPORTING_DATABASE_URL"):
        url = service_url("reporting", data_dir)
        return url if _answers(url) else None
    return None


async def _replay(data_dir: Path | None, partitions: int | None, console: Console) -> None:
    from services.reporting.bootstrap import bootstrap
    from services.reporting.config import ReportingSettings
    from services.reporting.handlers.replay import replay

    overrides = {"data_dir": data_dir} if data_dir else {}
    settings, common = ReportingSettings(**overrides), CommonSettings(**overrides)
    logs = producer_logs(common)
    total = sum([await log.count() for log in logs])
    parts = partitions or max(1, -(-total // 2_000_000))  # about 2 million events (1 GB) a pass
    runtime = bootstrap(settings)
    try:
        await runtime.init_db()
        columns = (TextColumn("replaying"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn())
        with Progress(*columns, console=console) as bar:
            task = bar.add_task("events", total=total * parts)
            result = await replay(
                runtime.engine, logs, runtime.deps.tz, runtime.deps.costs,
                progress=lambda n: bar.advance(task, n), partitions=parts,
            )
    finally:
        await runtime.close()
    table = Table(title="reporting replay")
    for name in ("measure", "value"):
        table.add_column(name)
    seconds = result.fold_seconds + result.write_seconds + result.derive_seconds
    for name, value in (("events read", result.events_read), ("events applied", result.events_applied),
                        ("events refused (invalid)", result.events_invalid), ("visits", result.visits),
                        ("questions", result.questions), ("audit entries", result.audit_entries),
                        ("passes", parts),
                        ("seconds", f"{seconds:.1f}"),
                        ("events per second", f"{result.events_read / seconds:,.0f}" if seconds else "-")):
        table.add_row(name, str(value))
    console.print(table)


def register(app: typer.Typer) -> None:
    @app.command()
    def replay(
        target: Annotated[str, typer.Argument(help="What to rebuild: reporting")],
        data_dir: DataDir = None,
        partitions: Annotated[int | None, typer.Option(min=1, help="Fold in this many passes (memory)", show_default="by size: one per 2 million events")] = None,
        force: Annotated[bool, typer.Option(help="Replay even though reporting answers (the system runs)")] = False,
    ) -> None:
        """Rebuild every reporting table from the event logs (stop the system first: a
        system running on --data-dir is found by its ports.json)."""
        if target != "reporting":
            typer.echo(f"cannot replay {target!r}: only 'reporting'", err=True)
            raise typer.Exit(2)
        where = resolve_data_dir(data_dir)
        common = CommonSettings(data_dir=where)
        url = None if force else running_reporting(where, common)
        if url is not None:
            typer.echo(
                f"reporting answers on {url}: stop the system before a replay "
                "(its consumer would wait on the replay's transaction), or pass --force.",
                err=True,
            )
            raise typer.Exit(2)
        console = Console()
        console.print("Replaying the event logs into the reporting store; the system should be stopped.")
        asyncio.run(_replay(data_dir, partitions, console))

    @app.command("reporting-bi-role")
    def bi_role(
        role: Annotated[str, typer.Option(help="Name of the read-only role")] = "servicekontor_bi",
        password_env: Annotated[str, typer.Option(help="Environment variable holding its password")] = "SK_BI_PASSWORD",
        print_sql: Annotated[bool, typer.Option(help="Print the SQL instead of running it")] = False,
        admin_url: Annotated[str | None, typer.Option(envvar="SK_ADMIN_DATABASE_URL", help="A login with CREATEROLE for the role itself", show_default="SK_ADMIN_DATABASE_URL, else the reporting service's own")] = None,
    ) -> None:
        """PostgreSQL: create or update the read-only role BI tools log in with."""
        from services.reporting.adapters.bi_role import bi_role_statements

        password = os.environ.get(password_env)
        if print_sql:
            for statement in bi_role_statements(role, password and "<password>", "<database>"):
                typer.echo(statement + ";")
            return
        asyncio.run(_create_role(role, password, admin_url))


async def _create_role(role: str, password: str | None, admin_url: str | None) -> None:
    from services.reporting.adapters.bi_role import create_bi_role
    from services.reporting.bootstrap import bootstrap
    from shared.db import create_engine, is_sqlite

    runtime = bootstrap()
    try:
        if is_sqlite(str(runtime.engine.url)):
            typer.echo("the reporting store is SQLite: BI tools read the file (read-only) instead", err=True)
            raise typer.Exit(2)
        await runtime.init_db()
        admin = create_engine(admin_url) if admin_url else None
        await create_bi_role(runtime.engine, role, password, admin)
        if admin is not None:
            await admin.dispose()
        typer.echo(f"role {role} can now read the reporting schema (read only)")
    finally:
        await runtime.close()
