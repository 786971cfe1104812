"""``servicekontor probe``: a readiness check for containers, with a bearer token.

``/ready`` and ``/metrics`` need scope ``ops:read`` (role ``monitor``), so a plain HTTP
probe gets 401. This command asks ``http://127.0.0.1:<port><path>`` with
``Authorization: Bearer <token>`` and answers with its exit code: 0 on 200, 1 otherwise
(not ready, refused token, no answer), 2 when it has no token to send.

The token: ``SK_PROBE_TOKEN`` (a long-lived ``monitor`` token, e.g. from a Kubernetes
Secret). Without it, in development only, the probe signs a ``monitor`` token itself with
the installation's private key ``<SK_DATA_DIR>/auth/private.pem`` (the key the services
verify with when no ``SK_AUTH_PUBLIC_KEY`` is set). The minted token is sent once and
never printed. In production there is no private key on the pod: no token, exit 2.
"""

from __future__ import annotations

from typing import Annotated

import httpx
import typer

from servicekontor.commands._common import DataDir, service_url
from shared.auth import TokenIssuer, auth_dir
from shared.settings import CommonSettings

PROBE_ROLE = "monitor"
# A minted token serves one request: it is valid for a minute only.
MINTED_TOKEN_SECONDS = 60
BODY_SHOWN = 300  # characters of a failed answer's body, for `docker inspect` / events


class NoToken(Exception):
    """The probe has no token to send (a configuration error, exit 2)."""


def probe_token(settings: CommonSettings) -> str:
    """``SK_PROBE_TOKEN``, else (development) a fresh ``monitor`` token signed with the
    installation's private key. Never creates a key: a key made here would not be the one
    the service verifies with."""
    if settings.probe_token and settings.probe_token.strip():
        # A Secret made with --from-file keeps the file's final newline; a header cannot.
        return settings.probe_token.strip()
    if settings.environment == "production":
        raise NoToken(
            "SK_PROBE_TOKEN is not set: production has no private key to sign with. Set it to "
            "a monitor token (servicekontor token monitor --key-file private.pem --days 365)."
        )
    private = auth_dir(settings.data_dir) / "private.pem"
    if not private.is_file():
        raise FileNotFoundError(
            f"no signing key at {private} yet (the service creates it on its first start); "
            "or set SK_PROBE_TOKEN"
        )
    return TokenIssuer(private.read_bytes()).issue("probe", PROBE_ROLE, seconds=MINTED_TOKEN_SECONDS)


def check(
    url: str, token: str, timeout: float, transport: httpx.BaseTransport | None = None
) -> tuple[bool, str]:
    """GET ``url`` with the token: (answered 200, a line saying what happened)."""
    try:
        with httpx.Client(timeout=timeout, transport=transport, follow_redirects=False) as client:
            response = client.get(url, headers={"Authorization": f"Bearer {token}"})
    except httpx.HTTPError as error:
        return False, f"{url}: no answer ({type(error).__name__}: {error})"
    line = f"{url}: {response.status_code}"
    if response.status_code == 200:
        return True, line
    body = " ".join(response.text.split())[:BODY_SHOWN]
    if response.status_code in (401, 403):
        body += " (the token was refused: is SK_PROBE_TOKEN a monitor token signed by the key the service verifies with?)"
    return False, f"{line} {body}".rstrip()


SERVICES = ("intake", "routing", "agency_gateway", "reporting")


def register(app: typer.Typer) -> None:
    @app.command()
    def probe(
        service: Annotated[
            str, typer.Option(help="The service to ask, when --port is not given: " + " | ".join(SERVICES))
        ] = "intake",
        port: Annotated[
            int | None,
            typer.Option(
                min=1, max=65535, help="The port on 127.0.0.1 to ask",
                show_default="the service's, from <data-dir>/ports.json, else SK_<SERVICE>_PORT, else 8001-8004",
            ),
        ] = None,
        path: Annotated[str, typer.Option(help="What to ask (needs scope ops:read)")] = "/ready",
        timeout: Annotated[
            float, typer.Option(min=0.1, max=60, help="Seconds to wait for the answer")
        ] = 3.0,
        data_dir: DataDir = None,
    ) -> None:
        """Exit 0 if GET http://127.0.0.1:PORT/PATH answers 200 (with SK_PROBE_TOKEN, or in
        development a monitor token signed with <data-dir>/auth/private.pem), else 1."""
        if not path.startswith("/"):
            typer.echo(f"--path must start with '/': {path!r}", err=True)
            raise typer.Exit(2)
        if service not in SERVICES:
            typer.echo(f"unknown service {service!r}; choose one of {', '.join(SERVICES)}", err=True)
            raise typer.Exit(2)
        settings = CommonSettings(**({"data_dir": data_dir} if data_dir is not None else {}))
        try:
            token = probe_token(settings)
        except NoToken as error:
            typer.echo(str(error), err=True)
            raise typer.Exit(2) from error
        except (OSError, ValueError) as error:  # no key yet, or not a readable key
            typer.echo(f"probe: {error}", err=True)
            raise typer.Exit(1) from error
        if port is None:  # the running system's card says where, else the configured port
            port = int(service_url(service, settings.data_dir).rsplit(":", 1)[1])
        ok, line = check(f"http://127.0.0.1:{port}{path}", token, timeout)
        typer.echo(line, err=not ok)
        raise typer.Exit(0 if ok else 1)
