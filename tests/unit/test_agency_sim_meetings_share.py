"""The simulated agencies move and cancel a deterministic share of their meetings."""

from __future__ import annotations

import uuid

from services.agency_simulator.meetings import agency_change


def test_the_share_follows_the_rates_and_the_booking_decides():
    ids = [str(uuid.UUID(int=n)) for n in range(4000)]
    changes = [agency_change(b, 0.1, 0.05) for b in ids]
    assert abs(changes.count("moved") / len(ids) - 0.1) < 0.02
    assert abs(changes.count("cancelled") / len(ids) - 0.05) < 0.015
    assert changes == [agency_change(b, 0.1, 0.05) for b in ids]  # a rerun decides the same
    assert {agency_change(b, 0.0, 0.0) for b in ids} == {None}
    assert {agency_change(b, 0.0, 1.0) for b in ids} == {"cancelled"}
