"""Failure tests: the system's processes under injected faults and crashes."""
