"""Erasure is final for the visit (docs/security.md): after ``DELETE …/personal-data`` a
question with an identity number on that visit is refused with a JSON 409, before a data
key could be made for it again, so the vault holds no key for the visit and nothing new
can be opened; a question without one is still taken, its text masked as always. Also
when the erasure lands between the question's check and its commit."""

from __future__ import annotations

import json
import sqlite3
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest

from services.intake.bootstrap import build_office_day
from services.intake.domain.commands import RecordQuestion, RegisterVisit
from services.intake.domain.events import PersonalDataErased, VisitRegistered
from services.intake.domain.model import PersonalDataErasedError, Visit
from services.intake.handlers import queue, visits
from services.intake.unit_of_work import FakeIntakeUnitOfWork
from shared.catalog import load_catalog
from shared.vault import InMemoryVault, is_token
from tests.helpers import api_client
from tests.integration import test_office_day_api as office_day_api

PIN = "19811218-9876"
OTHER_PIN = "19121212-1212"


# Intake on SQLite (and a client of its API): the office-day API tests' fixtures.
runtime = office_day_api.runtime


def questions_of(runtime, visit_id: str) -> list[dict]:
    with sqlite3.connect(runtime.settings.data_dir / "intake.db") as db:
        rows = db.execute("SELECT event_type, payload FROM event_store WHERE stream_id = ?", (visit_id,)).fetchall()
    return [json.loads(p) for t, p in rows if t == "intake.QuestionRecorded"]


def keys_of(runtime, visit_id: str) -> int:
    with sqlite3.connect(runtime.settings.data_dir / "vault.db") as db:
        return db.execute("SELECT COUNT(*) FROM vault_visit_keys WHERE visit_id = ?", (visit_id,)).fetchone()[0]


async def test_after_erasure_an_identity_number_is_refused_and_no_key_is_made_again(runtime):
    vault = runtime.deps.vault
    async with api_client(runtime, "desk") as desk, api_client(runtime, "admin") as admin:
        visit_id = (await desk.post("/v1/visits", json={"office_id": "kiruna", "channel": "desk"})).json()["visit_id"]
        first = await desk.post(f"/v1/visits/{visit_id}/questions",
                                json={"text": "Id-kort", "agency": "polisen", "personal_identity_number": PIN})
        assert first.status_code == 201 and keys_of(runtime, visit_id) == 1
        assert (await admin.delete(f"/v1/visits/{visit_id}/personal-data")).status_code == 200
        assert keys_of(runtime, visit_id) == 0

        again = await desk.post(f"/v1/visits/{visit_id}/questions",
                                json={"text": "Pass", "agency": "polisen", "personal_identity_number": OTHER_PIN})
        assert again.status_code == 409, again.text
        error = again.json()["error"]
        assert error["code"] == "personal_data_erased" and "erased" in error["message"]
        assert error["details"]["erased_at"]
        assert keys_of(runtime, visit_id) == 0  # no fresh data key
        recorded = questions_of(runtime, visit_id)
        assert len(recorded) == 1  # nothing stored for the refused question
        seals = [q["personal_identity_number"] for q in recorded if q["personal_identity_number"]]
        assert seals and all(is_token(s) for s in seals)
        assert [await vault.decrypt(s) for s in seals] == [None]  # nothing readable, old or new

        # Without the number the question is taken; its text is masked as on every visit.
        plain = await desk.post(f"/v1/visits/{visit_id}/questions",
                                json={"text": f"Pass, mitt personnummer är {OTHER_PIN}", "agency": "polisen"})
        assert plain.status_code == 201, plain.text
        stored = questions_of(runtime, visit_id)[-1]
        assert stored["personal_identity_number"] is None and stored["person_pseudonym"] is None
        assert "1212" not in stored["text"] and keys_of(runtime, visit_id) == 0
        visit = (await desk.get(f"/v1/visits/{visit_id}")).json()
    assert [q["has_personal_identity_number"] for q in visit["questions"]] == [False, False]


async def test_a_visit_erased_before_it_had_any_number_takes_none_afterwards(runtime):
    async with api_client(runtime, "desk") as desk, api_client(runtime, "admin") as admin:
        visit_id = (await desk.post("/v1/visits", json={"office_id": "kiruna", "channel": "desk"})).json()["visit_id"]
        erased = await admin.delete(f"/v1/visits/{visit_id}/personal-data")
        assert erased.json()["key_destroyed"] is False
        refused = await desk.post(f"/v1/visits/{visit_id}/questions", json={"text": "Id-kort", "personal_identity_number": PIN})
    assert refused.status_code == 409 and refused.json()["error"]["code"] == "personal_data_erased"
    assert keys_of(runtime, visit_id) == 0 and questions_of(runtime, visit_id) == []


# -- the rule in the domain, and the race with an erasure ------------------------------------
def registered(visit_id: str = "v-1") -> VisitRegistered:
    return VisitRegistered(
        visit_id=visit_id, office_id="kiruna", channel="kiosk", agency=None, ticket="A001",
        service_day="2026-12-02", registered_at=datetime(2026, 12, 2, 9, tzinfo=UTC),
    )


def test_the_visit_knows_it_was_erased_and_takes_no_identity_number_again():
    first = datetime(2026, 12, 2, 10, tzinfo=UTC)
    visit = Visit.rehydrate("v-1", [
        registered(),
        PersonalDataErased(visit_id="v-1", actor="anna", erased_at=first),
        PersonalDataErased(visit_id="v-1", actor="retention", erased_at=datetime(2026, 12, 3, tzinfo=UTC)),
    ])
    assert visit.state.erased_at == first
    visit.check_takes_question(personal_identity_number=False)
    with pytest.raises(PersonalDataErasedError) as refused:
        visit.check_takes_question(personal_identity_number=True)
    assert refused.value.code == "personal_data_erased"
    assert Visit.rehydrate("v-2", [registered("v-2")]).state.erased_at is None


class ErasingVault(InMemoryVault):
    """A vault whose first seal is overtaken by an erasure of the visit: the erasure commits
    after the question's check and before the question's own commit."""

    def __init__(self, uow: FakeIntakeUnitOfWork) -> None:
        super().__init__()
        self.uow = uow
        self.overtaken = False

    async def encrypt(self, visit_id: str, plaintext: str) -> str:
        sealed = await super().encrypt(visit_id, plaintext)  # makes the visit's key
        if not self.overtaken:
            self.overtaken = True
            await visits.erase_personal_data(visit_id, "anna", self.uow.fresh(), InMemoryVault())
        return sealed


async def test_an_erasure_that_overtakes_a_question_wins_and_its_fresh_key_goes_too():
    uow = FakeIntakeUnitOfWork()
    day = build_office_day(ZoneInfo("Europe/Stockholm"))
    day.feed.follow(uow.read_log)
    visit = await queue.register_visit(RegisterVisit("kiruna", "kiosk"), uow.fresh(), load_catalog(), day)
    vault = ErasingVault(uow)
    with pytest.raises(PersonalDataErasedError):
        await visits.record_question(RecordQuestion(visit.id, "Id-kort", None, None, PIN), uow.fresh(), load_catalog(), vault)
    assert vault.keys == {}  # the key the seal made was destroyed again
    assert uow.events.of_type("intake.QuestionRecorded") == []
    assert [e.event_type for e in uow.events.log][-1] == "intake.PersonalDataErased"
