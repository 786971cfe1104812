"""Read the office-cost file (YAML or JSON; JSON is YAML too)."""

from __future__ import annotations

from pathlib import Path

import yaml

from services.reporting.domain.costs import CostConfig, parse_cost_config
from shared.catalog import Catalog
from shared.errors import InvalidInput

DATA = Path(__file__).resolve().parent / "data"
SAMPLE = DATA / "costs.sample.yaml"
# The sources' costs (447 MSEK in 2015, split as they describe): the embedded default.
SHIPPED = DATA / "costs.sources-2015.yaml"


def costs_file(configured: Path | None, shipped: bool, embedded: bool) -> Path | None:
    """The configured file; else, on the embedded default, the shipped one (so the cost
    card is not empty on first start); else None (no cost allocation)."""
    if configured is not None:
        return configured
    return SHIPPED if shipped and embedded else None


def load_cost_config(path: Path | None, catalog: Catalog) -> CostConfig | None:
    """None when no file is configured; a missing or malformed file is an error."""
    if path is None:
        return None
    try:
        raw = yaml.safe_load(Path(path).read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as error:
        raise InvalidInput(f"cannot read the cost file {path}: {error}") from error
    return parse_cost_config(raw, catalog)
