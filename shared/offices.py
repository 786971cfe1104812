"""The office registry (``data/offices.yaml``, sample data): which offices exist and what
each one offers: agency desks, ID cards, a meeting place for newly arrived people, video
and booked meetings, opening hours. Routing reads it to decide where a complex question
goes; any service may use it to validate an ``office_id``."""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache
from importlib import resources
from types import MappingProxyType

import yaml

OFFICE_ID = re.compile(r"^[a-z0-9][a-z0-9-]{1,59}$")
WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_HOURS = re.compile(r"^\d{2}:\d{2}-\d{2}:\d{2}$")


@dataclass(frozen=True)
class Office:
    id: str
    name: str
    municipality: str
    county: str
    lat: float
    lon: float
    lead_agency: str
    size: str
    desks: frozenset[str]
    id_cards: bool
    newcomer_meeting_place: bool
    video_meetings: bool
    booked_meetings: bool
    opening_hours: Mapping[str, str]

    def has_desk(self, agency: str) -> bool:
        """The agency has its own officials at this office."""
        return agency in self.desks

    def km_to(self, other: Office) -> float:
        """Great-circle distance, rounded to whole kilometres."""
        p1, p2 = math.radians(self.lat), math.radians(other.lat)
        dp, dl = p2 - p1, math.radians(other.lon - self.lon)
        a = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
        return round(2 * 6371 * math.asin(math.sqrt(a)))


@dataclass(frozen=True)
class OfficeRegistry:
    version: str
    sample: bool
    offices: Mapping[str, Office]

    def get(self, office_id: str | None) -> Office | None:
        return self.offices.get(office_id) if office_id else None

    def __len__(self) -> int:
        return len(self.offices)

    def __iter__(self):
        return iter(self.offices.values())


def _office(raw: dict, hours: Mapping[str, Mapping[str, str]], agencies: set[str]) -> Office:
    oid = raw["id"]
    if not OFFICE_ID.match(oid):
        raise ValueError(f"office id {oid!r} does not match {OFFICE_ID.pattern}")
    if unknown := set(raw["desks"]) - agencies:
        raise ValueError(f"office {oid} names unknown agencies {sorted(unknown)}")
    if raw["lead_agency"] not in agencies:
        raise ValueError(f"office {oid} has unknown lead agency {raw['lead_agency']!r}")
    if raw["hours"] not in hours:
        raise ValueError(f"office {oid} names unknown hours profile {raw['hours']!r}")
    return Office(
        id=oid,
        name=str(raw["name"]),
        municipality=str(raw["municipality"]),
        county=str(raw["county"]),
        lat=float(raw["lat"]),
        lon=float(raw["lon"]),
        lead_agency=raw["lead_agency"],
        size=raw["size"],
        desks=frozenset(raw["desks"]),
        id_cards=bool(raw["id_cards"]),
        newcomer_meeting_place=bool(raw["newcomer_meeting_place"]),
        video_meetings=bool(raw["video_meetings"]),
        booked_meetings=bool(raw["booked_meetings"]),
        opening_hours=hours[raw["hours"]],
    )


def parse_offices(raw: dict, agencies: set[str]) -> OfficeRegistry:
    """Build and check a registry: valid ids, no duplicates, known agencies and hours."""
    hours: dict[str, Mapping[str, str]] = {}
    for name, days in raw["hours"].items():
        if bad := [d for d, h in days.items() if d not in WEEKDAYS or not _HOURS.match(h)]:
            raise ValueError(f"hours profile {name} has bad entries {bad}")
        hours[name] = MappingProxyType(dict(days))
    offices: dict[str, Office] = {}
    for item in raw["offices"]:
        office = _office(item, hours, agencies)
        if office.id in offices:
            raise ValueError(f"office id {office.id} appears twice")
        offices[office.id] = office
    return OfficeRegistry(str(raw["version"]), bool(raw.get("sample")), MappingProxyType(offices))


@cache
def load_offices() -> OfficeRegistry:
    from shared.catalog import load_catalog

    raw = yaml.safe_load(resources.files("shared").joinpath("data/offices.yaml").read_text())
    return parse_offices(raw, set(load_catalog().agency_names))


def get(office_id: str | None) -> Office | None:
    """The office with this id, or None when the registry does not know it."""
    return load_offices().get(office_id)


@dataclass(frozen=True)
class QueueService:
    """A service the visitor picks at the kiosk, served as one queue (Qmatic's
    service/queue). ``letter`` starts its tickets (``A001``); ``agency`` is the agency
    whose own officials serve it, or None for the generalist service handlers.
    ``priority``: lower is called first by a desk that serves several queues (booked
    appointments before walk-ins)."""

    queue: str
    letter: str
    name_sv: str
    name_en: str
    agency: str | None = None
    priority: int = 1


GENERAL_QUEUE = "general"

# The agencies' own desks: queue code = agency code; one letter each, none shared with
# the office's common services below.
_AGENCY_LETTERS = {
    "forsakringskassan": "F", "skatteverket": "S", "pensionsmyndigheten": "P",
    "arbetsformedlingen": "R", "migrationsverket": "M", "kronofogden": "K",
    "polisen": "L", "trafikverket": "T",
}


def queue_services(office: Office) -> list[QueueService]:
    """The queues an office offers, from what the registry says it has: general service
    and the customer workstation everywhere; booked appointments, ID cards and the
    newcomers' meeting place where offered; one queue per agency desk present."""
    from shared.catalog import load_catalog

    names = load_catalog().agency_names
    services = [
        QueueService(GENERAL_QUEUE, "A", "Allmän service", "General service"),
        QueueService("self_service", "D", "Kundarbetsplats – e-tjänster", "Self-service workstation – e-services"),
    ]
    if office.booked_meetings:
        services.append(QueueService("booked", "B", "Bokad tid", "Booked appointment", priority=0))
    if office.id_cards:
        services.append(QueueService("id_card", "I", "Id-kort", "ID card", "skatteverket"))
    if office.newcomer_meeting_place:
        services.append(QueueService("newcomers", "N", "Ny i Sverige", "New in Sweden"))
    for agency in sorted(office.desks):
        services.append(
            QueueService(agency, _AGENCY_LETTERS[agency], names[agency], f"{names[agency]} (agency desk)", agency)
        )
    return services


def queue_service(office: Office, queue: str) -> QueueService | None:
    return next((s for s in queue_services(office) if s.queue == queue), None)
