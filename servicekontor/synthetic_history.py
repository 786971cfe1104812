"""A synthetic event history for the replay benchmark and tests: what intake, routing and
agency_gateway would have logged, written straight into their SQLite event stores
(``<data_dir>/intake.db``, ``routing.db``, ``agency_gateway.db``) with the sources' case
mix. Payloads have exactly the shape of the producers' events (tests validate them)."""

from __future__ import annotations

import json
import random
import sqlite3
import uuid
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from sqlalchemy import create_engine
from sqlmodel import SQLModel

from servicekontor.synthetic_meetings import Meeting, event_id, meeting_events
from servicekontor.synthetic_visits import VisitStory, desk_story, no_show_story, visit_story
from shared.catalog import load_catalog
from shared.tables import StoredEvent

_OWN_IDS = frozenset({"AgencyCaseUpdated"})
FILES = {"intake": "intake.db", "routing": "routing.db", "gateway": "agency_gateway.db"}
_INSERT = (
    "INSERT INTO event_store (event_id, event_type, schema_version, stream_id, stream_version,"
    " occurred_at, correlation_id, causation_id, producer, payload) VALUES (?,?,?,?,?,?,?,?,?,?)"
)


@dataclass
class History:
    visits: int = 0
    questions: int = 0
    events: Counter = field(default_factory=Counter)  # per producer
    by_case_type: Counter = field(default_factory=Counter)  # (agency, case_type, level)
    by_office: Counter = field(default_factory=Counter)
    meetings: int = 0  # bookings made (issue 16)

    @property
    def total_events(self) -> int:
        return sum(self.events.values())


def case_weights() -> dict[tuple[str, str], float]:
    """The sources' 2014 shares; the case types without one share the remaining 15 %."""
    types = load_catalog().case_types
    known = {k: c.share for k, c in types.items() if c.share}
    rest = [k for k in types if k not in known]
    scale = 0.85 / sum(known.values())
    return {**{k: s * scale for k, s in known.items()}, **{k: 0.15 / len(rest) for k in rest}}


def offices(n: int = 103) -> list[str]:
    return [f"office-{i:03d}" for i in range(1, n + 1)]


def _rows(story: VisitStory, rng: random.Random) -> Iterator[tuple[str, tuple]]:
    versions: Counter = Counter()
    for producer, stream_id, event_type, at, payload in story.events:
        versions[stream_id] += 1
        if event_type in _OWN_IDS:  # added later: ids of their own keep the seeded history
            event_id = str(uuid.uuid5(uuid.NAMESPACE_URL, f"{stream_id}/{versions[stream_id]}"))
        else:
            event_id = str(uuid.UUID(int=rng.getrandbits(128), version=4))
        row = (event_id, f"{producer}.{event_type}", 1, stream_id, versions[stream_id],
               at.replace(tzinfo=None).isoformat(" ", "microseconds"), event_id, None, producer,
               json.dumps(payload, ensure_ascii=False, separators=(",", ":")))
        yield producer, row


def write_history(
    data_dir: Path, visits: int, *, seed: int = 2026, first_day: date = date(2026, 1, 1),
    days: int = 365, office_count: int = 103, tz: str = "Europe/Stockholm",
    office_names: list[str] | None = None,
) -> History:
    """Write ``visits`` visits (about nine events each) spread over ``days`` days, about
    5 % more that end as no-shows, two desk sessions per office and day with visits, and
    booked and video meetings on some of those days (their own generator: the rest stays)."""
    data_dir.mkdir(parents=True, exist_ok=True)
    connections = {p: _open(data_dir / name) for p, name in FILES.items()}
    rng, zone, history = random.Random(seed), ZoneInfo(tz), History()
    weights = case_weights()
    keys, cumulative = list(weights), list(weights.values())
    names, buffers = office_names or offices(office_count), {p: [] for p in FILES}
    office_days: dict[str, set[date]] = {}
    for _ in range(visits):
        day = first_day + timedelta(days=rng.randrange(days))
        local = datetime(day.year, day.month, day.day, rng.randint(9, 15), rng.randrange(60),
                         rng.randrange(60), tzinfo=zone)
        story = visit_story(rng, rng.choice(names), local.astimezone(UTC),
                            rng.choices(keys, cumulative, k=rng.choice((1, 1, 2, 2, 3))))
        stories = [story]
        extra = random.Random(story.events[0][1])  # the visit id: the seeded mix stays
        if extra.random() < 0.05:
            stories.append(no_show_story(extra, story.office_id, local.astimezone(UTC)))
        office_days.setdefault(story.office_id, set()).add(day)
        for s in stories:
            history.visits += 1
            history.questions += len(s.final)
            history.by_office[s.office_id] += 1
            history.by_case_type.update(s.final)
            _buffer(s, rng, history, buffers, connections)
    for office, seen in sorted(office_days.items()):
        opening = [datetime(d.year, d.month, d.day, 8, 45, tzinfo=zone).astimezone(UTC) for d in sorted(seen)]
        _buffer(desk_story(office, opening, timedelta(hours=7, minutes=30)), rng, history, buffers, connections)
    office_day_list = [(office, d) for office, seen in sorted(office_days.items()) for d in sorted(seen)]
    _buffer_meetings(meeting_events(random.Random(f"{seed}:meetings"), office_day_list, zone), history, buffers["intake"])
    for producer, db in connections.items():
        db.executemany(_INSERT, buffers[producer])
        db.commit()
        db.close()
    return history


def _buffer(story: VisitStory, rng: random.Random, history: History, buffers: dict, connections: dict) -> None:
    for producer, row in _rows(story, rng):
        buffers[producer].append(row)
        history.events[producer] += 1
        if len(buffers[producer]) >= 20_000:
            connections[producer].executemany(_INSERT, buffers[producer])
            buffers[producer].clear()


def _buffer_meetings(meetings: list[Meeting], history: History, buffer: list[tuple]) -> None:
    versions: Counter = Counter()
    for stream, event_type, at, payload in meetings:
        versions[stream] += 1
        eid = event_id(stream, versions[stream])
        buffer.append((eid, f"intake.{event_type}", 1, stream, versions[stream],
                       at.replace(tzinfo=None).isoformat(" ", "microseconds"), eid, None, "intake",
                       json.dumps(payload, ensure_ascii=False, separators=(",", ":"))))
        history.events["intake"] += 1
        history.meetings += event_type == "BookingMade"


def _open(path: Path) -> sqlite3.Connection:
    engine = create_engine(f"sqlite:///{path}")
    SQLModel.metadata.create_all(engine, tables=[StoredEvent.__table__])
    engine.dispose()
    db = sqlite3.connect(path)
    db.execute("PRAGMA journal_mode=WAL")
    db.execute("PRAGMA synchronous=OFF")
    db.execute("PRAGMA cache_size=-262144")  # 256 MB: the random-id indexes stay in memory
    return db
