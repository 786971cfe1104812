"""``servicekontor demo --days N``: weeks of past office days, written straight into the
embedded event stores (``intake.db``, ``routing.db``, ``agency_gateway.db`` under the
data dir) as intake, routing and agency_gateway would have logged them; reporting reads
them like any other events (running or at its next start).

Ten offices of the registry (large, medium and small), open by their own opening hours.
Visits per day follow the office's size, the weekday (Monday busiest, Friday quietest)
and the season (January–February and August busier); within the day a morning and a
lunch peak. Each office has its own service time and waiting level (one medium office
is slow on purpose: it stands out). Questions follow the sources' case mix; some are
referred, complex ones forwarded and decided by the agency days later (status
callbacks). About half the questions come with an identity number: the history holds
only its pseudonym, made with intake's own key (``SK_PSEUDONYM_KEY`` or the development
key file), never the number. Some people come back about the same matter within days,
a few at another office. Desks open for the day in proportion to the expected visits.
"""

from __future__ import annotations

import json
import math
import random
import uuid
from collections import Counter, defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from servicekontor.synthetic_history import _INSERT, FILES, case_weights
from servicekontor.synthetic_history import _open as open_store
from servicekontor.synthetic_meetings import meeting_events
from servicekontor.synthetic_visits import iso
from services.intake.adapters.pseudonym import build_pseudonymizer
from services.intake.config import IntakeSettings
from shared.offices import Office, load_offices

SIZE = {"large": 70.0, "medium": 32.0, "small": 12.0}
WEEKDAY = {1: 1.25, 2: 1.05, 3: 1.0, 4: 0.95, 5: 0.8, 6: 0.5, 7: 0.5}
HOURS = {9: 0.4, 10: 1.3, 11: 1.1, 12: 1.5, 13: 1.2, 14: 0.9, 15: 0.7, 16: 0.4, 17: 0.3}
DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
COMPLEX = {("skatteverket", "id_kort"), ("skatteverket", "flytt_till_sverige"),
           ("migrationsverket", "uppehallstillstand"), ("polisen", "pass")}
DECISION_DAYS = {"skatteverket": 6, "forsakringskassan": 12, "migrationsverket": 40, "polisen": 9}


@dataclass
class Summary:
    first_day: date | None = None
    last_day: date | None = None
    offices: list[str] = field(default_factory=list)
    visits: int = 0
    questions: int = 0
    repeat_visits: int = 0
    events: Counter = field(default_factory=Counter)


@dataclass(frozen=True)
class OfficePlan:
    office: Office
    per_day: float
    service_minutes: float
    wait_minutes: float


def pick_offices(rng: random.Random, count: int = 10) -> list[OfficePlan]:
    offices = sorted(load_offices(), key=lambda o: o.id)
    chosen = [o for size, n in (("large", 3), ("medium", 3), ("small", count - 6))
              for o in rng.sample([o for o in offices if o.size == size], n)]
    plans = []
    for i, o in enumerate(chosen):
        slow = i == 3  # the first medium office: long service, long waits
        plans.append(OfficePlan(o, SIZE[o.size] * rng.uniform(0.85, 1.15),
                                rng.uniform(13, 16) if slow else rng.uniform(7, 10),
                                rng.uniform(18, 24) if slow else rng.uniform(4, 9)))
    return plans


def hours_open(office: Office, day: date) -> list[int]:
    """The local hours the office is open that day (a started hour counts)."""
    span = office.opening_hours.get(DAYS[day.weekday()])
    if not span:
        return []
    start, end = (int(t[:2]) + int(t[3:]) / 60 for t in span.split("-"))
    return [h for h in range(int(start), math.ceil(end))]


def expected(plan: OfficePlan, day: date) -> float:
    season = 1 + 0.15 * math.cos(2 * math.pi * (day.timetuple().tm_yday - 40) / 365) \
        + 0.1 * math.exp(-((day.timetuple().tm_yday - 228) / 12) ** 2)
    return plan.per_day * WEEKDAY[day.isoweekday()] * season


