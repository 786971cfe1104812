"""The Delivery aggregate's rules and the retry schedule (pure domain, no I/O)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from services.agency_gateway.domain.events import (
    CaseDeadLettered,
    CaseForwarded,
    CaseForwardingFailed,
    CaseQueuedForDelivery,
)
from services.agency_gateway.domain.model import Delivery
from services.agency_gateway.domain.outcomes import (
    Accepted,
    Rejected,
    RetryPolicy,
    TransientFailure,
)
from shared.errors import Conflict
from tests.factories import case_queued_for_delivery

T0 = datetime(2025, 3, 1, 9, 0, tzinfo=UTC)
POLICY = RetryPolicy(initial=1.0, maximum=8.0, jitter=0.5)


def queued_delivery() -> Delivery:
    return Delivery.queue(case_queued_for_delivery(queued_at=T0))


def test_a_queued_delivery_is_pending_with_no_attempts():
    delivery = queued_delivery()
    assert delivery.state.status == "pending"
    assert delivery.state.attempts == 0
    assert [type(e) for e in delivery.pending] == [CaseQueuedForDelivery]


def test_an_accepted_case_is_delivered_with_the_agency_reference():
    delivery = queued_delivery()
    delivery.record(Accepted("SKV-2025-000001"), T0, POLICY, 0.0)
    assert delivery.state.status == "delivered"
    assert delivery.state.agency_reference == "SKV-2025-000001"
    assert delivery.state.attempts == 1
    forwarded = delivery.pending[-1]
    assert isinstance(forwarded, CaseForwarded) and forwarded.attempt == 1


def test_a_transient_failure_schedules_a_retry_and_counts_the_attempt():
    delivery = queued_delivery()
    delivery.record(TransientFailure("HTTP 503"), T0, POLICY, 0.0)
    assert delivery.state.status == "failed"
    assert delivery.state.attempts == 1
    assert delivery.state.retry_at == T0 + timedelta(seconds=1.0)
    failed = delivery.pending[-1]
    assert isinstance(failed, CaseForwardingFailed)
    assert (failed.attempt, failed.reason, failed.retry_at) == (
        1,
        "HTTP 503",
        T0 + timedelta(seconds=1),
    )


def test_attempts_keep_counting_across_failures_until_delivered():
    delivery = queued_delivery()
    delivery.record(TransientFailure("HTTP 503"), T0, POLICY, 0.0)
    delivery.record(TransientFailure("timeout"), T0, POLICY, 0.0)
    delivery.record(Accepted("SKV-1"), T0, POLICY, 0.0)
    assert (delivery.state.status, delivery.state.attempts) == ("delivered", 3)
    assert delivery.version == 4


def test_a_rejected_case_is_dead_lettered_at_once():
    delivery = queued_delivery()
    delivery.record(Rejected("HTTP 422: bad case type"), T0, POLICY, 0.0)
    assert delivery.state.status == "dead_lettered"
    assert delivery.state.last_error == "HTTP 422: bad case type"
    assert isinstance(delivery.pending[-1], CaseDeadLettered)


@pytest.mark.parametrize("first", [Accepted("SKV-1"), Rejected("HTTP 400")])
def test_no_outcome_is_recorded_after_a_final_one(first):
    delivery = queued_delivery()
    delivery.record(first, T0, POLICY, 0.0)
    with pytest.raises(Conflict):
        delivery.record(Accepted("SKV-2"), T0, POLICY, 0.0)


def test_an_outcome_for_a_delivery_never_queued_is_refused():
    with pytest.raises(Conflict):
        Delivery("unknown").record(Accepted("X"), T0, POLICY, 0.0)


def test_with_max_attempts_the_last_failure_dead_letters_without_a_retry():
    policy = RetryPolicy(initial=1.0, maximum=8.0, jitter=0.0, max_attempts=2)
    delivery = queued_delivery()
    delivery.record(TransientFailure("HTTP 503"), T0, policy, 0.0)
    delivery.record(TransientFailure("HTTP 503"), T0, policy, 0.0)
    assert delivery.state.status == "dead_lettered"
    assert delivery.state.attempts == 2
    failed, dead = delivery.pending[-2:]
    assert isinstance(failed, CaseForwardingFailed) and failed.retry_at is None
    assert isinstance(dead, CaseDeadLettered) and dead.attempt == 2


def test_rehydrating_the_events_gives_the_same_state():
    delivery = queued_delivery()
    delivery.record(TransientFailure("timeout"), T0, POLICY, 0.3)
    delivery.record(Accepted("SKV-9"), T0, POLICY, 0.0)
    again = Delivery.rehydrate(delivery.id, delivery.pending)
    assert again.state == delivery.state
    assert again.version == delivery.version


def test_backoff_doubles_from_the_initial_delay_up_to_the_maximum():
    policy = RetryPolicy(initial=0.5, maximum=30.0, jitter=0.0)
    assert [policy.delay(n, 0.0) for n in range(1, 9)] == [0.5, 1, 2, 4, 8, 16, 30, 30]
    assert policy.delay(10_000, 0.0) == 30.0


def test_jitter_shortens_the_delay_by_at_most_its_fraction():
    policy = RetryPolicy(initial=4.0, maximum=30.0, jitter=0.5)
    assert policy.delay(1, 0.0) == 4.0
    assert policy.delay(1, 0.999) == pytest.approx(2.002)
    assert all(2.0 < policy.delay(1, r / 10) <= 4.0 for r in range(10))


def test_a_retry_after_from_the_agency_is_respected():
    policy = RetryPolicy(initial=0.5, maximum=30.0, jitter=0.0)
    assert policy.delay(1, 0.0, retry_after=120) == 120
    assert policy.delay(6, 0.0, retry_after=1) == 16
