"""Gateway benchmark: routed cases through the agency gateway's consumer and delivery
worker to the real agency simulator (served by uvicorn in this process, as in the
integration tests), on SQLite, and on PostgreSQL when ``SK_DATABASE_URL`` is set.

    python bench/gateway.py                              # SQLite, every variant
    python bench/gateway.py --cases 2000 --latency-ms 5,20
    SK_DATABASE_URL=postgresql+asyncpg://... python bench/gateway.py --backends postgres

Variants, in one run (so the comparison is on the same machine, same minute):

- ``per-delivery``: each outcome recorded in its own transaction as its call ends,
  4 calls in flight per agency (the default cap);
- ``per-delivery-cap16``: the same with 16 calls in flight per agency (what an agency
  that declares the capacity would allow: ``max_in_flight`` in ``SK_AGENCY_CONFIG``).

(The ``batched`` variants, outcomes recorded in batched transactions, went with that
path in #14: it measured no gain, see docs/performance.md.)

The ceiling, measured in the same run: the simulator alone, POSTed to directly by the
gateway's ``AgencyClient`` from as many concurrent callers as the cap allows (no
database on the caller's side). In this process the simulator shares the event loop
with the gateway, so neither figure is an agency's real capacity; the ratio is the
point: how much of the ceiling the gateway reaches.

Two phases per variant. **drain**: N cases are queued with the worker stopped, then the
worker is started and timed until every case is delivered (deliveries/s; the latency of a
drain is only queueing). **rate**: cases are fed through the consumer at a fixed rate
below capacity with the worker running; latency is the delivery row's ``queued_at`` to
``delivered_at``. All cases go to one agency (Skatteverket), as in ``bench/e2e.py``.
Writes ``bench/results/gateway.json``.

On PostgreSQL the benchmark uses its own database (``sk_gateway_bench``, created on the
server of ``SK_DATABASE_URL``) and drops its schema between variants: it never touches
the database other processes use.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import sys
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path
from tempfile import mkdtemp

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import httpx  # noqa: E402
import structlog  # noqa: E402
from sqlalchemy import text  # noqa: E402
from sqlalchemy.engine import make_url  # noqa: E402
from sqlalchemy.ext.asyncio import create_async_engine  # noqa: E402

from services.agency_gateway.adapters.agency_client import AgencyClient  # noqa: E402
from services.agency_gateway.bootstrap import bootstrap  # noqa: E402
from services.agency_gateway.config import GatewaySettings  # noqa: E402
from services.agency_gateway.handlers import case_of  # noqa: E402
from services.agency_simulator.app import build_simulator  # noqa: E402
from services.agency_simulator.faults import FaultPlan, Faults  # noqa: E402
from shared import topics  # noqa: E402
from shared.db import sqlite_url  # noqa: E402
from shared.tracking import Checkpoint  # noqa: E402
from tests.integration.gateway_support import routed, serve  # noqa: E402

AGENCY = "skatteverket"
BENCH_DATABASE = "sk_gateway_bench"
VARIANTS = {
    "per-delivery": {"agency_max_in_flight_per_agency": 4},
    "per-delivery-cap16": {"agency_max_in_flight_per_agency": 16},
}


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(p / 100 * len(ordered)))] if ordered else float("nan")


async def postgres_url(base: str) -> str:
    """The benchmark's own database on the same server (created if missing), with an
    empty ``agency_gateway`` schema."""
    url = make_url(base)
    admin = create_async_engine(url, isolation_level="AUTOCOMMIT")
    async with admin.connect() as conn:
        exists = await conn.scalar(
            text("SELECT 1 FROM pg_database WHERE datname = :n"), {"n": BENCH_DATABASE}
        )
        if not exists:
            await conn.execute(text(f'CREATE DATABASE "{BENCH_DATABASE}"'))
    await admin.dispose()
    own = url.set(database=BENCH_DATABASE)
    engine = create_async_engine(own, isolation_level="AUTOCOMMIT")
    async with engine.connect() as conn:
        for schema in ("agency_gateway", "vault"):
            await conn.execute(text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
    await engine.dispose()
    return own.render_as_string(hide_password=False)


async def run_variant(name: str, overrides: dict, backend: str, args: argparse.Namespace) -> dict:
    work = Path(mkdtemp(prefix=f"sk-gwbench-{name}-"))
    plan = FaultPlan(defaults=Faults(latency_ms=args.latency))
    async with serve(build_simulator(work / "simulator", plan=plan, seed=1)) as sim_url:
        database = (
            await postgres_url(os.environ["SK_DATABASE_URL"])
            if backend == "postgres"
            else sqlite_url(work / "gateway" / "agency_gateway.db")
        )
        settings = GatewaySettings(
            data_dir=work / "gateway",
            agency_gateway_database_url=database,
            agency_simulator_url=sim_url,
            **overrides,
        )
        runtime = bootstrap(settings)
        await runtime.init_db()
        consumer, worker = runtime.consumers[0], runtime.deps.worker
        position = 0

        async def feed(n: int) -> list[str]:
            nonlocal position
            items = []
            for _ in range(n):
                position += 1
                envelope = routed(AGENCY, str(uuid.uuid4()))
                items.append((envelope, Checkpoint(topics.ROUTING, 0, position)))
            await consumer.handle_batch(items)
            return [envelope.stream_id for envelope, _ in items]

        async def delivered() -> int:
            async with runtime.uow_factory() as uow:
                return (await uow.deliveries.find("delivered", None, 1))[1]

        async def wait_for(n: int, timeout: float) -> None:
            deadline = time.monotonic() + timeout
            while await delivered() < n:
                if time.monotonic() > deadline:
                    raise RuntimeError(f"{name}: only {await delivered()} of {n} delivered")
                await asyncio.sleep(0.02)

        async def latencies(ids: set[str]) -> list[float]:
            """Queued to delivered, in ms, of the cases ``ids``."""
            async with runtime.uow_factory() as uow:
                rows, _ = await uow.deliveries.find("delivered", None, 1_000_000)
            return [
                (r.delivered_at - r.queued_at).total_seconds() * 1000
                for r in rows
                if r.question_id in ids
            ]

        try:
            # drain: a backlog, then the worker alone
            for start in range(0, args.cases, 200):
                await feed(min(200, args.cases - start))
            started = time.perf_counter()
            task = asyncio.create_task(worker.run())
            await wait_for(args.cases, timeout=args.cases)
            drain_seconds = time.perf_counter() - started

            # rate: an open loop below capacity, the worker running
            interval = 1 / args.rate
            rate_ids: set[str] = set()
            rate_started = time.perf_counter()
            for i in range(args.rate_cases):
                rate_ids.update(await feed(1))
                delay = rate_started + (i + 1) * interval - time.perf_counter()
                if delay > 0:
                    await asyncio.sleep(delay)
            await wait_for(args.cases + args.rate_cases, timeout=args.rate_cases)
            rate_seconds = time.perf_counter() - rate_started
            rate_latencies = await latencies(rate_ids)
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)
        finally:
            await runtime.close()
        async with httpx.AsyncClient(base_url=sim_url) as sim:
            received = (await sim.get("/v1/received")).json()
    return {
        "variant": name,
        "backend": backend,
        "settings": overrides,
        "drain": {
            "cases": args.cases,
            "seconds": round(drain_seconds, 2),
            "deliveries_per_s": round(args.cases / drain_seconds, 1),
        },
        "rate": {
            "cases": args.rate_cases,
            "offered_per_s": args.rate,
            "achieved_per_s": round(args.rate_cases / rate_seconds, 1),
            "p50_ms": round(percentile(rate_latencies, 50), 1),
            "p95_ms": round(percentile(rate_latencies, 95), 1),
            "p99_ms": round(percentile(rate_latencies, 99), 1),
            "mean_ms": round(statistics.fmean(rate_latencies), 1) if rate_latencies else None,
        },
        "simulator": {
            "unique_cases": received["unique_cases"],
            "total_requests": received["total_requests"],
            "duplicates": received["duplicates"],
        },
    }


async def ceiling(concurrency: int, args: argparse.Namespace) -> dict:
    """The simulator alone at ``concurrency`` calls in flight: what no gateway can beat."""
    work = Path(mkdtemp(prefix="sk-gwbench-ceiling-"))
    plan = FaultPlan(defaults=Faults(latency_ms=args.latency))
    async with serve(build_simulator(work / "simulator", plan=plan, seed=1)) as sim_url:
        target = GatewaySettings(data_dir=work, agency_simulator_url=sim_url).target(AGENCY)
        cases = iter([case_of(routed(AGENCY).event()) for _ in range(args.cases)])
        latencies: list[float] = []
        async with httpx.AsyncClient() as http:
            client = AgencyClient(http)

            async def caller() -> None:
                for case in cases:
                    started = time.perf_counter()
                    await client.send(target, case["case_id"], case)
                    latencies.append((time.perf_counter() - started) * 1000)

            started = time.perf_counter()
            await asyncio.gather(*(caller() for _ in range(concurrency)))
            seconds = time.perf_counter() - started
    result = {
        "concurrency": concurrency,
        "calls": args.cases,
        "calls_per_s": round(args.cases / seconds, 1),
        "p50_ms": round(percentile(latencies, 50), 1),
        "p99_ms": round(percentile(latencies, 99), 1),
    }
    print(
        f"ceiling: simulator alone, {concurrency} in flight: {result['calls_per_s']}/s,"
        f" p50 {result['p50_ms']} ms p99 {result['p99_ms']} ms",
        flush=True,
    )
    return result


def show(result: dict) -> None:
    d, r = result["drain"], result["rate"]
    print(
        f"{result['backend']:8} {result['variant']:14} drain {d['cases']:5} in {d['seconds']:6.2f} s"
        f" = {d['deliveries_per_s']:7.1f}/s | rate {r['offered_per_s']}/s offered,"
        f" {r['achieved_per_s']}/s: p50 {r['p50_ms']} ms p95 {r['p95_ms']} ms"
        f" p99 {r['p99_ms']} ms | simulator {result['simulator']}",
        flush=True,
    )


async def main(args: argparse.Namespace) -> None:
    structlog.configure(wrapper_class=structlog.make_filtering_bound_logger(40))
    results = []
    caps = sorted({v["agency_max_in_flight_per_agency"] for v in map(VARIANTS.get, args.variants)})
    ceilings = [await ceiling(cap, args) for cap in caps]
    for backend in args.backends:
        if backend == "postgres" and not os.environ.get("SK_DATABASE_URL"):
            print("postgres: skipped (SK_DATABASE_URL is not set)")
            continue
        for name in args.variants:
            result = await run_variant(name, VARIANTS[name], backend, args)
            show(result)
            results.append(result)
    out = ROOT / "bench" / "results" / "gateway.json"
    meta = {
        "when": datetime.now(UTC).isoformat(timespec="seconds"),
        "cores": os.cpu_count(),
        "latency_ms": args.latency,
    }
    out.write_text(
        json.dumps({"meta": meta, "ceilings": ceilings, "results": results}, indent=2) + "\n"
    )
    print(f"wrote {out.relative_to(ROOT)}")


def parse() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--cases", type=int, default=1000, help="drain phase")
    parser.add_argument("--rate-cases", type=int, default=300)
    parser.add_argument("--rate", type=float, default=50.0, help="cases/s offered")
    parser.add_argument("--latency-ms", default="5,20", help="simulator answer time MIN,MAX")
    parser.add_argument("--backends", nargs="+", default=["sqlite", "postgres"])
    parser.add_argument("--variants", nargs="+", default=list(VARIANTS), choices=list(VARIANTS))
    args = parser.parse_args()
    low, _, high = args.latency_ms.partition(",")
    args.latency = (float(low), float(high or low))
    return args


if __name__ == "__main__":
    asyncio.run(main(parse()))
