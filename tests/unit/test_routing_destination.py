"""Where a complex question goes, from what the office offers (rules/destinations.yaml)."""

from __future__ import annotations

import pytest

from services.routing.adapters.rule_files import load_policy, load_router
from services.routing.domain.destination import Router, build_policy
from shared.catalog import load_catalog
from shared.offices import parse_offices

CATALOG = load_catalog()


def office(oid: str, lat: float = 60.0, **offer) -> dict:
    return {
        "id": oid, "name": oid.capitalize(), "municipality": oid, "county": "T", "lat": lat, "lon": 15.0,
        "lead_agency": "skatteverket", "size": "small", "desks": offer.pop("desks", []), "hours": "std",
        "id_cards": False, "newcomer_meeting_place": False, "video_meetings": False, "booked_meetings": False,
        **offer,
    }


REGISTRY = parse_offices(
    {
        "version": "t",
        "hours": {"std": {"mon": "09:00-16:00"}},
        "offices": [
            office("desk", desks=["forsakringskassan", "polisen"], id_cards=True),
            office("video", lat=61.0, video_meetings=True, booked_meetings=True),
            office("booked", lat=62.0, booked_meetings=True),
            office("bare", lat=63.0),
            office("newcomers", lat=64.0, newcomer_meeting_place=True),
        ],
    },
    set(CATALOG.agency_names),
)
ROUTER = Router(load_policy(CATALOG), REGISTRY, CATALOG)


@pytest.mark.parametrize(
    ("office_id", "agency", "case_type", "destination"),
    [
        ("desk", "forsakringskassan", "sjukpenning", "agency_desk"),
        ("desk", "skatteverket", "id_kort", "agency_desk"),  # ID cards taken here
        ("video", "forsakringskassan", "sjukpenning", "video_meeting"),
        # an ID card needs the visitor in person, at an office that takes ID-card applications
        ("video", "skatteverket", "id_kort", "agency_system"),
        ("booked", "polisen", "pass", "booked_meeting"),
        ("booked", "forsakringskassan", "sjukpenning", "agency_system"),  # no booked meeting needed
        ("bare", "skatteverket", "id_kort", "agency_system"),
        ("bare", "skatteverket", "flytt_till_sverige", "agency_desk"),  # taken at every office
        ("newcomers", "migrationsverket", "uppehallstillstand", "agency_desk"),
        ("newcomers", "kronofogden", "skuldsanering", "agency_system"),
    ],
)
def test_complex_questions_go_to_desk_then_video_then_booked_then_agency_system(office_id, agency, case_type, destination):
    route = ROUTER.route("complex", agency, case_type, office_id)
    assert route.destination == destination
    assert route.reason.endswith(".")


def test_the_agency_system_reason_names_the_nearest_office_that_takes_the_case():
    route = ROUTER.route("complex", "skatteverket", "id_kort", "bare")
    assert "Nearest office that takes it: Desk (334 km)" in route.reason


def test_an_unknown_office_sends_complex_questions_to_the_agency_system_and_says_why():
    route = ROUTER.route("complex", "polisen", "pass", "atlantis")
    assert route.destination == "agency_system" and "'atlantis' is unknown" in route.reason


def test_without_an_office_complex_questions_go_to_the_agency_system():
    assert ROUTER.route("complex", "polisen", "pass", None).destination == "agency_system"


@pytest.mark.parametrize("level", ["general", "in_depth"])
def test_questions_that_are_not_complex_stay_at_the_office(level):
    assert ROUTER.route(level, "skatteverket", "id_kort", "desk").destination == "office"


def test_the_real_registry_sends_an_id_card_application_in_ostersund_to_skatteverkets_desk():
    route = load_router().route("complex", "skatteverket", "id_kort", "ostersund")
    assert route.destination == "agency_desk" and "Östersund" in route.reason


def test_the_real_registry_has_offices_for_every_destination():
    router = load_router()
    seen = {router.route("complex", a, c, o.id).destination for o in router.offices for (a, c) in CATALOG.case_types}
    assert seen == {"agency_desk", "video_meeting", "booked_meeting", "agency_system"}


def test_a_policy_naming_an_unknown_case_type_or_desk_kind_is_refused():
    with pytest.raises(ValueError, match="unknown case type"):
        build_policy({"version": "t", "case_types": {"skatteverket/nope": {}}}, CATALOG)
    with pytest.raises(ValueError, match="desk kind"):
        build_policy({"version": "t", "case_types": {"polisen/pass": {"desk": "roof"}}}, CATALOG)


def test_an_id_card_question_where_id_cards_are_not_taken_names_the_nearest_offices_that_take_them():
    registry = parse_offices(
        {
            "version": "t",
            "hours": {"std": {"mon": "09:00-16:00"}},
            "offices": [
                office("here", lat=60.0, booked_meetings=True, video_meetings=True),
                office("far", lat=64.0, id_cards=True),
                office("near", lat=60.5, id_cards=True),
                office("middle", lat=61.0, id_cards=True),
                office("farthest", lat=66.0, id_cards=True),
                office("nearer", lat=60.2, booked_meetings=True),  # books meetings, no ID cards
            ],
        },
        set(CATALOG.agency_names),
    )
    route = Router(load_policy(CATALOG), registry, CATALOG).route("complex", "skatteverket", "id_kort", "here")
    assert route.destination == "agency_system"
    assert route.reason.startswith("Here does not take ID-card applications: ")
    assert route.reason.endswith("Nearest offices that take it: Near (56 km), Middle (111 km), Far (445 km).")


def test_the_real_registry_sends_an_id_card_question_from_an_office_without_them_to_the_nearest_that_take_them():
    router = load_router()
    here = router.offices.get("pitea")
    assert here is not None and not here.id_cards and here.booked_meetings
    route = router.route("complex", "skatteverket", "id_kort", "pitea")
    assert route.destination == "agency_system" and "Piteå does not take ID-card applications" in route.reason
    named = route.reason.split("Nearest offices that take it: ", 1)[1].rstrip(".").split(", ")
    takers = sorted((here.km_to(o), o.name) for o in router.offices if o.id_cards)
    assert named == [f"{name} ({km} km)" for km, name in takers[:3]]
