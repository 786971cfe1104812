"""What the commands share: one way to name a system (``--data-dir``), where its services
answer (``<data_dir>/ports.json``, written by ``servicekontor up``), and a bearer token
for the commands that call it (``--token``, or one minted from the data dir's key).

Not a command module: ``register_all`` skips modules whose name starts with ``_``.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated

import typer

from servicekontor.instance import read_instance
from shared.auth import TokenIssuer, auth_dir
from shared.settings import CommonSettings

DATA_DIR_DEFAULT = "SK_DATA_DIR, else ./data"
DataDir = Annotated[
    Path | None,
    typer.Option(
        "--data-dir",
        help="The system's data directory: its keys, credentials.json, ports.json (the ports a "
        "running `servicekontor up` listens on) and SQLite files",
        show_default=DATA_DIR_DEFAULT,
    ),
]
Token = Annotated[
    str | None,
    typer.Option(
        "--token",
        help="Send this bearer token instead of minting one from <data-dir>/auth/private.pem",
        show_default="a token of the command's role, minted for 60 seconds",
    ),
]
Host = Annotated[
    str | None,
    typer.Option(help="Where the system answers", show_default="from <data-dir>/ports.json, else SK_HOST, else 127.0.0.1"),
]

# The ports a service has when nothing else is said (SK_<SERVICE>_PORT overrides).
DEFAULT_PORTS = {"intake": 8001, "routing": 8002, "agency_gateway": 8003, "reporting": 8004, "agency_simulator": 8009}
MINTED_TOKEN_SECONDS = 60  # a minted token serves one command's requests


def port_option(service: str) -> object:
    """A ``--<service>-port`` option (as ``up`` spells it) for a command calling ``service``."""
    return typer.Option(
        f"--{service.replace('_', '-')}-port",
        min=1,
        max=65535,
        help=f"The port {service} answers on",
        show_default=f"from <data-dir>/ports.json, else SK_{service.upper()}_PORT, else {DEFAULT_PORTS[service]}",
    )


class CliError(Exception):
    """A one-line refusal: printed to stderr, exit ``code``."""

    def __init__(self, message: str, code: int = 2) -> None:
        super().__init__(message)
        self.code = code


def fail(error: CliError) -> typer.Exit:
    typer.echo(str(error), err=True)
    return typer.Exit(error.code)


def resolve_data_dir(data_dir: Path | None) -> Path:
    """``--data-dir``, else ``SK_DATA_DIR``, else ``./data``."""
    return data_dir if data_dir is not None else CommonSettings().data_dir


def reachable(host: str) -> str:
    """The host part of a URL that reaches a server listening on ``host``."""
    if host in ("0.0.0.0", ""):
        return "127.0.0.1"
    if host == "::":
        return "[::1]"
    return f"[{host}]" if ":" in host and not host.startswith("[") else host


def service_url(service: str, data_dir: Path, host: str | None = None, port: int | None = None) -> str:
    """Where ``service`` answers: ``host`` and ``port`` if given; else what the running
    system wrote to ``<data_dir>/ports.json``; else ``SK_HOST`` and ``SK_<SERVICE>_PORT``,
    else the defaults (127.0.0.1, 8001-8004, 8009)."""
    card = read_instance(data_dir)
    if port is None and card is not None:
        port = getattr(card, service)
        if port is None:
            raise CliError(f"the system in {data_dir} runs no {service} (see {data_dir / 'ports.json'})")
    if port is None:
        port = int(os.environ.get(f"SK_{service.upper()}_PORT") or DEFAULT_PORTS[service])
    if host is None:
        host = card.host if card is not None else CommonSettings().host
    return f"http://{reachable(host)}:{port}"


def where_from(data_dir: Path) -> str:
    """For an error message: how the address was found."""
    if read_instance(data_dir) is not None:
        return f"the ports in {data_dir / 'ports.json'}"
    return f"no running system's ports.json in {data_dir}: is `servicekontor up --data-dir {data_dir}` running?"


def bearer(data_dir: Path, role: str, subject: str, token: str | None = None) -> str:
    """``--token``, else a ``role`` token for ``subject`` signed with the installation's
    private key, valid ``MINTED_TOKEN_SECONDS`` (never printed). Never makes a key: one
    made here would not be the key the system verifies with."""
    if token is not None and token.strip():
        return token.strip()
    private = auth_dir(data_dir) / "private.pem"
    if not private.is_file():
        raise CliError(
            f"no signing key at {private}: name the system's data directory (--data-dir), "
            "or pass --token"
        )
    try:
        return TokenIssuer(private.read_bytes()).issue(subject, role, seconds=MINTED_TOKEN_SECONDS)
    except (OSError, ValueError) as error:
        raise CliError(f"cannot sign with {private}: {error}") from error
