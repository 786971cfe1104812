"""Routing's use cases: plain async functions taking a command (or event) and a unit of
work. ``decisions``: classify a recorded question, forward a question resolved as
``forwarded``, read a decision, apply a handler's override."""
