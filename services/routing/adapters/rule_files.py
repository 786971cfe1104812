"""The rule files shipped with routing (``adapters/data/rules.yaml`` and
``destinations.yaml``), and ``load_classifier``, which builds the classifier from them,
the text model and the office registry (once per process)."""

from __future__ import annotations

from functools import cache
from importlib import resources

import yaml

from services.routing.domain.classifier import Classifier
from services.routing.domain.destination import DestinationPolicy, Router, build_policy
from services.routing.domain.rules import RuleSet, build_rules
from shared.catalog import Catalog, load_catalog
from shared.offices import load_offices


def _read(name: str) -> dict:
    data = resources.files("services.routing.adapters").joinpath("data", name)
    return yaml.safe_load(data.read_text(encoding="utf-8"))


def load_rules(catalog: Catalog | None = None) -> RuleSet:
    return build_rules(_read("rules.yaml"), catalog or load_catalog())


def load_policy(catalog: Catalog | None = None) -> DestinationPolicy:
    return build_policy(_read("destinations.yaml"), catalog or load_catalog())


@cache
def load_router() -> Router:
    catalog = load_catalog()
    return Router(load_policy(catalog), load_offices(), catalog)


@cache
def load_classifier() -> Classifier:
    """The classifier the service and the ``classify`` command use: ``.classify(text,
    agency, case_type, office_id=None)``."""
    from services.routing.adapters.model_store import load_text_model

    catalog = load_catalog()
    rules = load_rules(catalog)
    return Classifier(rules, catalog, load_text_model(catalog, rules), load_router())
