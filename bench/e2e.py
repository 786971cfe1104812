"""End-to-end benchmark: questions through intake -> routing -> agency_gateway -> agency
simulator, on the embedded default and on Kafka + PostgreSQL, beside raw aiokafka
produce+consume of the same number of messages (the baseline), in one run.

    python bench/e2e.py --questions 2000            # both modes + baseline
    python bench/e2e.py --modes embedded            # no servers needed

Every question is complex (an ID card), so each one must reach the agency; latency is
from the POST of the question to the simulator's receipt. Two phases per mode:
throughput (closed loop, --concurrency clients) and latency at a fixed rate
(--rate, open loop). Peak RSS per process is VmHWM from /proc. Writes
bench/results/e2e.json.

The benchmark is a kiosk client: its requests carry a kiosk bearer token (the embedded
system's credentials.json; on Kafka + PostgreSQL one signed with the system's key). The
per-client rate limit (SK_RATE_LIMIT, 6000/minute by default) would cap one kiosk token at
100 requests a second and so measure the limit, not the pipeline: the systems under test
run without it unless --rate-limit says otherwise (the output says which).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sqlite3
import statistics
import sys
import time
import uuid
from datetime import datetime
from pathlib import Path
from tempfile import mkdtemp

import httpx

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.e2e.distributed import DistributedSystem  # noqa: E402
from tests.helpers import free_port, wait_until  # noqa: E402
from tests.realservers import acquire  # noqa: E402

TEXT = "Jag vill ansöka om id-kort"


def peak_rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(p / 100 * len(ordered)))] if ordered else float("nan")


async def post_question(client: httpx.AsyncClient, intake: str, sent: dict) -> None:
    """``client`` carries the kiosk's Authorization header."""
    visit = (await client.post(f"{intake}/v1/visits", json={"office_id": "umea", "channel": "kiosk"})).json()
    started = time.time()
    q = await client.post(f"{intake}/v1/visits/{visit['visit_id']}/questions", json={"text": TEXT})
    q.raise_for_status()
    sent[q.json()["question_id"]] = started


async def closed_loop(intake: str, n: int, concurrency: int, headers: dict[str, str]) -> dict:
    sent: dict[str, float] = {}
    queue = iter(range(n))
    async with httpx.AsyncClient(timeout=60, headers=headers) as client:
        async def worker():
            for _ in queue:
                await post_question(client, intake, sent)
        await asyncio.gather(*(worker() for _ in range(concurrency)))
    return sent


async def open_loop(intake: str, n: int, rate: float, headers: dict[str, str]) -> dict:
    sent: dict[str, float] = {}
    async with httpx.AsyncClient(timeout=60, headers=headers) as client:
        tasks, start = [], time.monotonic()
        for i in range(n):
            await asyncio.sleep(max(0.0, start + i / rate - time.monotonic()))
            tasks.append(asyncio.create_task(post_question(client, intake, sent)))
        await asyncio.gather(*tasks)
    return sent


def receipts(sim_db: Path, keys: set[str]) -> dict[str, float]:
    with sqlite3.connect(sim_db, timeout=30) as db:
        rows = db.execute("select idempotency_key, received_at from agency_sim_cases").fetchall()
    return {k: _ts(t) for k, t in rows if k in keys}


def _ts(value: str) -> float:
    moment = datetime.fromisoformat(value)
    if moment.tzinfo is None:
        from datetime import UTC
        moment = moment.replace(tzinfo=UTC)
    return moment.timestamp()


def measure(sent: dict, sim_db: Path, timeout: float) -> dict:
    got = wait_until(lambda: (r := receipts(sim_db, set(sent))) and len(r) == len(sent) and r, timeout=timeout)
    latencies = [(got[k] - sent[k]) * 1000 for k in sent]
    span = max(got.values()) - min(sent.values())
    return {
        "questions": len(sent),
        "throughput_per_s": round(len(sent) / span, 1),
        "p50_ms": round(percentile(latencies, 50), 1),
        "p95_ms": round(percentile(latencies, 95), 1),
        "p99_ms": round(percentile(latencies, 99), 1),
        "mean_ms": round(statistics.fmean(latencies), 1),
    }


