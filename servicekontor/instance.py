"""The running system's address card: ``<data_dir>/ports.json``.

``servicekontor up`` writes it once every server listens (with the ports actually bound,
so ``--intake-port 0`` works) and removes it on a clean stop. The commands that call the
system (``demo``, ``probe``, ``replay``, ``gateway …``) read it, so ``--data-dir`` is the
one way to name a system. A card left by a killed process is recognised by its ``pid``.
"""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass
from pathlib import Path

FILE_NAME = "ports.json"


@dataclass(frozen=True)
class Instance:
    host: str
    intake: int
    routing: int
    agency_gateway: int
    reporting: int
    agency_simulator: int | None
    pid: int

    def url(self, service: str) -> str:
        port = getattr(self, service)
        if port is None:
            raise LookupError(f"{service} is not running in this system")
        host = "127.0.0.1" if self.host in ("0.0.0.0", "") else self.host
        return f"http://{host}:{port}"


def write_instance(data_dir: Path, instance: Instance) -> Path:
    """Atomically (write, then rename), readable by the owner only."""
    data_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
    path = data_dir / FILE_NAME
    tmp = path.with_suffix(".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as out:
        json.dump(asdict(instance), out)
    os.replace(tmp, path)
    return path


def remove_instance(data_dir: Path, pid: int | None = None) -> None:
    """Remove the card (only ours, when ``pid`` is given)."""
    found = read_instance(data_dir, alive_only=False)
    if found is not None and (pid is None or found.pid == pid):
        (data_dir / FILE_NAME).unlink(missing_ok=True)


def read_instance(data_dir: Path, alive_only: bool = True) -> Instance | None:
    """The card, or None when there is none (or, with ``alive_only``, its process is gone)."""
    try:
        instance = Instance(**json.loads((data_dir / FILE_NAME).read_text()))
    except (OSError, ValueError, TypeError):
        return None
    if alive_only and not _alive(instance.pid):
        return None
    return instance


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
