"""Published event contracts: every event that crosses a service boundary, declared once.

One module per producing service (``intake``, ``routing``, ``agency_gateway``); reporting
publishes no topic, its export audit event stays in its own domain. A service's domain
uses its own contract module; other services import only these modules, never another
service's package. Each event carries ``schema_version``; an older payload is upcast on
read (``shared.events.upcaster``). ``python -m shared.contracts.schemas`` writes the JSON
Schemas in ``docs/events/`` for consumers in other languages.
"""
