"""The meeting and slots parts of the agencies' contract (docs/agency-api.openapi.yaml,
§8 of docs/agency-api.md) say what the code does."""

from __future__ import annotations

import typing

from services.agency_gateway.domain.events import AgencyMeetingStatus
from services.agency_gateway.domain.minimisation import MEETING_FIELDS
from services.agency_gateway.entrypoints.schemas import MeetingCallbackIn, SlotsIn
from services.agency_simulator.meetings import MeetingIn
from tests.unit.test_gateway_docs import DOCS, SCHEMAS


def test_the_documented_meeting_is_what_the_gateway_sends_and_the_simulator_takes():
    meeting = SCHEMAS["Meeting"]
    assert set(meeting["properties"]) == {f for f in MEETING_FIELDS if f not in ("from_start", "moved_at", "cancelled_at")}
    assert set(meeting["required"]) == set(MeetingIn.model_json_schema()["required"])


def test_the_documented_meeting_callback_and_slots_are_what_the_gateway_accepts():
    for documented, ours in (("MeetingCallback", MeetingCallbackIn), ("Slots", SlotsIn)):
        schema = ours.model_json_schema()
        assert set(SCHEMAS[documented]["properties"]) == set(schema["properties"]), documented
        assert set(SCHEMAS[documented]["required"]) == set(schema["required"]), documented
    assert SCHEMAS["MeetingCallback"]["properties"]["status"]["enum"] == list(typing.get_args(AgencyMeetingStatus))


def test_the_guide_names_the_meeting_routes_and_the_simulator_settings():
    guide = (DOCS / "agency-api.md").read_text()
    for needle in ("/meeting-callbacks", "/v1/agency/slots", "/cancellation", "/move",
                   "SK_SIM_MEETING_MOVE_RATE", "SK_SIM_MEETING_CANCEL_RATE", "publish_agency_slots"):
        assert needle in guide
