"""A database going away is an outage (wait, answer 503, retry; never dead-letter), a
fault in the data is not: told apart by the SQLSTATE class the driver reports. The soak
saw PostgreSQL's shutdown (57P03) answered as a 500."""

from __future__ import annotations

import pytest
from sqlalchemy import exc

from shared.db import is_transient


class DriverError(Exception):
    def __init__(self, sqlstate: str | None) -> None:
        super().__init__(f"driver error {sqlstate}")
        self.sqlstate = sqlstate


def wrapped(sqlstate: str | None) -> exc.DBAPIError:
    return exc.DBAPIError("SELECT 1", {}, DriverError(sqlstate))


@pytest.mark.parametrize("sqlstate", ["57P01", "57P02", "57P03", "08006", "08001"])
def test_a_server_shutting_down_or_unreachable_is_transient(sqlstate):
    assert is_transient(wrapped(sqlstate))


@pytest.mark.parametrize("sqlstate", ["23505", "22P02", "42P01", None])
def test_a_fault_in_the_data_or_the_code_is_not(sqlstate):
    assert not is_transient(wrapped(sqlstate))
