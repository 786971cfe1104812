"""One list of agency abbreviations (the catalog's ``short``): the dashboard's labels and
the simulated agencies' case references read it, so they cannot disagree again (they did:
``MV`` on the dashboard, ``MIG`` in the simulator)."""

from __future__ import annotations

import json

from services.agency_simulator.store import reference_for
from services.reporting.entrypoints.dashboard import _catalog_json
from shared.catalog import load_catalog
from shared.offices import load_offices


def test_every_agency_has_one_distinct_abbreviation():
    catalog = load_catalog()
    assert set(catalog.agency_short) == set(catalog.agency_names)
    assert len(set(catalog.agency_short.values())) == len(catalog.agency_short)


def test_the_dashboard_and_the_simulator_use_the_catalogs_abbreviations():
    catalog = load_catalog()
    page_data = json.loads(_catalog_json(catalog, load_offices()))
    for agency, short in catalog.agency_short.items():
        assert page_data["short"][agency] == short
        assert reference_for(agency, 2025, 42) == f"{short}-2025-000042"
    assert catalog.agency_short["migrationsverket"] == "MV"
