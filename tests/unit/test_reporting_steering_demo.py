"""``servicekontor demo --days N``: the history has the producers' event shapes, offices
of three sizes, a weekly pattern, people who come back, pseudonyms and no identity
number; the forecast's back-test on a generated year beats the seasonal naive forecast."""

from __future__ import annotations

import json
import sqlite3
from collections import Counter
from datetime import date

from servicekontor.demo_history import forecast_backtest, write_demo_history
from services.reporting import handlers  # noqa: F401  (registers the producers' event classes)
from shared.events import event_class
from shared.offices import load_offices


def test_the_history_is_valid_events_with_pseudonyms_and_no_identity_number(tmp_path) -> None:
    summary = write_demo_history(tmp_path, 21, seed=4, last_day=date(2026, 3, 31))
    sizes = Counter(o.size for o in load_offices() if o.id in summary.offices)
    assert sizes == {"large": 3, "medium": 3, "small": 4} and summary.repeat_visits > 0
    events = []
    for name in ("intake.db", "routing.db", "agency_gateway.db"):
        with sqlite3.connect(tmp_path / name) as db:
            events += db.execute("SELECT event_type, payload FROM event_store").fetchall()
    for kind, payload in events:
        event_class(kind).model_validate_json(payload)  # the producers' own shapes
    recorded = [json.loads(p) for k, p in events if k == "intake.QuestionRecorded"]
    assert len(recorded) == summary.questions and all(p["personal_identity_number"] is None for p in recorded)
    linked = Counter(p["person_pseudonym"] for p in recorded if p["person_pseudonym"])
    assert 0.4 < sum(linked.values()) / len(recorded) < 0.75 and max(linked.values()) > 1
    days = Counter(json.loads(p)["service_day"] for k, p in events if k == "intake.VisitRegistered")
    assert min(days) >= "2026-03-11" and max(days) <= "2026-03-31"
    weekday = Counter()
    for day, n in days.items():
        weekday[date.fromisoformat(day).isoweekday()] += n
    assert weekday[1] > weekday[5] and weekday[6] == weekday[7] == 0  # Mondays busiest, closed at weekends
    assert any(k == "gateway.AgencyCaseUpdated" and json.loads(p)["status"] == "decided" for k, p in events)


def test_the_back_test_on_a_generated_year() -> None:
    result = forecast_backtest(origins=3)
    visits = sum(r["visits"] for r in result.values())
    wape = sum(r["wape"] * r["visits"] for r in result.values()) / visits
    naive = sum(r["seasonal_naive_wape"] * r["visits"] for r in result.values()) / visits
    assert wape < naive and wape < 0.35
    large = [r["wape"] for r in result.values() if r["size"] == "large"]
    assert max(large) < 0.3
