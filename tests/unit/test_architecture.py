"""The architecture's rules, checked on every run by import-linter (``.importlinter``):
the services never import each other, ``shared/`` imports no service, and inside each
service entrypoints → handlers → domain, with adapters below the handlers."""

from __future__ import annotations

import ast
import os
from pathlib import Path

from importlinter.cli import lint_imports

ROOT = Path(__file__).resolve().parents[2]
SERVICES = ("intake", "routing", "agency_gateway", "reporting", "agency_simulator")


def test_import_linter_contracts_are_kept():
    cwd = os.getcwd()
    os.chdir(ROOT)
    try:
        assert lint_imports(config_filename=str(ROOT / ".importlinter"), no_cache=True) == 0
    finally:
        os.chdir(cwd)


def _imported_modules(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(), filename=str(path))
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
        elif isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
    return found


def test_no_file_of_one_service_names_another_service():
    """The plain reading of the rule, lazy imports inside functions included."""
    crossing = []
    for own in SERVICES:
        for path in (ROOT / "services" / own).rglob("*.py"):
            for module in _imported_modules(path):
                parts = module.split(".")
                if parts[0] == "services" and len(parts) > 1 and parts[1] != own:
                    crossing.append(f"{path.relative_to(ROOT)} imports {module}")
    assert crossing == []