def poisson(rng: random.Random, lam: float) -> int:
    if lam > 30:
        return max(0, round(rng.gauss(lam, math.sqrt(lam))))
    n, p, u = 0, math.exp(-lam), rng.random()
    cumulative = p
    while u > cumulative:
        n += 1
        p *= lam / n
        cumulative += p
    return n


def arrivals(rng: random.Random, plan: OfficePlan, day: date, tz: ZoneInfo) -> list[datetime]:
    """When visitors come on ``day`` (UTC), by the hour profile of the opening hours."""
    hours = hours_open(plan.office, day)
    if not hours:
        return []
    weights = [HOURS.get(h, 0.3) for h in hours]
    total = expected(plan, day) * len(hours) / 5  # a five-hour day is the office's size
    out = []
    for h, w in zip(hours, weights, strict=True):
        for _ in range(poisson(rng, total * w / sum(weights))):
            local = datetime(day.year, day.month, day.day, h, rng.randrange(60), rng.randrange(60), tzinfo=tz)
            out.append(local.astimezone(UTC))
    return sorted(out)


def pin(rng: random.Random) -> str:
    """A valid 12-digit identity number (check digit by Luhn)."""
    born = date(1940, 1, 1) + timedelta(days=rng.randrange(365 * 65))
    body = f"{born:%y%m%d}{rng.randrange(1000):03d}"
    total = sum((d - 9 if d > 9 else d) for d in (int(c) * (2 - i % 2) for i, c in enumerate(body)))
    return f"{born:%Y}{body[2:]}{(10 - total % 10) % 10}"


class Writer:
    def __init__(self, data_dir: Path, rng: random.Random, summary: Summary) -> None:
        self.stores = {p: open_store(data_dir / name) for p, name in FILES.items()}
        for db in self.stores.values():
            db.execute("PRAGMA busy_timeout=30000")
        self.rng, self.summary = rng, summary
        self.buffers: dict[str, list[tuple]] = defaultdict(list)
        self.versions: Counter = Counter()

    def add(self, producer: str, stream: str, kind: str, at: datetime, /, **payload) -> None:
        self.versions[stream] += 1
        event_id = str(uuid.UUID(int=self.rng.getrandbits(128), version=4))
        self.buffers[producer].append((
            event_id, f"{producer}.{kind}", 1, stream, self.versions[stream],
            at.replace(tzinfo=None).isoformat(" ", "microseconds"), event_id, None, producer,
            json.dumps(payload, ensure_ascii=False, separators=(",", ":"))))
        self.summary.events[producer] += 1
        if len(self.buffers[producer]) >= 5_000:
            self.flush(producer)

    def flush(self, producer: str) -> None:
        db = self.stores[producer]
        db.executemany(_INSERT, self.buffers[producer])
        db.commit()
        self.buffers[producer].clear()

    def close(self) -> None:
        for producer, db in self.stores.items():
            self.flush(producer)
            db.close()


def write_demo_history(
    data_dir: Path, days: int, *, seed: int | None = None, last_day: date | None = None,
    tz: str = "Europe/Stockholm", progress: Callable[[date], None] = lambda _d: None,
) -> Summary:
    """``days`` past days up to ``last_day`` (default: yesterday, local) into the stores."""
    zone, rng = ZoneInfo(tz), random.Random(seed)
    last = last_day or (datetime.now(zone).date() - timedelta(days=1))
    first = last - timedelta(days=days - 1)
    plans = pick_offices(rng)
    summary = Summary(first, last, [p.office.id for p in plans])
    pseudonyms = build_pseudonymizer(IntakeSettings(data_dir=data_dir))
    weights = case_weights()
    keys, cumulative = list(weights), list(weights.values())
    returns: dict[tuple[date, str], list[tuple[str, tuple[str, str]]]] = defaultdict(list)
    writer = Writer(data_dir, rng, summary)
    history = History(writer, rng, summary, zone)
    try:
        for k in range(days):
            day = first + timedelta(days=k)
            for plan in plans:
                comers = arrivals(rng, plan, day, zone)
                if not comers:
                    continue
                history.desks(plan, day, len(comers))
                back = returns.pop((day, plan.office.id), [])
                for n, start in enumerate(comers):
                    person, matter = (back[n][0], back[n][1]) if n < len(back) else (None, None)
                    if person is None and rng.random() < 0.55:
                        person = pseudonyms.of(pin(rng))
                    matters = [matter] if matter else rng.choices(keys, cumulative, k=rng.choice((1, 1, 1, 2, 2, 3)))
                    summary.repeat_visits += matter is not None
                    history.visit(plan, start, person, matters)
                    if person and rng.random() < 0.16:  # back about the same matter soon
                        office = rng.choice(plans) if rng.random() < 0.2 else plan
                        later = day + timedelta(days=rng.randint(2, 28))
                        returns[(later, office.office.id)].append((person, matters[0]))
            progress(day)
        # Booked and video meetings (issue 16): their own generator, written last.
        office_days = [(p.office.id, first + timedelta(days=k)) for k in range(days) for p in plans]
        meetings = meeting_events(random.Random(None if seed is None else f"{seed}:meetings"), office_days, zone, 1.2)
        for stream, event_type, at, payload in meetings:
            writer.add("intake", stream, event_type, at, **payload)
    finally:
        writer.close()
    return summary