async def run_phases(intake: str, sim_db: Path, args, kiosk: dict[str, str]) -> dict:
    await closed_loop(intake, 50, 8, kiosk)  # warm-up
    throughput = measure(await closed_loop(intake, args.questions, args.concurrency, kiosk), sim_db, 600)
    latency = measure(await open_loop(intake, args.questions // 2, args.rate, kiosk), sim_db, 600)
    return {"throughput": throughput, "at_fixed_rate": {**latency, "target_rate": args.rate}}


def bench_embedded(args) -> dict:
    import subprocess

    work = Path(mkdtemp(prefix="sk-bench-"))
    ports = {s: free_port() for s in ("intake", "routing", "agency-gateway", "reporting", "agency-simulator")}
    cmd = [sys.executable, "-m", "servicekontor.cli", "up", "--data-dir", str(work)]
    for name, port in ports.items():
        cmd += [f"--{name}-port", str(port)]
    env = {**os.environ, "SK_LOG_LEVEL": "WARNING", "SK_RATE_LIMIT": args.rate_limit}
    env.pop("SK_KAFKA_BOOTSTRAP_SERVERS", None)
    with (work / "up.log").open("wb") as log:
        proc = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=log)
    try:
        credentials = work / "credentials.json"  # written by `up` on first start

        def started() -> bool:
            if proc.poll() is not None:
                raise SystemExit(f"servicekontor up exited: {(work / 'up.log').read_text()[-2000:]}")
            return credentials.exists()

        wait_until(started, 60)
        tokens = json.loads(credentials.read_text())
        ops = {"Authorization": f"Bearer {tokens['supervisor']}"}
        kiosk = {"Authorization": f"Bearer {tokens['kiosk']}"}
        wait_until(lambda: httpx.get(f"http://127.0.0.1:{ports['reporting']}/ready", headers=ops).status_code == 200, 60)
        result = asyncio.run(run_phases(f"http://127.0.0.1:{ports['intake']}", work / "agency_simulator.db", args, kiosk))
        result["peak_rss_mb"] = {"servicekontor up (all services)": round(peak_rss_mb(proc.pid), 1)}
        return result
    finally:
        proc.terminate()
        proc.wait(timeout=30)


def bench_distributed(args, servers) -> dict:
    work = Path(mkdtemp(prefix="sk-bench-"))
    system = DistributedSystem(
        servers, asyncio.run(servers.fresh_database()), work, extra_env={"SK_RATE_LIMIT": args.rate_limit}
    )
    system.migrate()
    try:
        for service in ("agency_simulator", "intake", "routing", "agency_gateway", "reporting"):
            system.start(service)
        kiosk = system.headers("kiosk", subject="bench-kiosk")
        result = asyncio.run(run_phases(system.first("intake").url(), work / "agency_simulator.db", args, kiosk))
        result["peak_rss_mb"] = {p.name: round(peak_rss_mb(p.popen.pid), 1) for p in system.processes}
        return result
    finally:
        system.stop_all()


async def raw_kafka(bootstrap: str, n: int) -> dict:
    from aiokafka import AIOKafkaConsumer, AIOKafkaProducer

    topic = f"bench.raw.{uuid.uuid4().hex[:8]}"
    payload = json.dumps({"text": TEXT, "pad": "x" * 400}).encode()
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, enable_idempotence=True, acks="all", linger_ms=2)
    await producer.start()
    started = time.monotonic()
    try:
        futures = [await producer.send(topic, payload, key=str(i % 97).encode()) for i in range(n)]
        await asyncio.gather(*futures)
    finally:
        await producer.stop()
    produced = time.monotonic() - started
    consumer = AIOKafkaConsumer(topic, bootstrap_servers=bootstrap, group_id=topic, auto_offset_reset="earliest", enable_auto_commit=False)
    await consumer.start()
    seen = 0
    try:
        while seen < n:
            for records in (await consumer.getmany(timeout_ms=1000)).values():
                seen += len(records)
            await consumer.commit()
    finally:
        await consumer.stop()
    total = time.monotonic() - started
    return {"messages": n, "produce_per_s": round(n / produced, 1), "produce_and_consume_per_s": round(n / total, 1)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--questions", type=int, default=2000)
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--rate", type=float, default=150.0, help="fixed rate for the latency phase")
    parser.add_argument("--modes", default="embedded,distributed")
    parser.add_argument("--rate-limit", default="", help='SK_RATE_LIMIT of the systems under test ("": none)')
    args = parser.parse_args()
    results: dict = {
        "questions": args.questions, "concurrency": args.concurrency, "cores": os.cpu_count(),
        "auth": "bearer token (kiosk) on every request",
        "rate_limit": args.rate_limit or 'off (SK_RATE_LIMIT="")',
    }
    modes = args.modes.split(",")
    if "embedded" in modes:
        results["embedded"] = bench_embedded(args)
    if "distributed" in modes:
        from contextlib import ExitStack

        with ExitStack() as stack:
            servers = acquire(stack)
            if isinstance(servers, str):
                raise SystemExit(servers)
            results["raw_aiokafka_baseline"] = asyncio.run(raw_kafka(servers.kafka_bootstrap_servers, args.questions))
            results["kafka_postgres"] = bench_distributed(args, servers)
    print_table(results)
    out = ROOT / "bench" / "results" / "e2e.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(results, indent=2))
    print(f"\nwritten: {out.relative_to(ROOT)}")


def print_table(results: dict) -> None:
    print(f"\nrequests: {results['auth']}; per-client rate limit: {results['rate_limit']}")
    print(f"{'mode':<16}{'phase':<16}{'q/s':>8}{'p50 ms':>9}{'p95 ms':>9}{'p99 ms':>9}")
    for mode in ("embedded", "kafka_postgres"):
        for phase in ("throughput", "at_fixed_rate"):
            if mode in results:
                r = results[mode][phase]
                print(f"{mode:<16}{phase:<16}{r['throughput_per_s']:>8}{r['p50_ms']:>9}{r['p95_ms']:>9}{r['p99_ms']:>9}")
        if mode in results:
            print(f"{'':<16}peak RSS MB: {results[mode]['peak_rss_mb']}")
    if "raw_aiokafka_baseline" in results:
        print(f"raw aiokafka baseline: {results['raw_aiokafka_baseline']}")


if __name__ == "__main__":
    main()
