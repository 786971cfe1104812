"""Routing domain: classification rules, the decision aggregate, its events. No framework."""
