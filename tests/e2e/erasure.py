"""The erasure check both end-to-end systems share (embedded SQLite in ``test_system``,
Kafka + PostgreSQL in ``test_distributed``).

A visitor's identity number may exist in our stores, topics and logs only sealed, as
``pd1:<visit_id>:<nonce>:<ciphertext>`` (``shared/vault.py``); once the visit is erased
(its data key destroyed) no seal may open any more. Each system supplies its places as
``(name, content)`` pairs; ``scan`` looks through them for the number in every form a
person or a program writes it, and collects the seals.
"""

from __future__ import annotations

import re
import subprocess
import sys
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import httpx

# A test identity number (valid check digit, born 1981-12-18), and its other spellings.
PIN = "19811218-9876"
PIN12 = PIN.replace("-", "")
SEALED = re.compile(r"pd1:[0-9a-f-]{36}:[A-Za-z0-9_-]+:[A-Za-z0-9_-]+")
ERASE_ROUTE = "/v1/visits/{visit_id}/personal-data"


def plain_forms(pin12: str = PIN12) -> tuple[str, ...]:
    """12 digits, 10 digits, and both with the hyphen (``YYYYMMDD-NNNC``, ``YYMMDD-NNNC``)."""
    ten = pin12[2:]
    return pin12, ten, f"{pin12[:8]}-{pin12[8:]}", f"{ten[:6]}-{ten[6:]}"


@dataclass
class Findings:
    places: int = 0
    plain: dict[str, set[str]] = field(default_factory=dict)  # place -> forms found there
    sealed: dict[str, set[str]] = field(default_factory=dict)  # place -> seals found there

    @property
    def seals(self) -> set[str]:
        return set().union(*self.sealed.values()) if self.sealed else set()


def scan(places: Iterable[tuple[str, str | bytes]], pin12: str = PIN12) -> Findings:
    """Where the number stands in plain text, and which seals each place holds."""
    findings = Findings()
    forms = plain_forms(pin12)
    for name, content in places:
        findings.places += 1
        text = content.decode("latin-1") if isinstance(content, bytes) else content
        found = {form for form in forms if form in text}
        if found:
            findings.plain[name] = found
        seals = set(SEALED.findall(text))
        if seals:
            findings.sealed[name] = seals
    return findings


def files_under(*roots: Path) -> Iterator[tuple[str, bytes]]:
    """Every file the processes wrote: databases (with their WAL), logs, anything else."""
    for root in roots:
        for path in sorted(root.rglob("*")) if root.is_dir() else [root]:
            if path.is_file():
                yield str(path), path.read_bytes()


async def open_seals(vault_url: str, master_key_file: Path, seals: Iterable[str]) -> dict[str, str | None]:
    """Each seal opened with the installation's vault: the plain text, or None when the
    visit's data key is gone."""
    from shared.db import create_engine
    from shared.vault import Vault

    assert master_key_file.exists(), f"no master key at {master_key_file}"
    vault = Vault(create_engine(vault_url, schema="vault"), master_key_file.read_bytes(), schema="vault")
    try:
        return {seal: await vault.decrypt(seal) for seal in seals}
    finally:
        await vault.engine.dispose()


def assert_only_sealed(findings: Findings, visit_id: str) -> None:
    assert findings.places, "nothing was searched"
    assert not findings.plain, f"the identity number in plain text: {findings.plain}"
    strangers = {s for s in findings.seals if s.split(":")[1] != visit_id}
    assert not strangers, f"seals of other visits: {strangers}"


def erase(intake_url: str, visit_id: str, admin: dict[str, str], env: dict[str, str] | None,
          data_dir: Path | None = None, via: str = "api") -> str:
    """Erase the visit's personal data as an operator would: the admin endpoint (``via``
    "api", when the intake service has it), else ``servicekontor erase`` with the services'
    settings. Answers which way it went."""
    paths = httpx.get(f"{intake_url}/openapi.json", timeout=10).json().get("paths", {})
    if via == "api" and "delete" in paths.get(ERASE_ROUTE, {}):
        response = httpx.delete(intake_url + ERASE_ROUTE.format(visit_id=visit_id), headers=admin, timeout=30)
        assert response.status_code in (200, 202, 204), response.text
        assert not response.content or response.json().get("key_destroyed", True), response.text
        return f"DELETE {ERASE_ROUTE}"
    args = [sys.executable, "-m", "servicekontor.cli", "erase", visit_id, "--actor", "test-admin"]
    if data_dir is not None:
        args += ["--data-dir", str(data_dir)]
    erased = subprocess.run(args, capture_output=True, text=True, timeout=120, check=False, env=env)
    assert erased.returncode == 0 and "data key destroyed" in erased.stdout, erased.stdout + erased.stderr[-2000:]
    return "servicekontor erase"