class History:
    """One visit's or desk day's events, through the writer."""

    def __init__(self, writer: Writer, rng: random.Random, summary: Summary, tz: ZoneInfo) -> None:
        self.w, self.rng, self.summary, self.tz = writer, rng, summary, tz

    def desks(self, plan: OfficePlan, day: date, visits: int) -> None:
        hours = hours_open(plan.office, day)
        load = visits / max(1, len(hours)) * plan.service_minutes / 60
        opened = datetime(day.year, day.month, day.day, hours[0], 0, tzinfo=self.tz).astimezone(UTC) - timedelta(minutes=15)
        closed = opened + timedelta(hours=len(hours), minutes=30)
        for n in range(1, max(1, math.ceil(load * 1.3)) + 1):
            stream = f"desk:{plan.office.id}:H{n}"
            ids = {"office_id": plan.office.id, "desk": f"H{n}"}
            self.w.add("intake", stream, "DeskOpened", opened, **ids, queues=["general"], handler=f"handlaggare-{n}",
                       opened_at=iso(opened))
            self.w.add("intake", stream, "DeskClosed", closed, **ids, closed_at=iso(closed))

    def visit(self, plan: OfficePlan, start: datetime, person: str | None, matters: list[tuple[str, str]]) -> None:
        rng, vid, office = self.rng, str(uuid.UUID(int=self.rng.getrandbits(128), version=4)), plan.office.id
        local_hour = start.astimezone(self.tz).hour
        wait = rng.expovariate(1 / (plan.wait_minutes * HOURS.get(local_hour, 0.5)))
        shown = max(0.0, round(wait * rng.lognormvariate(0, 0.4) + rng.gauss(0, 1.5), 1))
        add = self.w.add
        add("intake", vid, "VisitRegistered", start, visit_id=vid, office_id=office, channel="kiosk", agency=None,
            ticket=f"A{rng.randint(1, 400):03d}", service_day=start.astimezone(self.tz).date().isoformat(),
            registered_at=iso(start), queue="general", estimated_wait_minutes=shown)
        called = start + timedelta(minutes=wait)
        add("intake", vid, "VisitCalled", called, visit_id=vid, desk="H1", called_at=iso(called),
            office_id=office, queue="general")
        self.summary.visits += 1
        if rng.random() < 0.03:
            add("intake", vid, "VisitMarkedNoShow", called + timedelta(minutes=2), visit_id=vid, office_id=office,
                desk="H1", queue="general", marked_at=iso(called + timedelta(minutes=2)))
            return
        now = called
        for agency, case_type in matters:
            now += timedelta(minutes=rng.lognormvariate(math.log(plan.service_minutes / len(matters)), 0.5))
            self.question(office, vid, agency, case_type, now, person)
        survey = None
        if rng.random() < 0.12:  # the survey: few answer
            survey = {"treatment": rng.choice((5, 5, 5, 4, 4, 3)), "time": rng.choice((5, 4, 4, 3, 2)),
                      "got_help": rng.random() < 0.9}
        add("intake", vid, "VisitEnded", now, visit_id=vid, satisfaction=survey, ended_at=iso(now))

    def question(self, office: str, vid: str, agency: str, case_type: str, at: datetime, person: str | None) -> None:
        rng, add = self.rng, self.w.add
        qid = str(uuid.UUID(int=rng.getrandbits(128), version=4))
        self.summary.questions += 1
        add("intake", vid, "QuestionRecorded", at, visit_id=vid, question_id=qid, office_id=office,
            text=f"Fråga om {case_type}", agency=None, case_type=None, personal_identity_number=None,
            recorded_at=iso(at), person_pseudonym=person)
        complex_ = (agency, case_type) in COMPLEX and rng.random() < 0.85 or rng.random() < 0.06
        level = "complex" if complex_ else rng.choice(("general", "general", "in_depth"))
        destination = "agency_system" if complex_ else "office"
        add("routing", qid, "QuestionClassified", at, visit_id=vid, question_id=qid, office_id=office, level=level,
            agency=agency, case_type=case_type, confidence=round(rng.uniform(0.6, 1), 3), explanation="demo",
            destination=destination, needs_review=False, model_version="rules-1", classified_at=iso(at))
        outcome = "forwarded" if complex_ else ("referred" if rng.random() < 0.1 else "answered")
        add("intake", vid, "QuestionResolved", at, visit_id=vid, question_id=qid, outcome=outcome, note=None,
            resolved_at=iso(at))
        if complex_:
            self.forward(office, vid, qid, agency, case_type, at)

    def forward(self, office: str, vid: str, qid: str, agency: str, case_type: str, at: datetime) -> None:
        rng, add, ids = self.rng, self.w.add, {"visit_id": vid, "question_id": qid, "agency": agency}
        add("routing", qid, "CaseRoutedToAgency", at, **ids, office_id=office, case_type=case_type, text="",
            personal_identity_number=None, destination="agency_system", routed_at=iso(at))
        add("gateway", qid, "CaseQueuedForDelivery", at, **ids, office_id=office, case_type=case_type, queued_at=iso(at))
        sent = at + timedelta(seconds=rng.uniform(0.5, 3))
        ref = f"REF-{rng.randrange(10**6)}"
        add("gateway", qid, "CaseForwarded", sent, **ids, agency_reference=ref, attempt=1, forwarded_at=iso(sent))
        decided = sent + timedelta(days=rng.expovariate(1 / DECISION_DAYS.get(agency, 10)))
        for status, when in (("received", sent + timedelta(hours=2)), ("decided", decided)):
            if when > datetime.now(UTC):  # not decided yet
                continue
            add("gateway", qid, "AgencyCaseUpdated", when, **ids, agency_reference=ref, status=status, note=None,
                callback_id=str(uuid.UUID(int=rng.getrandbits(128), version=4)), agency_updated_at=iso(when),
                received_at=iso(when))


def forecast_backtest(seed: int = 2026, last_day: date = date(2026, 11, 27), origins: int = 8,
                      horizon: int = 14, tz: str = "Europe/Stockholm") -> dict[str, dict]:
    """The forecast's back-test on a generated year of the same offices and patterns:
    visits per office, day and hour for 365 days; forecasts of ``horizon`` days from
    ``origins`` origins two weeks apart (the last ends on ``last_day``), WAPE per
    office-hour, beside the seasonal naive forecast."""
    from services.reporting.domain.forecast import backtest

    zone, rng = ZoneInfo(tz), random.Random(seed)
    first = last_day - timedelta(days=364)
    out = {}
    for plan in pick_offices(rng):
        hourly: Counter = Counter()
        for k in range(365):
            for at in arrivals(rng, plan, first + timedelta(days=k), zone):
                local = at.astimezone(zone)
                hourly[(local.date(), local.hour)] += 1
        starts = [last_day - timedelta(days=horizon * (origins - i)) for i in range(origins)]
        out[plan.office.id] = {"size": plan.office.size, **backtest(hourly, starts, horizon)}
    return out
