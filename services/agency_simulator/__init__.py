"""A stand-in for the eight agencies' case systems, for the demo and the tests.

Never a production target: the gateway refuses to start in production without real
agency endpoints. Persists to SQLite so it survives restarts like the real ones would.
"""
