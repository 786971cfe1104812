"""Read the office-cost file (YAML or JSON; JSON is YAML too)."""

from __future__ import annotations

from pathlib import Path

import yaml

from services.reporting.domain.costs import CostConfig, parse_cost_config
from shared.catalog import Catalog
from shared.errors import InvalidInput

SAMPLE = Path(__file__).resolve().parent.parent / "costs.sample.yaml"


def load_cost_config(path: Path | None, catalog: Catalog) -> CostConfig | None:
    """None when no file is configured; a missing or malformed file is an error."""
    if path is None:
        return None
    try:
        raw = yaml.safe_load(Path(path).read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as error:
        raise InvalidInput(f"cannot read the cost file {path}: {error}") from error
    return parse_cost_config(raw, catalog)
