"""Intake's use cases: plain async functions taking a command (or event) and a unit of
work. ``visits``: a visit's questions, calls, end and erasure; ``queue``: the office
day's tickets, desks and calls; ``overview``: the desk's read model fed by routing's and
the gateway's events."""
