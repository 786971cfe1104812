"""Intake domain: the visit aggregate, its events and commands. No framework imports."""
