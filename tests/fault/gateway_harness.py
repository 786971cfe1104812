"""The agency gateway alone, as its own process, for the failure tests.

``python -m tests.fault.gateway_harness --port P [--routing-database-url URL]``

Settings come from the environment as in production (``SK_AGENCY_GATEWAY_DATABASE_URL``,
``SK_AGENCY_SIMULATOR_URL``, ``SK_AGENCY_*``). Embedded (no ``SK_KAFKA_BOOTSTRAP_SERVERS``):
the routing topic is the event store at ``--routing-database-url``, read by an
``EmbeddedBus`` exactly as ``servicekontor up`` reads routing's own store. With Kafka set,
the gateway consumes the routing topic from the broker instead.
"""

from __future__ import annotations

import argparse
import asyncio

from servicekontor.runner import run_servers
from services.agency_gateway.bootstrap import bootstrap
from services.agency_gateway.config import GatewaySettings
from shared import topics
from shared.bus import EmbeddedBus
from shared.db import create_engine, session_maker
from shared.eventstore import LoggedEvent, read_log
from shared.logging import configure_logging


def routing_log(url: str):
    """Read another process's routing event store, in position order."""
    sessions = session_maker(create_engine(url, schema="routing"))

    async def read(after: int, limit: int) -> list[LoggedEvent]:
        async with sessions() as session:
            return await read_log(session, after, limit)

    return read


async def serve(port: int, routing_url: str | None) -> None:
    settings = GatewaySettings(agency_gateway_port=port)
    configure_logging(settings.log_level, settings.log_format)
    if settings.kafka_bootstrap_servers:
        from shared.kafka_bus import KafkaBus

        bus = KafkaBus(
            settings.kafka_bootstrap_servers,
            settings.kafka_partitions,
            prefix=settings.kafka_topic_prefix,
        )
    else:
        if routing_url is None:
            raise SystemExit("embedded: --routing-database-url is required")
        bus = EmbeddedBus(idle_poll_seconds=0.05)  # the producer is another process
        bus.register_log(topics.ROUTING, routing_log(routing_url))
    runtime = bootstrap(settings, bus)
    for consumer in runtime.consumers[:1]:  # routing's cases; no intake log here for bookings
        bus.subscribe(consumer)
    await runtime.init_db()
    apps = [(runtime.app, port, runtime.name)]
    await run_servers(settings.host, apps, [bus.run, *runtime.workers], [runtime])


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--routing-database-url", default=None)
    args = parser.parse_args()
    asyncio.run(serve(args.port, args.routing_database_url))


if __name__ == "__main__":
    main()
