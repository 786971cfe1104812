"""The office registry: sample data on real localities, with what each office offers."""

from __future__ import annotations

import pytest

from shared import offices
from shared.catalog import load_catalog
from shared.offices import OFFICE_ID, load_offices, parse_offices

DEMO_OFFICES = ["kiruna", "gallivare", "lulea", "skelleftea", "umea", "ornskoldsvik", "ostersund", "sundsvall", "hudiksvall", "falun", "gavle", "uppsala", "vasteras", "orebro", "karlstad", "stockholm-kungsholmen", "stockholm-rinkeby", "sodertalje", "norrkoping", "linkoping", "jonkoping", "vaxjo", "kalmar", "visby", "karlskrona", "kristianstad", "helsingborg", "malmo-centrum", "malmo-rosengard", "goteborg-angered", "goteborg-centrum", "boras", "trollhattan", "halmstad", "vanersborg", "arvika"]
AGENCIES = set(load_catalog().agency_names)


def test_the_registry_is_marked_sample_data_and_has_about_a_hundred_offices():
    registry = load_offices()
    assert registry.sample is True
    assert 90 <= len(registry) <= 110


def test_every_office_the_demo_uses_is_in_the_registry():
    from servicekontor.demo_data import OFFICES

    assert [oid for oid in {*DEMO_OFFICES, *OFFICES} if offices.get(oid) is None] == []


def test_office_ids_are_lowercase_slugs():
    assert all(OFFICE_ID.match(o.id) for o in load_offices())
    assert OFFICE_ID.pattern == r"^[a-z0-9][a-z0-9-]{1,59}$"


def test_id_cards_and_newcomer_meeting_places_at_27_offices_each_as_in_the_source():
    registry = list(load_offices())
    assert sum(o.id_cards for o in registry) == 27
    assert sum(o.newcomer_meeting_place for o in registry) == 27


def test_not_every_office_offers_video_or_booked_meetings():
    registry = list(load_offices())
    assert 0 < sum(o.video_meetings for o in registry) < len(registry)
    assert 0 < sum(o.booked_meetings for o in registry) < len(registry)


def test_desks_lead_agencies_and_opening_hours_are_valid():
    for office in load_offices():
        assert office.desks <= AGENCIES and office.lead_agency in {"forsakringskassan", "skatteverket"}
        assert office.opening_hours and set(office.opening_hours) <= {"mon", "tue", "wed", "thu", "fri", "sat", "sun"}
        assert 55 < office.lat < 70 and 10 < office.lon < 25


def test_unknown_or_missing_office_id_gives_none():
    assert offices.get("atlantis") is None and offices.get(None) is None and offices.get("") is None


def test_a_known_office_has_its_offer():
    ostersund = offices.get("ostersund")
    assert ostersund is not None and ostersund.name == "Östersund" and ostersund.id_cards
    assert ostersund.has_desk("skatteverket") and not ostersund.has_desk("migrationsverket")


def test_distances_between_offices_are_plausible():
    lulea, malmo = offices.get("lulea"), offices.get("malmo-centrum")
    assert 1200 < lulea.km_to(malmo) < 1400 and lulea.km_to(lulea) == 0


def _raw(**office) -> dict:
    base = {
        "id": "testby", "name": "Testby", "municipality": "Testby", "county": "Test", "lat": 60.0,
        "lon": 15.0, "lead_agency": "skatteverket", "size": "small", "desks": [], "id_cards": False,
        "newcomer_meeting_place": False, "video_meetings": True, "booked_meetings": False, "hours": "std",
    }
    return {"version": "t", "sample": True, "hours": {"std": {"mon": "09:00-16:00"}}, "offices": [{**base, **office}]}


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"id": "Testby"}, "does not match"),
        ({"desks": ["riksbanken"]}, "unknown agencies"),
        ({"lead_agency": "riksbanken"}, "unknown lead agency"),
        ({"hours": "night"}, "unknown hours profile"),
    ],
)
def test_a_broken_registry_is_refused_with_a_reason(change, message):
    with pytest.raises(ValueError, match=message):
        parse_offices(_raw(**change), AGENCIES)


def test_a_duplicate_office_id_is_refused():
    raw = _raw()
    raw["offices"] *= 2
    with pytest.raises(ValueError, match="twice"):
        parse_offices(raw, AGENCIES)
