"""What of a booking the agency gets (issue 16): minimised as cases are, and where a
meeting change goes (services/agency_gateway/domain)."""

from __future__ import annotations

from services.agency_gateway.domain.minimisation import CASE_FIELDS, minimise_meeting
from services.agency_gateway.handlers.meetings import delivery_id, meeting_of
from tests.factories import booking_made

ALL = tuple(CASE_FIELDS)


def test_the_identity_number_goes_only_to_an_agency_allowed_it_and_then_no_name_or_phone():
    meeting = meeting_of(booking_made(agency="forsakringskassan"))
    body = minimise_meeting(meeting, "forsakringskassan", ALL)
    assert body["personal_identity_number"] == "198112189876"
    assert "contact_name" not in body and "contact_phone" not in body
    assert {"meeting_id", "case_type", "kind", "office_id", "slot_start", "length_minutes"} <= set(body)


def test_without_the_identity_number_the_agency_gets_the_name_and_phone():
    meeting = meeting_of(booking_made(agency="forsakringskassan"))
    no_pin = minimise_meeting(meeting, "forsakringskassan", [f for f in ALL if f != "personal_identity_number"])
    assert "personal_identity_number" not in no_pin
    assert (no_pin["contact_name"], no_pin["contact_phone"]) == ("Ada Andersson", "0701234567")
    other = minimise_meeting(meeting, "skatteverket", ALL)  # never another agency's number
    assert "personal_identity_number" not in other
    none_given = minimise_meeting(meeting_of(booking_made(personal_identity_number=None, contact_name=None,
                                                          contact_phone=None, question_id=None)), "forsakringskassan", ALL)
    assert None not in none_given.values()


def test_a_change_has_an_id_of_its_own_the_same_every_time():
    assert delivery_id("b-1", "cancellation") == delivery_id("b-1", "cancellation")
    assert len({delivery_id("b-1", "cancellation"), delivery_id("b-2", "cancellation"), delivery_id("b-1", "move:x")}) == 3


async def test_a_bookings_sealed_number_name_and_phone_are_opened_with_the_vault_only_at_the_call():
    from types import SimpleNamespace

    from services.agency_gateway.entrypoints.workers import DeliveryWorker
    from shared.vault import InMemoryVault

    vault = InMemoryVault()
    sealed = {f: await vault.encrypt("booking-1", v) for f, v in
              {"personal_identity_number": "198112189876", "contact_name": "Ada", "contact_phone": "0701234567"}.items()}
    meeting = meeting_of(booking_made(booking_id="booking-1", agency="skatteverket", case_type="id_kort", **sealed))
    opened = await DeliveryWorker._opened(SimpleNamespace(vault=vault), meeting, "skatteverket")
    assert (opened["personal_identity_number"], opened["contact_name"], opened["contact_phone"]) == (
        "198112189876", "Ada", "0701234567")
    assert meeting["contact_name"] == sealed["contact_name"], "the stored meeting stays sealed"
    await vault.erase("booking-1")
    erased = await DeliveryWorker._opened(SimpleNamespace(vault=vault), meeting, "skatteverket")
    assert {erased[f] for f in sealed} == {None}
