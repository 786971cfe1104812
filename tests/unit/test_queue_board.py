"""The queue board as a pure projection: order, positions, the day boundary, and the
estimated wait checked against what then happened on a simulated day."""

from __future__ import annotations

import heapq
import random
from datetime import UTC, datetime, timedelta

import pytest

from services.intake.domain.events import (
    DeskOpened,
    VisitCalled,
    VisitEnded,
    VisitRegistered,
    VisitTransferred,
)
from services.intake.domain.model import Visit
from services.intake.domain.queue_board import QueueBoard
from shared.errors import Conflict

T0 = datetime(2026, 12, 2, 8, 0, tzinfo=UTC)
DAY = "2026-12-02"


def registered(vid: str, at: datetime, queue: str = "general", day: str = DAY, office: str = "lulea") -> VisitRegistered:
    return VisitRegistered(
        visit_id=vid, office_id=office, channel="kiosk", agency=None, ticket=f"A{vid}",
        service_day=day, registered_at=at, queue=queue,
    )


def test_positions_count_per_queue_and_a_call_moves_everyone_up():
    board = QueueBoard()
    for i, queue in enumerate(["general", "id_card", "general"]):
        board.apply(registered(str(i), T0 + timedelta(minutes=i), queue), str(i))
    assert [board.position(v) for v in "012"] == [1, 1, 2]
    board.apply(VisitCalled(visit_id="0", desk="3", called_at=T0 + timedelta(minutes=5)), "0")
    assert board.position("0") is None and board.position("2") == 1
    assert board.office("lulea").recent[0].ticket == "A0"


def test_a_transfer_keeps_the_visitors_place_by_arrival():
    board = QueueBoard()
    board.apply(registered("early", T0), "early")
    board.apply(registered("late", T0 + timedelta(minutes=3), "polisen"), "late")
    board.apply(VisitCalled(visit_id="early", desk="1", called_at=T0 + timedelta(minutes=4)), "early")
    board.apply(VisitTransferred(visit_id="early", office_id="lulea", from_queue="general", to_queue="polisen",
                                 to_desk=None, by_desk="1", transferred_at=T0 + timedelta(minutes=9)), "early")
    order = board.candidates("lulea", ["polisen"], "2", DAY)
    assert [w.visit_id for w in order] == ["early", "late"]


def test_yesterdays_tickets_visits_at_desks_and_open_desks_do_not_carry_over():
    board = QueueBoard()
    yesterday = T0 - timedelta(days=1)
    board.apply(DeskOpened(office_id="lulea", desk="1", queues=[], handler="h", opened_at=yesterday), "d")
    board.apply(registered("old", yesterday, day="2026-12-01"), "old")
    board.apply(registered("served", yesterday, day="2026-12-01"), "served")
    board.apply(VisitCalled(visit_id="served", desk="1", called_at=yesterday), "served")
    board.apply(registered("new", T0), "new")
    office = board.office("lulea")
    assert [w.visit_id for w in board.candidates("lulea", ["general"], "1", DAY)] == ["new"]
    assert board.position("old") is None and office.serving == {} and office.desks == {}
    assert set(board.tickets) == {"new"}


def test_a_visit_already_called_cannot_be_taken_by_call_next():
    visit = Visit.register(registered("v", T0))
    visit.call_next("1", T0)
    with pytest.raises(Conflict):
        visit.call_next("2", T0)


def simulate_day(seed: int, desks: int = 3, hours: float = 7.0) -> list[tuple[float, float]]:
    """An office day as a discrete-event simulation: arrivals with a morning and a lunch
    peak, log-normal service times, desks that call the longest wait. At each arrival the
    board's estimate is noted; the pair (estimate, real wait) is returned per visitor."""
    rng = random.Random(seed)
    board = QueueBoard()
    for d in range(desks):
        board.apply(DeskOpened(office_id="lulea", desk=str(d), queues=["general"], handler="h", opened_at=T0), "d")
    arrivals, t = [], 0.0
    while t < hours * 60:
        hour = t / 60
        rate = 0.3 + 0.15 * (1 <= hour < 2.5) + 0.12 * (3.5 <= hour < 5)  # visitors a minute
        t += rng.expovariate(rate)
        arrivals.append(t)
    events: list[tuple[float, int, str, str]] = [(a, 1, "arrive", str(i)) for i, a in enumerate(arrivals)]
    heapq.heapify(events)
    free = [str(d) for d in range(desks)]
    estimates, called_at, seq = {}, {}, len(events)
    events_desk: dict[str, str] = {}  # visit being served -> its desk
    while events:
        now, _, kind, who = heapq.heappop(events)
        at = T0 + timedelta(minutes=now)
        if kind == "arrive":
            board.apply(registered(who, at), who)
            estimates[who] = board.estimate("lulea", "general", board.position(who), at)
        else:  # a desk finished: `who` is the visit, the desk is free again
            board.apply(VisitEnded(visit_id=who, satisfaction=None, ended_at=at), who)
            free.append(events_desk.pop(who))
        while free and (nxt := board.candidates("lulea", ["general"], free[0], DAY)):
            desk, visit = free.pop(0), nxt[0].visit_id
            board.apply(VisitCalled(visit_id=visit, desk=desk, called_at=at), visit)
            called_at[visit] = now
            events_desk[visit] = desk
            seq += 1
            heapq.heappush(events, (now + rng.lognormvariate(1.7, 0.5), seq, "end", visit))
    return [(estimates[v], called_at[v] - arrivals[int(v)]) for v in estimates if v in called_at]



def test_the_estimated_wait_tracks_the_real_wait_on_a_simulated_day():
    pairs = [p for seed in range(5) for p in simulate_day(seed)]
    errors = [abs(est - real) for est, real in pairs]
    naive = sum(real for _, real in pairs) / len(pairs)  # one constant guess: the day's mean wait
    naive_errors = [abs(naive - real) for _, real in pairs]
    mean_error, naive_error = sum(errors) / len(errors), sum(naive_errors) / len(naive_errors)
    print(f"estimated wait: mean abs error {mean_error:.1f} min vs {naive_error:.1f} min for the day's mean; "
          f"mean real wait {naive:.1f} min over {len(pairs)} visitors")
    assert len(pairs) > 500
    assert mean_error < 0.6 * naive_error
