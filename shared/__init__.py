"""The project's common library: event envelope, event store, outbox, inbox, bus, settings.

Not to be confused with ``../shared`` (the design reference folder beside the checkout).
Nothing here holds a service's domain logic.
"""
