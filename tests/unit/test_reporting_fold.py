"""The fold the live consumer and the replay share: order-free, idempotent, no personal
data; and the pure pieces around it (percentiles, calendar)."""

from __future__ import annotations

import random
from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

import services.reporting.handlers  # noqa: F401 - registers the producers' event classes
from servicekontor.synthetic_history import case_weights
from servicekontor.synthetic_visits import PINS, visit_story
from services.reporting.domain.calendar import date_attributes, period_key
from services.reporting.domain.fold import Fold
from services.reporting.domain.stats import percentile
from shared.events import event_class

TZ = ZoneInfo("Europe/Stockholm")
START = datetime(2026, 3, 2, 8, 0, tzinfo=UTC)


def events(visits: int, seed: int) -> list[tuple[str, dict]]:
    rng = random.Random(seed)
    keys, weights = list(case_weights()), list(case_weights().values())
    out = []
    for n in range(visits):
        story = visit_story(rng, f"office-{n % 7}", START, rng.choices(keys, weights, k=3))
        out += [(f"{producer}.{kind}", payload) for producer, _, kind, _, payload in story.events]
    return out


def folded(items: list[tuple[str, dict]]) -> Fold:
    fold = Fold(TZ)
    for event_type, payload in items:
        assert fold.apply(event_type, payload)
    fold.finish()
    return fold


def test_synthetic_payloads_have_exactly_the_producers_event_shapes() -> None:
    for event_type, payload in events(40, seed=1):
        event_class(event_type).model_validate(payload)  # extra fields are forbidden


def test_any_order_with_duplicates_folds_to_the_same_records() -> None:
    items = events(60, seed=7)
    expected = folded(items)
    kinds = {t for t, _ in items}
    assert {"gateway.CaseForwardingFailed", "routing.ClassificationOverridden"} <= kinds
    rng = random.Random(3)
    for _ in range(5):
        shuffled = items + rng.sample(items, len(items) // 4)  # re-published duplicates
        rng.shuffle(shuffled)
        again = folded(shuffled)
        assert again.visits == expected.visits
        assert again.questions == expected.questions


def test_question_counts_times_and_delivery_outcomes_follow_the_events() -> None:
    items = events(60, seed=11)
    fold = folded(items)
    recorded = [p for t, p in items if t == "intake.QuestionRecorded"]
    assert sum(v.question_count for v in fold.visits.values()) == len(recorded)
    forwarded = {p["question_id"]: p for t, p in items if t == "gateway.CaseForwarded"}
    failed = [p for t, p in items if t == "gateway.CaseForwardingFailed"]
    for question_id, event in forwarded.items():
        q = fold.questions[question_id]
        assert (q.delivery_status, q.delivery_attempts) == ("delivered", event["attempt"])
        assert q.failed_attempts == event["attempt"] - 1
        assert q.forward_seconds is not None and q.forward_seconds >= 0
    delivered_failures = sum(1 for p in failed if p["question_id"] in forwarded)
    assert sum(fold.questions[q].failed_attempts for q in forwarded) == delivered_failures
    for visit in fold.visits.values():
        assert visit.wait_seconds is not None and visit.wait_seconds >= 0
        assert 9 <= visit.registered_hour <= 10 and visit.registered_weekday == 1  # Monday


def test_an_override_stands_and_the_classifiers_answer_is_kept_beside_it() -> None:
    items = events(200, seed=5)
    overrides = [p for t, p in items if t == "routing.ClassificationOverridden"]
    assert overrides
    fold = folded(list(reversed(items)))
    for p in overrides:
        q = fold.questions[p["question_id"]]
        assert (q.level, q.overridden) == (p["level"], True)
        assert (q.classified_level, q.classified_agency) == (p["previous_level"], p["previous_agency"])


def test_the_records_hold_no_text_identity_number_or_handler_name() -> None:
    fold = folded(events(200, seed=9))
    everything = repr(fold.visits) + repr(fold.questions)
    for secret in (*PINS, "19811218-9876", "Fråga om", "Anna Andersson", "Besökaren", "ord: "):
        assert secret not in everything


def test_percentiles_are_nearest_rank() -> None:
    values = [float(v) for v in range(1, 11)]
    assert percentile(values, 0.9) == 9.0
    assert percentile(values, 0.5) == 5.0
    assert percentile([7.0], 0.9) == 7.0
    assert percentile([], 0.9) is None


def test_calendar_attributes_name_the_tertial_and_iso_week() -> None:
    assert date_attributes(date(2026, 5, 1))["tertial"] == 2
    assert date_attributes(date(2026, 12, 31))["tertial"] == 3
    assert date_attributes(date(2026, 1, 1))["iso_week"] == "2026-W01"
    assert period_key("2026-01-01", "week") == "2026-W01"
    assert period_key("2026-03-02", "month") == "2026-03"
