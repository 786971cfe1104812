"""Credentials: ``servicekontor token <role>`` issues a bearer token."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from servicekontor.commands._common import DataDir, resolve_data_dir
from shared.auth import EMBEDDED_TOKEN_DAYS, ROLE_SCOPES, TokenIssuer, auth_dir
from shared.catalog import load_catalog


class NoInstallation(Exception):
    """No key to sign with: a key made here would not be the one the system verifies with."""


def private_key(data_dir: Path | None, key_file: Path | None) -> bytes:
    """The signing key: ``--key-file``, else the installation's ``<data_dir>/auth/private.pem``
    (written by the first ``servicekontor up`` or ``migrate``). Never made here."""
    if key_file is not None:
        return key_file.read_bytes()
    where = resolve_data_dir(data_dir)
    private = auth_dir(where) / "private.pem"
    if not private.is_file():
        raise NoInstallation(
            f"no installation in {where} (no {private}): start it once with "
            f"`servicekontor up --data-dir {where}`, name its data directory with --data-dir, "
            "or sign with --key-file"
        )
    return private.read_bytes()


def register(app: typer.Typer) -> None:
    @app.command()
    def token(
        role: Annotated[str, typer.Argument(help=f"One of: {', '.join(ROLE_SCOPES)}")],
        subject: Annotated[str | None, typer.Option(help="Who holds it (recorded as the actor in audit events)", show_default="cli-ROLE")] = None,
        agency: Annotated[str | None, typer.Option(help="For role agency: the agency's code", show_default="none")] = None,
        days: Annotated[int, typer.Option(min=1, max=3650, help="Valid for this many days")] = EMBEDDED_TOKEN_DAYS,
        data_dir: DataDir = None,
        key_file: Annotated[Path | None, typer.Option(help="Ed25519 private key (PEM) to sign with", show_default="<data-dir>/auth/private.pem")] = None,
    ) -> None:
        """Print a bearer token for ROLE (Authorization: Bearer <token>), signed with the
        installation's key (or --key-file). Without either, it refuses (exit 2)."""
        if role not in ROLE_SCOPES:
            typer.echo(f"unknown role {role!r}; roles: {', '.join(ROLE_SCOPES)}", err=True)
            raise typer.Exit(2)
        if (role == "agency") != bool(agency) or (agency and not load_catalog().is_agency(agency)):
            typer.echo("role agency needs --agency <code> (and only it); codes: "
                       + ", ".join(load_catalog().agency_names), err=True)
            raise typer.Exit(2)
        try:
            issuer = TokenIssuer(private_key(data_dir, key_file))
        except NoInstallation as error:
            typer.echo(str(error), err=True)
            raise typer.Exit(2) from error
        except (OSError, ValueError, TypeError) as error:  # unreadable, or not an Ed25519 PEM key
            typer.echo(f"cannot sign with {key_file or 'the installation key'}: {error}", err=True)
            raise typer.Exit(2) from error
        typer.echo(issuer.issue(subject or f"cli-{role}", role, agency, days=days))
