"""The JSON Schemas in docs/events/ are the code's: regenerate with
``python -m shared.contracts.schemas`` after changing a published event."""

from __future__ import annotations

import json

import jsonschema

from shared.contracts.intake import VisitRegistered
from shared.contracts.schemas import DEFAULT_OUT, published_events, rendered
from tests.factories import envelope, visit_registered


def test_the_schemas_in_docs_match_the_code():
    expected = rendered()
    on_disk = {p.name: p.read_text() for p in DEFAULT_OUT.glob("*.json")}
    assert sorted(on_disk) == sorted(expected), "run: python -m shared.contracts.schemas"
    stale = [name for name, text in expected.items() if on_disk[name] != text]
    assert stale == [], f"stale schemas {stale}: run python -m shared.contracts.schemas"


def test_every_published_event_has_a_schema_a_real_payload_satisfies():
    assert len(published_events()) >= 20
    schema = json.loads(rendered()[f"intake.VisitRegistered.v{VisitRegistered.schema_version}.json"])
    payload = envelope(visit_registered(channel="kiosk")).payload
    jsonschema.validate(payload, schema)
    bad = {**payload, "channel": "fax"}
    try:
        jsonschema.validate(bad, schema)
    except jsonschema.ValidationError:
        pass
    else:
        raise AssertionError("a channel outside the contract passed the schema")
