"""The labelled evaluation sets under ``adapters/data/``: the development set
(``dev_set.jsonl``, for tuning rules and review thresholds) and the independent set
(``independent_eval.jsonl``, never trained or tuned on), checked against the catalog.
``domain/evaluation.py`` measures a classifier on them."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from services.routing.adapters.corpus import DATA_DIR, DEV_FILE, INDEPENDENT_FILE
from shared.catalog import LEVELS, Catalog

INDEPENDENT = DATA_DIR / INDEPENDENT_FILE
DEV = DATA_DIR / DEV_FILE


@dataclass(frozen=True)
class IndependentExample:
    id: str
    text: str
    level: str
    agency: str | None
    case_type: str | None
    lang: str
    style: str
    reason: str
    parts: tuple[dict[str, Any], ...] = ()


def load_dev(catalog: Catalog, path: Path = DEV) -> list[IndependentExample]:
    """The development set (the independent set's format), for tuning rules and review
    thresholds; never a training file."""
    return load_independent(catalog, path)


def load_independent(catalog: Catalog, path: Path = INDEPENDENT) -> list[IndependentExample]:
    """The independent set, checked against the catalog. Evaluation only: no training
    or tuning code reads it."""
    examples = []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if not line.strip():
            continue
        raw = json.loads(line)
        raw["parts"] = tuple(raw.get("parts", ()))
        example = IndependentExample(**raw)
        known = example.agency is None and example.case_type is None or catalog.is_case_type(example.agency, example.case_type)
        if not known or example.level not in LEVELS or not example.reason.strip():
            raise ValueError(f"{path.name}:{number}: unknown codes or level, or no reason")
        examples.append(example)
    return examples
