"""Rule files shipped with routing. ``load_classifier`` builds the classifier from them."""

from __future__ import annotations

from functools import cache
from importlib import resources

import yaml

from services.routing.domain.classifier import Classifier, build_rules
from shared.catalog import load_catalog


@cache
def load_classifier() -> Classifier:
    raw = yaml.safe_load(resources.files(__name__).joinpath("rules.yaml").read_text())
    catalog = load_catalog()
    return Classifier(build_rules(raw, catalog), catalog)
