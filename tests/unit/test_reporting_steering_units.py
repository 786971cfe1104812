"""The pieces of the steering figures, by hand: the pseudonym (keyed, not reversible, not
recomputable without the key), the estimate intake records at the kiosk, erasure in the
fold, Erlang C, the spread and its outliers, and the forecast and its back-test."""

from __future__ import annotations

import hashlib
import math
import random
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from services.intake.adapters.pseudonym import Pseudonymizer, build_pseudonymizer
from services.intake.bootstrap import build_office_day
from services.intake.config import IntakeSettings
from services.intake.domain.commands import OpenDesk, RecordQuestion, RegisterVisit
from services.intake.handlers import queue, visits
from services.intake.unit_of_work import FakeIntakeUnitOfWork
from services.reporting.domain.erlang import desks_needed, erlang_c, share_within
from services.reporting.domain.forecast import backtest, forecast_hours, wape
from services.reporting.domain.spread import flag_outliers
from services.reporting.domain.steering_rules import STEERING_APPLIERS, SteeringRecords
from shared.catalog import load_catalog
from shared.vault import InMemoryVault

CATALOG = load_catalog()
TZ = ZoneInfo("Europe/Stockholm")
PIN = "198112189876"


async def test_the_pseudonym_is_a_keyed_hash_that_reporting_cannot_turn_back() -> None:
    uow, vault, key = FakeIntakeUnitOfWork(), InMemoryVault(), b"s" * 32
    day = build_office_day(TZ)
    day.feed.follow(uow.read_log)
    visit = await queue.register_visit(RegisterVisit("kiruna", "kiosk", None), uow.fresh(), CATALOG, day)
    cmd = RecordQuestion(visit.id, "Fråga", "skatteverket", "folkbokforing", "19811218-9876")
    event = await visits.record_question(cmd, uow.fresh(), CATALOG, vault, Pseudonymizer(key))
    pseudonym = event.person_pseudonym
    assert pseudonym == Pseudonymizer(key).of(PIN) and len(pseudonym) == 64
    # the same person, asked at another visit, links; another key gives another pseudonym
    again = await visits.record_question(cmd, uow.fresh(), CATALOG, vault, Pseudonymizer(key))
    assert again.person_pseudonym == pseudonym != Pseudonymizer(b"t" * 32).of(PIN)
    # nothing without the key recovers the number: not a plain hash, and not the number
    assert pseudonym not in {hashlib.sha256(PIN.encode()).hexdigest(), hashlib.sha256(PIN[2:].encode()).hexdigest()}
    assert PIN not in pseudonym and PIN[2:] not in pseudonym
    # a reporting reader who guesses every number of that birthday still needs the key
    guesses = {hashlib.sha256(f"19811218{n:04d}".encode()).hexdigest() for n in range(10_000)}
    assert pseudonym not in guesses
    assert "sss" not in repr(Pseudonymizer(key))
    plain = await visits.record_question(RecordQuestion(visit.id, "Fråga"), uow.fresh(), CATALOG, vault,
                                           Pseudonymizer(key))
    assert plain.person_pseudonym is None


def test_production_needs_the_pseudonym_key_and_development_keeps_one_in_a_file(tmp_path) -> None:
    with pytest.raises(SystemExit):
        build_pseudonymizer(IntakeSettings(environment="production", data_dir=tmp_path, master_key="x"))
    first = build_pseudonymizer(IntakeSettings(data_dir=tmp_path)).of(PIN)
    assert build_pseudonymizer(IntakeSettings(data_dir=tmp_path)).of(PIN) == first
    assert (tmp_path / "auth" / "pseudonym.key").stat().st_mode & 0o077 == 0


async def test_the_kiosk_estimate_is_recorded_with_the_registration() -> None:
    uow = FakeIntakeUnitOfWork()
    day = build_office_day(TZ)
    day.feed.follow(uow.read_log)
    first = await queue.register_visit(RegisterVisit("kiruna", "kiosk", None), uow.fresh(), CATALOG, day)
    assert first.state.office_id == "kiruna"
    [registered] = uow.events.of_type("intake.VisitRegistered")
    assert registered.event().estimated_wait_minutes is None  # no desk open: no estimate shown
    await queue.open_desk(OpenDesk("kiruna", "1", ("general",), "h"), uow.fresh(), day)
    for _ in range(3):
        await queue.register_visit(RegisterVisit("kiruna", "kiosk", None), uow.fresh(), CATALOG, day)
    shown = [e.event().estimated_wait_minutes for e in uow.events.of_type("intake.VisitRegistered")]
    # one desk, idle: positions 2, 3, 4 → (ahead − idle desks) / desks + ½, times the default
    # service time; the first visitor still waits, so the second is at position 2
    minutes = day.board.service_minutes("kiruna", "general", datetime.now(UTC))
    assert shown[1:] == [round((k + 0.5) * minutes, 1) for k in (0, 1, 2)]


