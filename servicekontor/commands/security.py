"""Credentials: ``servicekontor token <role>`` issues a bearer token."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from shared.auth import ROLE_SCOPES, TokenIssuer, auth_dir, ensure_keys
from shared.catalog import load_catalog
from shared.settings import CommonSettings


def private_key(data_dir: Path | None, key_file: Path | None) -> bytes:
    """The signing key: ``--key-file``, else the installation's ``<data_dir>/auth``
    (made on first use; on a distributed system keep it where tokens are issued only)."""
    if key_file is not None:
        return key_file.read_bytes()
    return ensure_keys(auth_dir(data_dir or CommonSettings().data_dir))[0]


def register(app: typer.Typer) -> None:
    @app.command()
    def token(
        role: Annotated[str, typer.Argument(help=f"One of: {', '.join(ROLE_SCOPES)}")],
        subject: Annotated[str | None, typer.Option(help="Who holds it (recorded as the actor in audit events)")] = None,
        agency: Annotated[str | None, typer.Option(help="For role agency: the agency's code")] = None,
        days: Annotated[int, typer.Option(min=1, max=3650, help="Valid for this many days")] = 30,
        data_dir: Annotated[Path | None, typer.Option(help="[SK_DATA_DIR, ./data]")] = None,
        key_file: Annotated[Path | None, typer.Option(help="Ed25519 private key (PEM) to sign with")] = None,
    ) -> None:
        """Print a bearer token for ROLE (Authorization: Bearer <token>)."""
        if role not in ROLE_SCOPES:
            typer.echo(f"unknown role {role!r}; roles: {', '.join(ROLE_SCOPES)}", err=True)
            raise typer.Exit(2)
        if (role == "agency") != bool(agency) or (agency and not load_catalog().is_agency(agency)):
            typer.echo("role agency needs --agency <code> (and only it); codes: "
                       + ", ".join(load_catalog().agency_names), err=True)
            raise typer.Exit(2)
        issuer = TokenIssuer(private_key(data_dir, key_file))
        typer.echo(issuer.issue(subject or f"cli-{role}", role, agency, days=days))
