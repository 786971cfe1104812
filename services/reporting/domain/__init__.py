"""Reporting's pure rules: read-model records and statistics, no framework."""