def test_an_erasure_removes_the_link_in_either_order() -> None:
    linked = {"visit_id": "v", "question_id": "q", "person_pseudonym": "p" * 64}
    erased = {"visit_id": "v", "actor": "a", "erased_at": "2026-03-01T10:00:00Z"}
    for order in ((("intake.QuestionRecorded", linked), ("intake.PersonalDataErased", erased)),
                  (("intake.PersonalDataErased", erased), ("intake.QuestionRecorded", linked))):
        records = SteeringRecords()
        for kind, payload in order:
            STEERING_APPLIERS[kind](payload, records)
        assert records.live_links() == []


def test_erlang_c_by_hand() -> None:
    # 2 desks, load 1 erlang: B(2, 1) = 0.2, C = 2 · 0.2 / (2 − 1 · 0.8) = 1/3
    assert erlang_c(2, 1.0) == pytest.approx(1 / 3)
    # 6 visits an hour, 10 minutes each (1 erlang), 2 desks: P(wait ≤ 15) = 1 − ⅓ e^(−(0.2 − 0.1)·15)
    assert share_within(2, 6, 10, 15) == pytest.approx(1 - math.exp(-1.5) / 3)
    assert desks_needed(6, 10) == 2 and desks_needed(0, 10) == 0
    assert desks_needed(30, 12) >= 7  # 6 erlangs need more than 6 desks
    assert share_within(desks_needed(30, 12), 30, 12, 15) >= 0.9 > share_within(desks_needed(30, 12) - 1, 30, 12, 15)


def test_the_spread_flags_the_office_beyond_the_fences() -> None:
    rows = [{"office_id": o, "cost_per_visit": v} for o, v in zip("abcde", (100, 110, 120, 130, 400), strict=True)]
    spread = flag_outliers(rows, ["cost_per_visit"])["cost_per_visit"]
    assert (spread["median"], spread["q1"], spread["q3"]) == (120, 110, 130)
    assert spread["high_fence"] == 130 + 1.5 * 20
    assert [r["office_id"] for r in rows if r["outliers"]] == ["e"] and rows[4]["outliers"] == ["cost_per_visit:high"]


def _year(seed: int = 3, scale: float = 40) -> dict[tuple[date, int], float]:
    """A weekday office: Monday busiest, closed at weekends, lunch peak, Poisson noise."""
    rng, out = random.Random(seed), {}
    for k in range(364):
        day = date(2025, 1, 6) + timedelta(k)
        if day.isoweekday() > 5:
            continue
        mean = scale * (1.3 if day.isoweekday() == 1 else 1.0) * (1 + 0.2 * math.sin(k / 58))
        for hour, share in ((10, 0.2), (11, 0.25), (12, 0.3), (13, 0.15), (14, 0.1)):
            lam, n, p = mean * share, 0, math.exp(-mean * share)
            cumulative, u = p, rng.random()
            while u > cumulative:
                n += 1
                p *= lam / n
                cumulative += p
            if n:
                out[(day, hour)] = float(n)
    return out


def test_the_forecast_follows_the_weekly_pattern_and_beats_the_seasonal_naive_forecast() -> None:
    hourly = _year()
    last = date(2025, 10, 31)  # a Friday
    cells = forecast_hours({c: n for c, n in hourly.items() if c[0] <= last}, last, last + timedelta(1), 7)
    per_day = {d: sum(n for (dd, _), n in cells.items() if dd == d) for d, _ in cells}
    monday = last + timedelta(3)
    assert set(per_day) == {monday + timedelta(k) for k in range(5)}  # no weekend hours
    assert per_day[monday] > per_day[monday + timedelta(1)]
    result = backtest(hourly, [date(2025, 9, 5) + timedelta(weeks=2 * k) for k in range(6)], 14)
    assert result["wape"] < result["seasonal_naive_wape"] and result["wape"] < 0.35
    assert wape({(monday, 10): 4.0}, {(monday, 10): 3.0, (monday, 11): 1.0}) == 0.5
