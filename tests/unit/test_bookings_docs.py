"""docs/bookings.md's roles table is ``ROLE_SCOPES`` (shared/auth.py), and it names every
calendar and booking route intake serves."""

from __future__ import annotations

import re
from pathlib import Path

from services.intake.bootstrap import bootstrap
from services.intake.config import IntakeSettings
from shared.auth import ROLE_SCOPES

DOC = Path(__file__).parents[2] / "docs" / "bookings.md"


def test_the_roles_table_is_role_scopes():
    lines = DOC.read_text().split("## Roles", 1)[1].split("\n## ", 1)[0].splitlines()  # the section only
    header = next(line for line in lines if line.startswith("| role"))
    scopes = re.findall(r"`([a-z_:]+)`", header)
    rows = {cells[0]: cells[1:] for line in lines if line.startswith("| ") and not line.startswith("| role")
            for cells in [[c.strip() for c in line.strip("|").split("|")]]}
    assert set(rows) == set(ROLE_SCOPES)
    for role, cells in rows.items():
        assert {s for s, c in zip(scopes, cells, strict=True) if c == "yes"} == set(scopes) & ROLE_SCOPES[role], role


def test_every_booking_route_is_documented(tmp_path):
    paths = bootstrap(IntakeSettings(data_dir=tmp_path)).app.openapi()["paths"]
    text = DOC.read_text()
    for path, operations in paths.items():
        if "/bookings" in path or path.endswith(("/slots", "/video-rooms")):
            for method in operations:
                assert f"`{method.upper()} {path}" in text, (method, path)
