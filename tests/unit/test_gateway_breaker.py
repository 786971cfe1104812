"""The circuit breaker and the traffic rules built on it (pure, with a fake clock)."""

from __future__ import annotations

from services.agency_gateway.domain.breaker import CircuitBreaker
from services.agency_gateway.domain.outcomes import Accepted, Rejected, TransientFailure
from services.agency_gateway.domain.traffic import Traffic

DOWN = TransientFailure("HTTP 503")


def test_it_opens_after_the_threshold_of_failures_in_a_row_only():
    breaker = CircuitBreaker(threshold=3, cooldown=5)
    breaker.failed(0)
    breaker.failed(0)
    breaker.succeeded()
    breaker.failed(0)
    breaker.failed(0)
    assert breaker.state(0) == "closed"
    breaker.failed(0)
    assert breaker.state(0) == "open" and breaker.room(4.9) == 0


def test_after_the_cooldown_one_probe_goes_and_its_success_closes_it():
    breaker = CircuitBreaker(threshold=1, cooldown=5)
    breaker.failed(0)
    assert breaker.state(5) == "half_open" and breaker.room(5) == 1
    breaker.started(5)
    assert breaker.room(5) == 0  # only one probe at a time
    breaker.succeeded()
    assert breaker.state(5) == "closed" and breaker.room(5) is None


def test_a_failed_probe_opens_it_for_twice_as_long_up_to_the_maximum():
    breaker = CircuitBreaker(threshold=1, cooldown=2, max_cooldown=3)
    breaker.failed(0)
    breaker.started(2)
    breaker.failed(2)
    assert breaker.reopens_in(2) == 3  # 2 * 2 capped at 3
    breaker.started(5)
    breaker.failed(5)
    assert breaker.reopens_in(5) == 3 and breaker.times_opened == 3


def test_traffic_keeps_an_open_agency_out_and_the_others_in():
    traffic = Traffic(total_cap=16, cap_of=lambda _: 4, new_breaker=lambda: CircuitBreaker(2, 1))
    for n in range(2):
        traffic.started(f"p{n}", "polisen", 0)
        traffic.finished(f"p{n}", DOWN, 0)
    assert traffic.blocked(0.5) == {"polisen"}
    assert traffic.room("polisen", 0.5) == 0 and traffic.room("skatteverket", 0.5) == 4
    assert traffic.next_change(0.5) == 0.5
    assert traffic.room("polisen", 1.0) == 1  # half-open: one probe


def test_traffic_counts_calls_in_flight_against_the_caps():
    traffic = Traffic(total_cap=3, cap_of=lambda _: 2)
    traffic.started("a", "polisen", 0)
    traffic.started("b", "polisen", 0)
    assert traffic.room("polisen", 0) == 0 and "polisen" in traffic.blocked(0)
    assert traffic.free_slots() == 1
    traffic.finished("a", Accepted("R"), 0)
    assert traffic.room("polisen", 0) == 1


def test_a_refusal_shows_the_agency_is_up_and_resets_the_failure_count():
    traffic = Traffic(total_cap=4, cap_of=lambda _: 4, new_breaker=lambda: CircuitBreaker(2, 1))
    traffic.started("a", "polisen", 0)
    traffic.finished("a", DOWN, 0)
    traffic.started("b", "polisen", 0)
    traffic.finished("b", Rejected("HTTP 422"), 0)
    traffic.started("c", "polisen", 0)
    traffic.finished("c", DOWN, 0)
    assert traffic.breaker("polisen").state(0) == "closed"
    assert traffic.snapshot(0)["polisen"]["failures_in_a_row"] == 1
