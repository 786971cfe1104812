"""Where a question goes, decided from the office registry and ``adapters/data/destinations.yaml``.

Non-complex questions stay with the office's service handler (``office``). A complex one
goes, in this order, to the first that applies:
1. ``agency_desk``: the agency's own desk at this office can take this kind of case;
2. ``video_meeting``: the office offers video meetings and the case can be handled so;
3. ``booked_meeting``: the case needs a meeting in person and the office books them (an
   ID-card application only at an office that takes them);
4. ``agency_system``: otherwise the agency takes it from its own system; the reason names
   the nearest offices whose desk takes the case.
Whatever the destination, the case is sent to the agency's system too (the aggregate
emits ``CaseRoutedToAgency`` for every complex question).
"""

from __future__ import annotations

from dataclasses import dataclass

from services.routing.domain.rules import CaseKey
from shared.catalog import Catalog
from shared.offices import Office, OfficeRegistry

DESK_KINDS = ("agency_desk", "id_cards", "every_office")
NEAREST = 3  # how many offices an ``agency_system`` reason names


@dataclass(frozen=True)
class Service:
    desk: str = "agency_desk"  # what the office needs for the agency's desk to take it
    video: bool = True  # can be handled in a video meeting with the agency's official
    booked: bool = False  # needs a meeting in person with the agency's official
    name: str = "this matter"


@dataclass(frozen=True)
class DestinationPolicy:
    version: str
    default: Service
    services: dict[CaseKey, Service]
    newcomer_case_types: frozenset[CaseKey]

    def service(self, key: CaseKey) -> Service:
        return self.services.get(key, self.default)


@dataclass(frozen=True)
class Route:
    destination: str
    reason: str


def build_policy(raw: dict, catalog: Catalog) -> DestinationPolicy:
    def key(code: str) -> CaseKey:
        agency, _, case_type = code.partition("/")
        if not catalog.is_case_type(agency, case_type):
            raise ValueError(f"destinations name unknown case type {code!r}")
        return agency, case_type

    def service(spec: dict, base: Service) -> Service:
        merged = Service(**{**base.__dict__, **spec})
        if merged.desk not in DESK_KINDS:
            raise ValueError(f"unknown desk kind {merged.desk!r}; use one of {DESK_KINDS}")
        return merged

    default = service(raw.get("default", {}), Service())
    services = {key(code): service(spec, default) for code, spec in raw["case_types"].items()}
    newcomer = frozenset(key(code) for code in raw.get("newcomer_meeting_place", []))
    return DestinationPolicy(str(raw["version"]), default, services, newcomer)


class Router:
    def __init__(self, policy: DestinationPolicy, offices: OfficeRegistry, catalog: Catalog) -> None:
        self.policy = policy
        self.offices = offices
        self.names = catalog.agency_names

    def route(self, level: str, agency: str, case_type: str, office_id: str | None) -> Route:
        if level != "complex":
            return Route("office", "Handled at the office by its service handler.")
        name = self.names.get(agency, agency)
        if not office_id:
            return Route("agency_system", f"No office given: {name} takes the case in its own system.")
        office = self.offices.get(office_id)
        if office is None:
            return Route(
                "agency_system",
                f"Office {office_id!r} is unknown to the office registry: {name} takes the case in its own system.",
            )
        key, service = (agency, case_type), self.policy.service((agency, case_type))
        if why := self._desk(office, key, service):
            return Route("agency_desk", f"{why}.")
        if service.video and office.video_meetings:
            return Route("video_meeting", f"No {name} desk for this at {office.name}; the office offers a video meeting with {name}.")
        if service.booked and office.booked_meetings and self._meets_here(office, service):
            return Route("booked_meeting", f"{service.name.capitalize()} needs a meeting in person; {office.name} books one with {name}.")
        why = (
            f"{office.name} does not take ID-card applications"
            if not self._meets_here(office, service)
            else f"{office.name} has no {name} desk, video or booked meeting for {service.name}"
        )
        return Route("agency_system", f"{why}: {name} takes the case in its own system.{self._where(office, key, service)}")

    @staticmethod
    def _meets_here(office: Office, service: Service) -> bool:
        """Whether a meeting in person can be booked at ``office``: an ID-card application
        only where the office takes them (the photo and identity check happen there)."""
        return service.desk != "id_cards" or office.id_cards

    def _where(self, office: Office, key: CaseKey, service: Service) -> str:
        nearest = self._nearest(office, key, service)
        if not nearest:
            return ""
        named = ", ".join(f"{o.name} ({office.km_to(o)} km)" for o in nearest)
        return f" Nearest office{'s that take' if len(nearest) > 1 else ' that takes'} it: {named}."

    def _desk(self, office: Office, key: CaseKey, service: Service) -> str | None:
        name = self.names.get(key[0], key[0])
        if service.desk == "every_office":
            return f"{service.name.capitalize()} is taken by {name} at every office, {office.name} included"
        if service.desk == "id_cards":
            return f"{office.name} takes ID-card applications at {name}'s desk" if office.id_cards else None
        if office.has_desk(key[0]):
            return f"{name} has a desk at {office.name}"
        if office.newcomer_meeting_place and key in self.policy.newcomer_case_types:
            return f"{office.name} has a meeting place for newly arrived people where {name} takes this"
        return None

    def _nearest(self, office: Office, key: CaseKey, service: Service) -> list[Office]:
        """The ``NEAREST`` closest other offices whose desk takes the case, nearest first."""
        able = [o for o in self.offices if o.id != office.id and self._desk(o, key, service)]
        return sorted(able, key=lambda o: (office.km_to(o), o.id))[:NEAREST]
