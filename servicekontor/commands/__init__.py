"""Command groups beside the core ones in ``servicekontor.cli``. Each module here has
``register(app)``, which adds its commands to the ``servicekontor`` typer app (but
``_common``, what the commands share)."""

from __future__ import annotations

import pkgutil
from importlib import import_module

import typer


def register_all(app: typer.Typer) -> None:
    for module in pkgutil.iter_modules(__path__):
        if not module.name.startswith("_"):  # _common: shared options, no commands
            import_module(f"{__name__}.{module.name}").register(app)
