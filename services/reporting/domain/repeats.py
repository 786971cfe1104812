"""Unnecessary demand (``GET /v1/stats/repeat-contacts``). Pure.

A **contact** is one visit's questions about one agency and case type (final
classification). It is **linked** when one of those questions was asked with an
identity number: intake's pseudonym of the number links the person's contacts, at any
office. A contact is a **repeat contact** when the same person had a contact about the
same agency and case type, in another visit, at most ``days`` days before (earlier
visits before the period count as the first contact). Contacts without an identity
number cannot be linked: they are counted as unlinked, never as repeats. A visit is a
**multi-agency matter** when its classified questions name more than one agency.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from services.reporting.domain.steering_inputs import Period, QuestionRow, VisitRow

GROUPS = ("office", "agency", "case_type")
WINDOWS = (14, 30)


@dataclass(slots=True)
class Contact:
    visit_id: str
    office_id: str
    service_day: str
    agency: str
    case_type: str
    at: datetime
    person: str | None
    question_ids: tuple[str, ...] = ()


def contacts_of(questions: Iterable[QuestionRow]) -> list[Contact]:
    found: dict[tuple[str, str, str], Contact] = {}
    for q in questions:
        if not (q.agency and q.case_type):
            continue
        at = q.recorded_at or datetime.fromisoformat(q.service_day).replace(tzinfo=UTC)
        c = found.get((q.visit_id, q.agency, q.case_type))
        if c is None:
            found[(q.visit_id, q.agency, q.case_type)] = Contact(
                q.visit_id, q.office_id, q.service_day, q.agency, q.case_type, at, q.person, (q.question_id,))
            continue
        c.at, c.person = min(c.at, at), c.person or q.person
        c.question_ids += (q.question_id,)
    return list(found.values())


def repeats(contacts: Sequence[Contact], days: int) -> tuple[set[int], set[int]]:
    """Indexes of contacts that are repeats, and of contacts the person came back after
    (same agency and case type, another visit, within ``days`` days)."""
    window = timedelta(days=days)
    series: dict[tuple[str, str, str], list[int]] = defaultdict(list)
    for i, c in enumerate(contacts):
        if c.person:
            series[(c.person, c.agency, c.case_type)].append(i)
    repeat, came_back = set(), set()
    for indexes in series.values():
        indexes.sort(key=lambda i: (contacts[i].at, contacts[i].visit_id))
        for before, after in zip(indexes, indexes[1:], strict=False):
            if contacts[after].at - contacts[before].at <= window:
                repeat.add(after)
                came_back.add(before)
    return repeat, came_back


def _multi_agency(contacts: Sequence[Contact]) -> set[str]:
    agencies: dict[str, set[str]] = defaultdict(set)
    for c in contacts:
        agencies[c.visit_id].add(c.agency)
    return {v for v, named in agencies.items() if len(named) > 1}


def _key(group_by: str, c: Contact) -> tuple[str, ...]:
    return {"office": (c.office_id,), "agency": (c.agency,), "case_type": (c.agency, c.case_type)}[group_by]


def repeat_contacts(
    group_by: str, days: int, period: Period, visits: Iterable[VisitRow], questions: Iterable[QuestionRow],
    office_id: str | None = None,
) -> dict[str, Any]:
    """``questions``: of every office, also from the ``days`` before the period; the
    figures count the period's contacts (at ``office_id``, when given)."""
    every = contacts_of(questions)
    repeat, _ = repeats(every, days)
    inside = [i for i, c in enumerate(every)
              if period.holds(c.service_day) and office_id in (None, c.office_id)]
    multi = _multi_agency([every[i] for i in inside])
    groups: dict[tuple[str, ...], dict[str, Any]] = defaultdict(
        lambda: {"contacts": 0, "linked": 0, "repeat": 0, "persons": set(), "visits": set()})
    for i in inside:
        c, g = every[i], groups[_key(group_by, every[i])]
        g["contacts"] += 1
        g["visits"].add(c.visit_id)
        if c.person:
            g["linked"] += 1
            g["persons"].add(c.person)
            g["repeat"] += i in repeat
    rows = [_row(group_by, k, g, multi) for k, g in sorted(groups.items())]
    in_period = [v for v in visits if period.holds(v.service_day) and office_id in (None, v.office_id)]
    linked_visits = {every[i].visit_id for i in inside if every[i].person}
    classified = {every[i].visit_id for i in inside}
    totals = {
        "visits": len(in_period),
        "unlinked_visits": sum(v.visit_id not in linked_visits for v in in_period),
        "contacts": len(inside), "linked_contacts": sum(1 for i in inside if every[i].person),
        "repeat_contacts": sum(1 for i in inside if i in repeat),
        "multi_agency_visits": len(multi), "visits_with_classified_questions": len(classified),
    }
    totals["unlinked_share"] = _share(totals["unlinked_visits"], totals["visits"])
    totals["repeat_share"] = _share(totals["repeat_contacts"], totals["linked_contacts"])
    totals["multi_agency_share"] = _share(len(multi), len(classified))
    return {"period": {"from": period.first.isoformat(), "to": period.last.isoformat()}, "days": days,
            "rows": rows, "totals": totals}


def _share(n: int, d: int) -> float | None:
    return round(n / d, 4) if d else None


def _row(group_by: str, key: tuple[str, ...], g: dict[str, Any], multi: set[str]) -> dict[str, Any]:
    labels = {"office": ("office_id",), "agency": ("agency",), "case_type": ("agency", "case_type")}[group_by]
    row: dict[str, Any] = dict(zip(labels, key, strict=True))
    unlinked = g["contacts"] - g["linked"]
    row.update({
        "contacts": g["contacts"], "linked_contacts": g["linked"], "unlinked_contacts": unlinked,
        "unlinked_share": _share(unlinked, g["contacts"]), "persons": len(g["persons"]),
        "repeat_contacts": g["repeat"], "repeat_share": _share(g["repeat"], g["linked"]),
        "multi_agency_visits": len(g["visits"] & multi),
    })
    return row
