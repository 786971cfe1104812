"""The simulator's case references: one prefix per agency, the year, six digits."""

from __future__ import annotations

import re

from services.agency_simulator.store import PREFIXES, reference_for
from shared.catalog import load_catalog


def test_every_catalog_agency_has_its_own_prefix():
    assert set(PREFIXES) == set(load_catalog().agency_names)
    assert len(set(PREFIXES.values())) == len(PREFIXES)


def test_a_reference_is_prefix_year_and_six_digits():
    assert reference_for("skatteverket", 2025, 42) == "SKV-2025-000042"
    assert re.fullmatch(r"KFM-2031-\d{6}", reference_for("kronofogden", 2031, 999_999))
