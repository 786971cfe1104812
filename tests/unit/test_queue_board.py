"""The queue board as a pure projection: order, positions, the day boundary, and the
estimated wait checked against what then happened on a simulated day."""

from __future__ import annotations

import heapq
import random
from datetime import timedelta

import pytest

from services.intake.domain.model import Visit
from services.intake.domain.queue_board import QueueBoard
from shared.errors import Conflict
from tests.factories import (
    at,
    desk_opened,
    visit_called,
    visit_ended,
    visit_registered,
    visit_transferred,
)

DAY = "2026-12-02"
T0 = at(0, DAY)
OFFICE = "lulea"  # takes ID-card applications, has Polisen's desk


def test_positions_count_per_queue_and_a_call_moves_everyone_up():
    board = QueueBoard()
    for i, queue in enumerate(["general", "id_card", "general"]):
        registered = visit_registered(
            visit_id=str(i), office_id=OFFICE, ticket=f"A{i}", queue=queue, registered_at=at(i, DAY)
        )
        board.apply(registered, str(i))
    assert [board.position(v) for v in "012"] == [1, 1, 2]
    board.apply(visit_called(visit_id="0", office_id=OFFICE, desk="3", called_at=at(5, DAY)), "0")
    assert board.position("0") is None and board.position("2") == 1
    assert board.office(OFFICE).recent[0].ticket == "A0"


def test_a_transfer_keeps_the_visitors_place_by_arrival():
    board = QueueBoard()
    board.apply(visit_registered(visit_id="early", office_id=OFFICE, registered_at=T0), "early")
    late = visit_registered(visit_id="late", office_id=OFFICE, queue="polisen", registered_at=at(3, DAY))
    board.apply(late, "late")
    board.apply(visit_called(visit_id="early", office_id=OFFICE, called_at=at(4, DAY)), "early")
    board.apply(visit_transferred(visit_id="early", office_id=OFFICE, from_queue="general", to_queue="polisen",
                                  transferred_at=at(9, DAY)), "early")
    order = board.candidates(OFFICE, ["polisen"], "2", DAY)
    assert [w.visit_id for w in order] == ["early", "late"]


def test_yesterdays_tickets_visits_at_desks_and_open_desks_do_not_carry_over():
    board = QueueBoard()
    yesterday = T0 - timedelta(days=1)
    board.apply(desk_opened(office_id=OFFICE, desk="1", queues=[], opened_at=yesterday), "d")
    for vid in ("old", "served"):
        board.apply(visit_registered(visit_id=vid, office_id=OFFICE, service_day="2026-12-01",
                                     registered_at=yesterday), vid)
    board.apply(visit_called(visit_id="served", office_id=OFFICE, desk="1", called_at=yesterday), "served")
    board.apply(visit_registered(visit_id="new", office_id=OFFICE, registered_at=T0), "new")
    office = board.office(OFFICE)
    assert [w.visit_id for w in board.candidates(OFFICE, ["general"], "1", DAY)] == ["new"]
    assert board.position("old") is None and office.serving == {} and office.desks == {}
    assert set(board.tickets) == {"new"}


def test_a_visit_already_called_cannot_be_taken_by_call_next():
    visit = Visit.register(visit_registered(visit_id="v", registered_at=T0))
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
        board.apply(desk_opened(office_id=OFFICE, desk=str(d), queues=["general"], opened_at=T0), "d")
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
        moment = at(now, DAY)
        if kind == "arrive":
            board.apply(visit_registered(visit_id=who, office_id=OFFICE, registered_at=moment), who)
            estimates[who] = board.estimate(OFFICE, "general", board.position(who), moment)
        else:  # a desk finished: `who` is the visit, the desk is free again
            board.apply(visit_ended(visit_id=who, ended_at=moment), who)
            free.append(events_desk.pop(who))
        while free and (nxt := board.candidates(OFFICE, ["general"], free[0], DAY)):
            desk, visit = free.pop(0), nxt[0].visit_id
            board.apply(visit_called(visit_id=visit, office_id=OFFICE, desk=desk, called_at=moment), visit)
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


def test_the_kept_counts_match_the_tickets_on_the_board_through_random_days():
    """``waiting_in`` (O(1), kept as the board folds) equals counting the day's tickets,
    through calls, transfers to queues and desks, ends, a new day and late events."""
    rng = random.Random(7)
    board = QueueBoard()
    days, queues, known = ["2026-12-01", DAY], ["general", "id_card", "polisen"], []
    for step in range(600):
        day = days[0] if step < 200 or rng.random() < 0.05 else days[1]  # late events of day one
        moment = at(step, day)
        vid, roll = str(step), rng.random()
        if roll < 0.5 or not known:
            board.apply(visit_registered(visit_id=vid, office_id=OFFICE, queue=rng.choice(queues),
                                         service_day=day, registered_at=moment), vid)
            known.append(vid)
        elif roll < 0.7:
            v = rng.choice(known)
            board.apply(visit_called(visit_id=v, office_id=OFFICE, desk="1", called_at=moment), v)
        elif roll < 0.85:
            v = rng.choice(known)
            to_desk = "2" if rng.random() < 0.3 else None
            board.apply(visit_transferred(visit_id=v, office_id=OFFICE, from_queue="general",
                                          to_queue=rng.choice(queues), to_desk=to_desk, transferred_at=moment), v)
        else:
            v = rng.choice(known)
            board.apply(visit_ended(visit_id=v, ended_at=moment), v)
        office = board.office(OFFICE)
        for d in days:
            for q in queues:
                counted = sum(w.queue == q and w.to_desk is None for w in office.waiting_today(d))
                assert office.waiting_in(d, q) == counted
    assert not board.office(OFFICE).waiting_today(days[0]) or board.office(OFFICE).stale
