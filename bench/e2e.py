"""End-to-end benchmark (issue #13): what a question costs through intake -> routing ->
agency_gateway -> agency simulator -> reporting, beside bare anchors, in one run.

    python bench/e2e.py --questions 2000                                   # everything
    python bench/e2e.py --questions 150 --modes embedded --workloads mixed # no servers needed

Anchors, measured in the same run with the same load generator (closed loop,
--concurrency clients): a bare FastAPI + uvicorn app whose one POST inserts a row into
SQLite (aiosqlite), the same into PostgreSQL (asyncpg pool) when real servers are available
(bench/anchors.py, each in its own process), and raw aiokafka produce + consume.

Modes: ``embedded`` (one ``servicekontor up``) and ``distributed`` (the services as separate
processes on Kafka + PostgreSQL, tests/e2e/distributed.py; servers from
tests.realservers.acquire, skipped with the reason when there are none).
Workloads: ``mixed`` (60 % general, 25 % in-depth, 15 % complex) and ``complex`` (all
complex: every case goes to the agency simulator), texts from bench/questions.json
(dev-set questions the classifier puts at their gold level). One visit per question.

Per mode and workload, two phases:
- throughput: closed loop of --questions questions; the clock runs from the first POST
  until reporting counts every question as classified (GET /v1/stats/summary, polled every
  0.1 s; the cost of one poll is measured and printed), and for ``complex`` until the simulator's database also holds every case;
- latency: open loop at --rate questions/s (default: half the throughput just measured);
  latency is from the POST of the question to routing's decision time (``decided_at`` of
  GET /v1/questions/{id}/decision, routing's clock when it classified), read after the
  phase so that observing adds no load while it runs.
CPU is utime+stime (+ reaped children) from /proc/<pid>/stat of every process in each
server's tree, per question, from the phase's first POST until the servers are back at
rest (what the questions set going after reporting counted them is theirs too; each phase
also starts at rest); also net of the idle CPU; Kafka's JVM and PostgreSQL (found by their
listening ports) as infrastructure CPU, apart (shared servers: other users' load counts
too); the load generator's own CPU (this process, getrusage) too: it shares the cores.
Each mode first measures the servers' CPU at rest (idle_cores: background workers and
pollers, the floor under every phase's figure). Peak RSS is VmHWM of each process. Rate limit off (SK_RATE_LIMIT="", else one kiosk token
is capped at 100 requests/s) unless --rate-limit; SK_LOG_LEVEL=WARNING.
Writes bench/results/e2e.json and prints a compact table.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import resource
import sqlite3
import subprocess
import sys
import time
import uuid
from contextlib import ExitStack
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from tempfile import mkdtemp

import httpx

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.e2e.distributed import DistributedSystem  # noqa: E402
from tests.helpers import free_port, wait_until  # noqa: E402
from tests.realservers import acquire  # noqa: E402

QUESTIONS = json.loads((ROOT / "bench" / "questions.json").read_text())["levels"]
MIX = {"general": 12, "in_depth": 5, "complex": 3}  # per block of 20: 60 / 25 / 15 %
TICK = os.sysconf("SC_CLK_TCK")


# Processes: CPU and memory from /proc

def _stats() -> dict[int, tuple[int, float]]:
    """pid -> (ppid, utime+stime+cutime+cstime in seconds) of every readable process."""
    table = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                fields = Path(f"/proc/{entry}/stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            table[int(entry)] = (int(fields[1]), sum(int(f) for f in fields[11:15]) / TICK)
    return table


def tree(root: int, table: dict[int, tuple[int, float]]) -> list[int]:
    found, frontier = [], [root]
    while frontier:
        pid = frontier.pop()
        if pid in table:
            found.append(pid)
            frontier += [p for p, (ppid, _) in table.items() if ppid == pid]
    return found


def cpu_seconds(roots: dict[str, int]) -> dict[str, float]:
    """Each root's tree's CPU so far (exited children count once reaped, in cutime)."""
    table = _stats()
    return {name: sum(table[p][1] for p in tree(pid, table)) for name, pid in roots.items()}


def own_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def peak_rss_mb(roots: dict[str, int]) -> dict[str, float]:
    """VmHWM of each root process, and the largest of its children's (PostgreSQL's
    backends, the processes a server may spawn) as "name children (max of n)"."""
    table, peaks = _stats(), {}
    for name, root in roots.items():
        own, *children = [_hwm_mb(pid) for pid in tree(root, table)] or [0.0]
        peaks[name] = own
        if children:
            peaks[f"{name} children (max of {len(children)})"] = max(children)
    return peaks


def _hwm_mb(pid: int) -> float:
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return 0.0
    kb = next((int(line.split()[1]) for line in status.splitlines() if line.startswith("VmHWM:")), 0)
    return round(kb / 1024, 1)


def listener_pid(port: int) -> int | None:
    """The process listening on a TCP port (None when it is not ours to see)."""
    inodes = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        for line in Path(table).read_text().splitlines()[1:]:
            parts = line.split()
            if parts[3] == "0A" and int(parts[1].rsplit(":", 1)[1], 16) == port:
                inodes.add(f"socket:[{parts[9]}]")
    for entry in filter(str.isdigit, os.listdir("/proc")):
        try:
            if any(os.readlink(f"/proc/{entry}/fd/{fd}") in inodes for fd in os.listdir(f"/proc/{entry}/fd")):
                return int(entry)
        except OSError:
            continue
    return None


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(p / 100 * len(ordered)))] if ordered else float("nan")


# The system under test and the load

@dataclass
class Target:
    intake: str
    routing: str
    reporting: str
    kiosk: dict[str, str]
    ops: dict[str, str]  # supervisor: stats:read, decisions:read
    sim_db: Path
    servers: dict[str, int]  # name -> root pid
    infrastructure: dict[str, int] = field(default_factory=dict)
    idle_cores: float = 0.0  # the servers' CPU at rest, measured before the phases
    polls: int = 0  # summary polls so far (each costs the servers CPU: poll_cost)


def texts_for(workload: str, n: int, seed: int) -> list[tuple[str, str]]:
    """(level, text) for n questions: all complex, or the mix in shuffled blocks of 20."""
    rng = random.Random(seed)
    levels: list[str] = []
    while len(levels) < n:
        block = ["complex"] * 20 if workload == "complex" else [lv for lv, k in MIX.items() for _ in range(k)]
        rng.shuffle(block)
        levels += block
    return [(lv, rng.choice(QUESTIONS[lv])["text"]) for lv in levels[:n]]


async def ask(client: httpx.AsyncClient, intake: str, text: str) -> tuple[str, float]:
    """One visit, one question: (question id, time of the question's POST)."""
    visit = await client.post(f"{intake}/v1/visits", json={"office_id": "umea", "channel": "kiosk"})
    visit.raise_for_status()
    started = time.time()
    q = await client.post(f"{intake}/v1/visits/{visit.json()['visit_id']}/questions", json={"text": text})
    q.raise_for_status()
    return q.json()["question_id"], started


async def closed_loop(client, intake: str, texts: list[str], concurrency: int) -> dict[str, float]:
    sent: dict[str, float] = {}
    queue = iter(texts)

    async def worker() -> None:
        for text in queue:
            qid, at = await ask(client, intake, text)
            sent[qid] = at

    await asyncio.gather(*(worker() for _ in range(concurrency)))
    return sent


async def open_loop(client, intake: str, texts: list[str], rate: float) -> dict[str, float]:
    tasks, start = [], time.monotonic()
    for i, text in enumerate(texts):
        await asyncio.sleep(max(0.0, start + i / rate - time.monotonic()))
        tasks.append(asyncio.create_task(ask(client, intake, text)))
    return dict(await asyncio.gather(*tasks))


async def classified(client, t: Target) -> int:
    """Questions reporting counts with a level."""
    summary = (await client.get(f"{t.reporting}/v1/stats/summary", headers=t.ops)).raise_for_status().json()
    return summary["questions"] - summary["unclassified"]


def received(sim_db: Path, keys: set[str]) -> int:
    with sqlite3.connect(sim_db, timeout=30) as db:
        return sum(k in keys for (k,) in db.execute("select idempotency_key from agency_sim_cases"))


def _polled(t: Target) -> bool:
    t.polls += 1
    return True


async def poll_cost(t: Target, times: int = 20) -> float:
    """Server CPU ms of one poll of reporting's summary: what observing the end costs."""
    async with httpx.AsyncClient(timeout=60, headers=t.ops) as client:
        before = cpu_seconds(t.servers)
        for _ in range(times):
            await classified(client, t)
        after = cpu_seconds(t.servers)
    return round(sum(after[k] - before[k] for k in t.servers) * 1000 / times, 2)


async def settled(client, t: Target, goal: int, cases: set[str], timeout: float) -> float:
    """When reporting counts ``goal`` classified questions (and the simulator holds ``cases``)."""
    deadline = time.monotonic() + timeout
    while _polled(t) and (await classified(client, t)) < goal or (cases and received(t.sim_db, cases) < len(cases)):
        if time.monotonic() > deadline:
            raise SystemExit(f"not settled within {timeout} s: reporting counts {await classified(client, t)} of {goal}")
        await asyncio.sleep(0.1)
    return time.time()


async def decision_latencies(client, t: Target, sent: dict[str, float]) -> list[float]:
    """POST -> routing's decided_at, in ms, read after the phase (16 at a time)."""
    gate = asyncio.Semaphore(16)

    async def one(qid: str) -> float:
        async with gate:
            r = await client.get(f"{t.routing}/v1/questions/{qid}/decision", headers=t.ops)
        decided = datetime.fromisoformat(r.raise_for_status().json()["decided_at"])
        return (decided.replace(tzinfo=decided.tzinfo or UTC).timestamp() - sent[qid]) * 1000

    return list(await asyncio.gather(*(one(q) for q in sent)))


async def phase(t: Target, workload: str, n: int, args, rate: float | None = None) -> dict:
    """One measured phase: closed loop (rate None) or open loop at ``rate``."""
    plan = texts_for(workload, n, seed=n + int(rate or 0))
    limits = httpx.Limits(max_connections=max(args.concurrency, 256))
    async with httpx.AsyncClient(timeout=120, headers=t.kiosk, limits=limits) as client:
        await at_rest(t)
        goal, polls = await classified(client, t) + n, t.polls
        processes = {**t.servers, **t.infrastructure}
        cpu0, gen0, t0 = cpu_seconds(processes), own_cpu(), time.time()
        texts = [text for _, text in plan]
        if rate is None:
            sent = await closed_loop(client, t.intake, texts, args.concurrency)
        else:
            sent = await open_loop(client, t.intake, texts, rate)
        cases = set(sent) if workload == "complex" else set()
        end = await settled(client, t, goal, cases, timeout=600)
        gen1 = own_cpu()
        rest = await at_rest(t)  # the work the questions started is charged to them too
        cpu1 = cpu_seconds(processes)
        latencies = await decision_latencies(client, t, sent)
    span, ms = end - t0, {k: (cpu1[k] - cpu0[k]) * 1000 for k in processes}
    server = sum(ms[k] for k in t.servers)
    result = {
        "questions": n,
        "questions_per_s": round(n / span, 1),
        "p50_ms": round(percentile(latencies, 50), 1),
        "p95_ms": round(percentile(latencies, 95), 1),
        "p99_ms": round(percentile(latencies, 99), 1),
        "server_cpu_ms_per_question": round(server / n, 2),
        "server_cpu_ms_per_question_net_of_idle": round((server - t.idle_cores * (rest - t0) * 1000) / n, 2),
        "server_cores_busy": round(server / 1000 / (rest - t0), 2),
        "seconds_until_at_rest_after_counted": round(rest - end, 1),
        "server_cpu_ms_per_question_by_process": {k: round(ms[k] / n, 2) for k in t.servers},
        "infrastructure_cpu_ms_per_question": {k: round(ms[k] / n, 2) for k in t.infrastructure},
        "load_generator_cpu_ms_per_question": round((gen1 - gen0) * 1000 / n, 2),
        "summary_polls": t.polls - polls,
    }
    return result if rate is None else {"offered_rate_per_s": round(rate, 1), **result}


async def at_rest(t: Target, timeout: float = 120.0) -> float:
    """Wait until the servers' CPU over half a second is back near rest (what a phase
    started still running: outboxes, the simulator's callbacks, projections); when."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        before = cpu_seconds(t.servers)
        await asyncio.sleep(0.5)
        after = cpu_seconds(t.servers)
        if sum(after[k] - before[k] for k in t.servers) / 0.5 <= max(0.15, 2 * t.idle_cores):
            break
    return time.time()


async def idle_cores(t: Target, seconds: float = 3.0) -> dict[str, float]:
    """Cores each server uses with no load (background workers, pollers): the floor
    under every phase's CPU per question."""
    before = cpu_seconds(t.servers)
    await asyncio.sleep(seconds)
    after = cpu_seconds(t.servers)
    return {k: round((after[k] - before[k]) / seconds, 3) for k in t.servers}


async def run_workloads(t: Target, args) -> dict:
    await phase(t, "mixed", min(60, args.questions), args)  # warm-up, not counted
    t.idle_cores = 1.0  # until measured: at_rest waits for the warm-up's work, not for rest
    await at_rest(t)
    t.idle_cores = 0.0
    results: dict = {"idle_cores": await idle_cores(t)}
    t.idle_cores = sum(results["idle_cores"].values())
    for workload in args.workloads.split(","):
        throughput = await phase(t, workload, args.questions, args)
        rate = args.rate or throughput["questions_per_s"] / 2
        latency = await phase(t, workload, max(50, args.questions // 2), args, rate)
        results[workload] = {"throughput": throughput, "at_fixed_rate": latency}
    results["summary_poll_server_cpu_ms"] = await poll_cost(t)
    results["peak_rss_mb"] = peak_rss_mb({**t.servers, **t.infrastructure})
    return results


def bench_embedded(args) -> dict:
    work = Path(mkdtemp(prefix="sk-bench-"))
    ports = {s: free_port() for s in ("intake", "routing", "agency-gateway", "reporting", "agency-simulator")}
    cmd = [sys.executable, "-m", "servicekontor.cli", "up", "--data-dir", str(work)]
    for name, port in ports.items():
        cmd += [f"--{name}-port", str(port)]
    env = {**os.environ, "SK_LOG_LEVEL": "WARNING", "SK_RATE_LIMIT": args.rate_limit}
    env.pop("SK_KAFKA_BOOTSTRAP_SERVERS", None)
    env.pop("SK_DATABASE_URL", None)
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
        url = {name: f"http://127.0.0.1:{port}" for name, port in ports.items()}
        wait_until(lambda: httpx.get(f"{url['reporting']}/ready", headers=ops).status_code == 200, 60)
        target = Target(
            url["intake"], url["routing"], url["reporting"], {"Authorization": f"Bearer {tokens['kiosk']}"},
            ops, work / "agency_simulator.db", {"servicekontor up": proc.pid},
        )
        return asyncio.run(run_workloads(target, args))
    finally:
        proc.terminate()
        proc.wait(timeout=30)


def infrastructure(servers) -> dict[str, int]:
    """Kafka's and PostgreSQL's server processes, when this user can see them."""
    pg_port = int(servers.database_url.split("@", 1)[-1].split("/", 1)[0].rsplit(":", 1)[1])
    found = {"kafka": listener_pid(int(servers.kafka_bootstrap_servers.split(",")[0].rsplit(":", 1)[1])),
             "postgresql": listener_pid(pg_port)}
    return {name: pid for name, pid in found.items() if pid}


def bench_distributed(args, servers) -> dict:
    work = Path(mkdtemp(prefix="sk-bench-"))
    system = DistributedSystem(
        servers, asyncio.run(servers.fresh_database()), work, extra_env={"SK_RATE_LIMIT": args.rate_limit}
    )
    system.migrate()
    try:
        for service in ("agency_simulator", "intake", "routing", "agency_gateway", "reporting"):
            system.start(service)
        target = Target(
            system.first("intake").url(), system.first("routing").url(), system.first("reporting").url(),
            system.headers("kiosk", subject="bench-kiosk"), system.headers("supervisor"),
            work / "agency_simulator.db", {p.name: p.popen.pid for p in system.processes}, infrastructure(servers),
        )
        return asyncio.run(run_workloads(target, args))
    finally:
        system.stop_all()


# Anchors

def bench_anchor(store: str, args, dsn: str | None = None) -> dict:
    """The bare insert app in its own process under the same closed-loop load."""
    port, work = free_port(), Path(mkdtemp(prefix="sk-anchor-"))
    where = ["--dsn", dsn] if dsn else ["--db", str(work / "anchor.db")]
    cmd = [sys.executable, str(ROOT / "bench" / "anchors.py"), store, "--port", str(port), *where]
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=(work / "anchor.log").open("wb"))
    url = f"http://127.0.0.1:{port}"
    try:
        wait_until(lambda: proc.poll() is None and httpx.get(f"{url}/ready").status_code == 200, 60)
        return asyncio.run(_anchor_load(url, proc.pid, max(500, args.questions), args.concurrency))
    finally:
        proc.terminate()
        proc.wait(timeout=30)


async def _anchor_load(url: str, pid: int, n: int, concurrency: int) -> dict:
    async with httpx.AsyncClient(timeout=60, limits=httpx.Limits(max_connections=256)) as client:
        async def post() -> None:
            (await client.post(f"{url}/items", json={"text": QUESTIONS["general"][0]["text"]})).raise_for_status()

        for _ in range(50):  # warm-up
            await post()
        work = iter(range(n))
        cpu0, gen0, t0 = cpu_seconds({"app": pid}), own_cpu(), time.time()

        async def worker() -> None:
            for _ in work:
                await post()

        await asyncio.gather(*(worker() for _ in range(concurrency)))
        span, cpu1, gen1 = time.time() - t0, cpu_seconds({"app": pid}), own_cpu()
    return {
        "requests": n,
        "req_per_s": round(n / span, 1),
        "server_cpu_ms_per_request": round((cpu1["app"] - cpu0["app"]) * 1000 / n, 3),
        "load_generator_cpu_ms_per_request": round((gen1 - gen0) * 1000 / n, 3),
        "peak_rss_mb": peak_rss_mb({"app": pid})["app"],
    }


async def raw_kafka(bootstrap: str, n: int, kafka_pid: int | None) -> dict:
    import logging

    from aiokafka import AIOKafkaConsumer, AIOKafkaProducer

    logging.getLogger("aiokafka").setLevel(logging.CRITICAL)  # a new group's coordinator search is noisy
    topic = f"bench.raw.{uuid.uuid4().hex[:8]}"
    payload = json.dumps({"text": QUESTIONS["complex"][0]["text"], "pad": "x" * 400}).encode()
    watched = {"kafka": kafka_pid} if kafka_pid else {}
    cpu0, gen0 = cpu_seconds(watched), own_cpu()
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
    cpu1, gen1 = cpu_seconds(watched), own_cpu()
    return {
        "messages": n, "produce_per_s": round(n / produced, 1), "produce_and_consume_per_s": round(n / total, 1),
        "client_cpu_ms_per_message": round((gen1 - gen0) * 1000 / n, 3),
        "kafka_cpu_ms_per_message": round((cpu1["kafka"] - cpu0["kafka"]) * 1000 / n, 3) if kafka_pid else None,
    }


def ratios(results: dict) -> dict:
    """Server CPU per question / the bare insert's server CPU per request."""
    out = {}
    for mode, anchor in (("embedded", "bare_sqlite_insert"), ("kafka_postgres", "bare_postgres_insert")):
        base = results.get("anchors", {}).get(anchor) or results.get("anchors", {}).get("bare_sqlite_insert")
        for workload, r in results.get(mode, {}).items():
            if base and isinstance(r, dict) and "throughput" in r:
                per_q = r["throughput"]["server_cpu_ms_per_question"]
                out[f"{mode}/{workload}"] = round(per_q / base["server_cpu_ms_per_request"], 1)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--questions", type=int, default=2000, help="per throughput phase (the latency phase: half)")
    parser.add_argument("--concurrency", type=int, default=32, help="closed-loop clients")
    parser.add_argument("--rate", type=float, default=0.0, help="latency phase rate (0: half the measured maximum)")
    parser.add_argument("--modes", default="embedded,distributed")
    parser.add_argument("--workloads", default="mixed,complex")
    parser.add_argument("--rate-limit", default="", help='SK_RATE_LIMIT of the systems under test ("": none)')
    args = parser.parse_args()
    results: dict = {
        "started": datetime.now(UTC).isoformat(timespec="seconds"), "questions": args.questions,
        "concurrency": args.concurrency, "cores": os.cpu_count(), "load_average": os.getloadavg(),
        "auth": "bearer token (kiosk) on every request",
        "rate_limit": args.rate_limit or 'off (SK_RATE_LIMIT="")',
        "latency": "POST of the question -> routing's decided_at (GET /v1/questions/{id}/decision after the phase)",
        "anchors": {"bare_sqlite_insert": bench_anchor("sqlite", args)},
    }
    modes = args.modes.split(",")
    if "embedded" in modes:
        results["embedded"] = bench_embedded(args)
    with ExitStack() as stack:
        servers = acquire(stack) if "distributed" in modes else None
        if isinstance(servers, str):
            results["kafka_postgres"] = {"skipped": servers}
        elif servers:
            infra = infrastructure(servers)
            dsn = asyncio.run(servers.fresh_database()).replace("postgresql+asyncpg://", "postgresql://")
            results["anchors"]["bare_postgres_insert"] = bench_anchor("postgres", args, dsn)
            results["anchors"]["raw_aiokafka"] = asyncio.run(
                raw_kafka(servers.kafka_bootstrap_servers, max(2000, args.questions), infra.get("kafka"))
            )
            results["kafka_postgres"] = bench_distributed(args, servers)
    results["cpu_ratio_to_bare_insert"] = ratios(results)
    print_table(results)
    out = ROOT / "bench" / "results" / "e2e.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(results, indent=2))
    print(f"\nwritten: {out.relative_to(ROOT)}")


def print_table(results: dict) -> None:
    print(f"\n{results['cores']} cores, load average at start {results['load_average'][0]:.2f}; "
          f"{results['auth']}; rate limit {results['rate_limit']}")
    print(f"{'anchor':<22}{'req/s':>9}{'srv CPU ms':>12}{'gen CPU ms':>12}{'RSS MB':>8}")
    for name, a in results["anchors"].items():
        if name == "raw_aiokafka":
            print(f"raw aiokafka: {a['produce_and_consume_per_s']} msg/s produce+consume "
                  f"({a['produce_per_s']} produce), Kafka CPU {a['kafka_cpu_ms_per_message']} ms/msg")
        else:
            print(f"{name:<22}{a['req_per_s']:>9}{a['server_cpu_ms_per_request']:>12}"
                  f"{a['load_generator_cpu_ms_per_request']:>12}{a['peak_rss_mb']:>8}")
    print(f"\n{'mode/workload':<24}{'phase':<10}{'q/s':>7}{'p50':>7}{'p95':>7}{'p99 ms':>8}"
          f"{'srv CPU':>9}{'-idle':>7}{'infra':>7}{'gen':>6}{'cores':>6}  (CPU ms per question)")
    for mode in ("embedded", "kafka_postgres"):
        if "skipped" in results.get(mode, {}):
            print(f"{mode}: skipped: {results[mode]['skipped']}")
        for workload, r in results.get(mode, {}).items():
            if workload == "idle_cores":
                print(f"{mode:<24}idle: {sum(r.values()):.3f} cores used by the servers with no load")
            if not isinstance(r, dict) or "throughput" not in r:
                continue
            for label, p in (("max", r["throughput"]), (f"@{p_rate(r)}/s", r["at_fixed_rate"])):
                infra = sum(p["infrastructure_cpu_ms_per_question"].values())
                print(f"{mode + '/' + workload:<24}{label:<10}{p['questions_per_s']:>7}{p['p50_ms']:>7}"
                      f"{p['p95_ms']:>7}{p['p99_ms']:>8}{p['server_cpu_ms_per_question']:>9}"
                      f"{p['server_cpu_ms_per_question_net_of_idle']:>7}{infra:>7.2f}"
                      f"{p['load_generator_cpu_ms_per_question']:>6}{p['server_cores_busy']:>6}")
        if mode in results and "peak_rss_mb" in results[mode]:
            print(f"{'':<24}one summary poll (observing the end): {results[mode]['summary_poll_server_cpu_ms']} ms server CPU")
            print(f"{'':<24}peak RSS MB: {results[mode]['peak_rss_mb']}")
    print(f"server CPU per question / bare insert CPU per request: {results['cpu_ratio_to_bare_insert']}")


def p_rate(r: dict) -> float:
    return r["at_fixed_rate"]["offered_rate_per_s"]


if __name__ == "__main__":
    main()
