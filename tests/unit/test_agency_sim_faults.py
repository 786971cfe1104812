"""The simulator's fault plan: what each request meets (pure, seeded)."""

from __future__ import annotations

import random
from collections import Counter

import pytest
from pydantic import ValidationError

from services.agency_simulator.__main__ import parse_outage
from services.agency_simulator.faults import FaultPlan, Faults, Outage


def test_error_and_timeout_rates_hold_over_many_requests():
    plan = FaultPlan(Faults(error_rate=0.3, timeout_rate=0.1, hang_seconds=4), rng=random.Random(1))
    seen = Counter(plan.decide("polisen", 0).action for _ in range(5000))
    assert 0.27 < seen["error"] / 5000 < 0.33 and 0.08 < seen["timeout"] / 5000 < 0.12
    assert plan.seen["polisen"] == dict(seen)


def test_a_timeout_takes_the_case_and_holds_the_answer():
    plan = FaultPlan(Faults(timeout_rate=1.0, hang_seconds=4))
    assert (plan.decide("polisen", 0).action, plan.decide("polisen", 0).hang) == ("timeout", 4)


def test_an_outage_holds_for_its_window_and_for_its_agency_only():
    plan = FaultPlan(outages={"polisen": Outage(since=10, until=20, mode="hang")})
    plan.defaults = Faults(hang_seconds=30)
    assert plan.decide("polisen", 9).action == "ok"
    during = plan.decide("polisen", 15)
    assert (during.action, during.status, during.hang) == ("outage", 503, 5)  # until it ends
    assert plan.decide("skatteverket", 15).action == "ok"
    assert plan.decide("polisen", 20).action == "ok"


def test_an_agencys_own_faults_replace_the_defaults_and_counted_faults_go_first():
    plan = FaultPlan(Faults(error_rate=1.0), agencies={"polisen": Faults()})
    plan.injected["polisen"] = [503, 1]
    assert (plan.decide("polisen", 0).status, plan.decide("polisen", 0).action) == (503, "ok")
    assert plan.decide("skatteverket", 0).action == "error"


@pytest.mark.parametrize(
    "values",
    [{"error_rate": 0.7, "timeout_rate": 0.5}, {"latency_ms": (5, 1)}, {"error_statuses": [404]}],
)
def test_impossible_faults_are_refused(values):
    with pytest.raises(ValidationError):
        Faults(**values)


def test_an_outage_flag_names_agency_start_duration_and_mode():
    agency, outage = parse_outage("polisen:5:10:hang", now=100)
    assert (agency, outage.since, outage.until, outage.mode) == ("polisen", 105, 115, "hang")
