"""Routing on its real SQLite store: a recorded question gets a decision with a destination
from the office registry; a handler's override goes through the API; overrides come back
out as training examples in the corpus format."""

from __future__ import annotations

import asyncio
import json

import pytest
from typer.testing import CliRunner

from servicekontor.cli import app
from services.routing.adapters.corpus import parse_example
from services.routing.bootstrap import bootstrap
from services.routing.config import RoutingSettings
from shared import topics
from shared.catalog import load_catalog
from shared.tracking import Checkpoint
from tests.factories import envelope, question_recorded
from tests.helpers import api_client


@pytest.fixture
async def routing(tmp_path):
    runtime = bootstrap(RoutingSettings(data_dir=tmp_path))
    await runtime.init_db()
    async with api_client(runtime) as client:
        client.runtime, client.data_dir = runtime, tmp_path
        yield client
    await runtime.close()


async def record(client, text: str, office_id: str, position: int = 1) -> str:
    event = question_recorded(text=text, office_id=office_id, personal_identity_number="198112189876")
    await client.runtime.consumers[0].handle(envelope(event), Checkpoint(topics.INTAKE, 0, position))
    return event.question_id


async def test_a_complex_question_gets_a_destination_from_the_office_registry(routing):
    qid = await record(routing, "Jag vill ansöka om id-kort", "ostersund")
    body = (await routing.get(f"/v1/questions/{qid}/decision")).json()
    assert (body["level"], body["agency"], body["case_type"]) == ("complex", "skatteverket", "id_kort")
    assert body["destination"] == "agency_desk" and "Östersund" in body["destination_reason"]
    assert body["routed_to_agency"] is True and body["model_version"].startswith("rules-")


async def test_an_unknown_office_gets_the_agency_system_and_a_reason(routing):
    qid = await record(routing, "Mitt pass är stulet", "atlantis")
    body = (await routing.get(f"/v1/questions/{qid}/decision")).json()
    assert body["destination"] == "agency_system" and "unknown" in body["destination_reason"]


async def test_an_override_through_the_api_is_exported_as_a_training_example(routing):
    qid = await record(routing, "Hur ansöker jag om bostadsbidrag? Ring 070-123 45 67", "stockholm-rinkeby")
    response = await routing.post(
        f"/v1/questions/{qid}/override",
        json={"level": "complex", "agency": "migrationsverket", "case_type": "uppehallstillstand", "reason": "asked about a permit", "handler": "h-7"},
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["overridden"] and body["destination"] == "agency_desk" and body["routed_to_agency"]

    out = routing.data_dir / "overrides.jsonl"
    args = ["export-overrides", "--data-dir", str(routing.data_dir), "--out", str(out)]
    result = await asyncio.to_thread(CliRunner().invoke, app, args)  # the command runs its own loop
    assert result.exit_code == 0, result.output
    lines = out.read_text(encoding="utf-8").splitlines()
    assert len(lines) == 1
    example = parse_example(lines[0], load_catalog(), "overrides.jsonl:1")
    assert (example.level, example.agency, example.case_type) == ("complex", "migrationsverket", "uppehallstillstand")
    assert (example.split, example.source, example.id) == ("train", "override", f"override-{qid}")
    assert "070" not in example.text and "asked about a permit" in json.loads(lines[0])["note"]


async def test_an_override_with_an_unknown_code_is_a_4xx_not_a_500(routing):
    qid = await record(routing, "Hur ansöker jag om bostadsbidrag?", "kiruna")
    response = await routing.post(f"/v1/questions/{qid}/override", json={"level": "complex", "agency": "riksbanken", "reason": "r", "handler": "h"})
    assert response.status_code == 422 and response.json()["error"]["code"]
