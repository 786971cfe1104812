"""Soak test: the mixed workload at a steady rate on Kafka + PostgreSQL while every service
is SIGKILLed and restarted in turn, the broker is restarted and PostgreSQL is restarted;
then the books are checked. A benchmark, not part of ``make test``.

    python bench/soak.py                    # 20 minutes
    python bench/soak.py --minutes 10 --rate 3

The system: ``servicekontor serve <service>`` for each of the four services (separate
processes, as a deployment runs them) and the agency simulator (status callbacks to the
gateway), on this benchmark's OWN Kafka broker and PostgreSQL server (deploy/local with
``SK_LOCAL_STATE`` and its own ports, see ``--state`` and the port options), so that
restarting them disturbs no other user of the machine's usual servers.

Workload: visits arrive at ``--rate`` a second (open loop); each is registered (kiosk),
called (desk), asks one question and ends. The question is general, in-depth or complex
with probability 60/25/15 %, drawn from routing's labelled corpus. A request that fails
(a service down, a database away) is retried with the same Idempotency-Key, up to 90 s.

Disturbances (fractions of the run): SIGKILL and restart intake (12 %), routing (22 %),
agency_gateway (32 %), reporting (42 %); stop the Kafka broker (55 %) and PostgreSQL
(68 %), each for ``--outage-seconds``, and start them again. Load stops at 85 %; then the system is given until the books balance (at most
``--settle-minutes``), and every service is stopped with SIGTERM (timed).

Checked and printed at the end:
- every question decided once: intake's ``QuestionRecorded`` = routing's
  ``QuestionClassified``, one per question;
- every complex case delivered once: routing's ``CaseRoutedToAgency`` = the gateway's
  delivered rows = its ``CaseForwarded`` (one per case) = the simulator's unique cases;
- reporting equals intake: visits, ended visits, questions, delivered cases;
- no dead letters, every outbox relayed to its end, every consumer group's lag 0;
- RSS growth per service < 10 %: the mean RSS of the last third of the final process's
  life under load against its first third (its first 60 s, the warm-up, left out); the
  simulator (never killed) over the whole load.
Results: bench/results/soak.json.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import signal
import statistics
import subprocess
import sys
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.helpers import auth, free_port  # noqa: E402
from tests.realservers import RealServers  # noqa: E402

LOCAL = ROOT / "deploy" / "local"
SERVICES = ("intake", "routing", "agency_gateway", "reporting")
MIX = {"general": 0.60, "in_depth": 0.25, "complex": 0.15}
OFFICES = ["umea", "kiruna", "lulea", "ostersund", "sundsvall", "uppsala", "orebro", "stockholm-kungsholmen"]
KILLS = [("intake", 0.12), ("routing", 0.22), ("agency_gateway", 0.32), ("reporting", 0.42)]
KAFKA_RESTART, POSTGRES_RESTART, LOAD_ENDS = 0.55, 0.68, 0.85
RSS_WARMUP_SECONDS = 60.0
RSS_LIMIT = 0.10


def texts_by_level() -> dict[str, list[str]]:
    texts: dict[str, list[str]] = {level: [] for level in MIX}
    for line in (ROOT / "services" / "routing" / "data" / "corpus.jsonl").read_text().splitlines():
        row = json.loads(line)
        if row.get("level") in texts and len(row["text"]) > 12:
            texts[row["level"]].append(row["text"])
    return texts


def log(message: str) -> None:
    print(f"[soak {time.strftime('%H:%M:%S')}] {message}", flush=True)


# -- the servers: our own broker and PostgreSQL -----------------------------------------
@dataclass
class OwnServers:
    state: Path
    kafka_port: int
    controller_port: int
    pg_port: int

    def env(self) -> dict[str, str]:
        return {
            **os.environ,
            "SK_LOCAL_STATE": str(self.state),
            "SK_LOCAL_KAFKA_PORT": str(self.kafka_port),
            "SK_LOCAL_KAFKA_CONTROLLER_PORT": str(self.controller_port),
            "SK_LOCAL_PG_PORT": str(self.pg_port),
        }

    def run(self, script: str) -> tuple[str, float]:
        started = time.monotonic()
        done = subprocess.run([str(LOCAL / script)], env=self.env(), capture_output=True, text=True,
                              timeout=600, check=False)
        if done.returncode != 0:
            raise SystemExit(f"{script} failed: {done.stderr[-3000:]}")
        return done.stdout, time.monotonic() - started

    def start(self) -> RealServers:
        out, _ = self.run("start-all.sh")
        exports = dict(line.removeprefix("export ").split("=", 1) for line in out.splitlines()
                       if line.startswith("export "))
        return RealServers(exports["SK_KAFKA_BOOTSTRAP_SERVERS"], exports["SK_DATABASE_URL"], "deploy/local (soak)")


# -- the system ---------------------------------------------------------------------------
@dataclass
class Process:
    name: str
    port: int
    popen: subprocess.Popen
    started: float


@dataclass
class System:
    servers: RealServers
    database_url: str
    work: Path
    prefix: str
    ports: dict[str, int] = field(default_factory=lambda: {s: free_port() for s in (*SERVICES, "agency_simulator")})
    processes: dict[str, Process] = field(default_factory=dict)
    rss: list[dict] = field(default_factory=list)

    def env(self) -> dict[str, str]:
        env = {
            **os.environ,
            "SK_DATABASE_URL": self.database_url,
            "SK_KAFKA_BOOTSTRAP_SERVERS": self.servers.kafka_bootstrap_servers,
            "SK_KAFKA_TOPIC_PREFIX": self.prefix,
            "SK_AGENCY_SIMULATOR_URL": f"http://127.0.0.1:{self.ports['agency_simulator']}",
            "SK_DATA_DIR": str(self.work),
            "SK_LOG_LEVEL": "WARNING",
            "SK_RATE_LIMIT": "",
        }
        for name in SERVICES:
            env[f"SK_{name.upper()}_PORT"] = str(self.ports[name])
        return env

    def headers(self, role: str) -> dict[str, str]:
        return auth(self.work, role, subject=f"soak-{role}")

    def url(self, name: str, path: str = "") -> str:
        return f"http://127.0.0.1:{self.ports[name]}{path}"

    def migrate(self) -> None:
        done = subprocess.run([sys.executable, "-m", "servicekontor.cli", "migrate"], env=self.env(),
                              capture_output=True, text=True, timeout=300, check=False)
        if done.returncode != 0:
            raise SystemExit(f"migrate failed: {done.stderr[-3000:]}")

    def start(self, name: str) -> Process:
        port = self.ports[name]
        if name == "agency_simulator":
            args = [sys.executable, "-m", "servicekontor.distributed", "agency-sim", str(port), str(self.work),
                    self.url("agency_gateway")]
        else:
            args = [sys.executable, "-m", "servicekontor.cli", "serve", name, "--port", str(port)]
        out = (self.work / f"{name}.log").open("ab")
        process = Process(name, port, subprocess.Popen(args, env=self.env(), stdout=out, stderr=out), time.monotonic())
        self.processes[name] = process
        return process

    def ready(self, name: str) -> bool:
        process = self.processes[name]
        if process.popen.poll() is not None:
            tail = (self.work / f"{name}.log").read_text(errors="replace")[-3000:]
            raise SystemExit(f"{name} exited with {process.popen.returncode}: {tail}")
        path = "/health" if name == "agency_simulator" else "/ready"
        try:
            return httpx.get(self.url(name, path), headers=self.headers("supervisor"), timeout=2).status_code == 200
        except httpx.HTTPError:
            return False

    def wait_ready(self, name: str, timeout: float = 120) -> float:
        started = time.monotonic()
        while not self.ready(name):
            if time.monotonic() - started > timeout:
                raise SystemExit(f"{name} not ready within {timeout} s")
            time.sleep(0.25)
        return time.monotonic() - started

    def kill_and_restart(self, name: str) -> dict:
        process = self.processes[name]
        process.popen.send_signal(signal.SIGKILL)
        process.popen.wait(timeout=30)
        killed = time.monotonic()
        self.start(name)
        ready = self.wait_ready(name)
        return {"event": f"SIGKILL {name}", "back_ready_after_s": round(time.monotonic() - killed, 1),
                "start_to_ready_s": round(ready, 1)}

    def sample_rss(self, t: float) -> None:
        for name, process in self.processes.items():
            try:
                for line in Path(f"/proc/{process.popen.pid}/status").read_text().splitlines():
                    if line.startswith("VmRSS:"):
                        self.rss.append({"t": round(t, 1), "service": name, "pid": process.popen.pid,
                                         "rss_mb": round(int(line.split()[1]) / 1024, 1)})
            except OSError:
                pass

    def stop_all(self) -> dict[str, dict]:
        """SIGTERM each process (the simulator first) and time its exit."""
        times = {}
        for name in ["agency_simulator", *SERVICES]:
            process = self.processes.get(name)
            if process is None or process.popen.poll() is not None:
                continue
            started = time.monotonic()
            process.popen.send_signal(signal.SIGTERM)
            try:
                code = process.popen.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.popen.kill()
                code = "killed after 30 s"
            times[name] = {"seconds": round(time.monotonic() - started, 2), "exit_code": code}
        return times


# -- the workload -------------------------------------------------------------------------
@dataclass
class Tally:
    visits_started: int = 0
    visits_done: int = 0
    visits_failed: int = 0
    requests: int = 0
    retries: int = 0
    latencies_ms: list[float] = field(default_factory=list)
    errors: dict[str, int] = field(default_factory=dict)
    levels_sent: dict[str, int] = field(default_factory=lambda: dict.fromkeys(MIX, 0))
    behind_schedule_s: float = 0.0

    def error(self, kind: str) -> None:
        self.errors[kind] = self.errors.get(kind, 0) + 1


class GaveUp(Exception):
    pass


async def post(client: httpx.AsyncClient, url: str, body: dict, headers: dict, tally: Tally,
               ok: tuple[int, ...] = (200, 201)) -> dict:
    """POST until answered (a service down, a database away: retried with the same key)."""
    key = str(uuid.uuid4())
    deadline = time.monotonic() + 90
    wait = 0.25
    while True:
        tally.requests += 1
        started = time.monotonic()
        try:
            response = await client.post(url, json=body, headers={**headers, "Idempotency-Key": key})
            if response.status_code in ok:
                tally.latencies_ms.append((time.monotonic() - started) * 1000)
                return response.json()
            if response.status_code < 500 and response.status_code not in (408, 409, 425, 429):
                tally.error(f"HTTP {response.status_code}")
                raise GaveUp(f"{url}: {response.status_code} {response.text[:200]}")
            if response.status_code == 409 and "/call" in url:  # called before the lost answer
                return {}
            tally.error(f"HTTP {response.status_code} (retried)")
        except httpx.HTTPError as error:
            tally.error(f"{type(error).__name__} (retried)")
        if time.monotonic() > deadline:
            raise GaveUp(f"{url}: no answer within 90 s")
        tally.retries += 1
        await asyncio.sleep(wait)
        wait = min(wait * 2, 4.0)


async def one_visit(client: httpx.AsyncClient, system: System, rng: random.Random, texts, tally: Tally) -> None:
    tally.visits_started += 1
    intake = system.url("intake")
    kiosk, desk = system.headers("kiosk"), system.headers("desk")
    level = rng.choices(list(MIX), weights=list(MIX.values()))[0]
    tally.levels_sent[level] += 1
    try:
        visit = await post(client, f"{intake}/v1/visits", {"office_id": rng.choice(OFFICES), "channel": "kiosk"},
                           kiosk, tally)
        vid = visit["visit_id"]
        await post(client, f"{intake}/v1/visits/{vid}/call", {"desk": f"D{rng.randint(1, 6)}"}, desk, tally)
        await post(client, f"{intake}/v1/visits/{vid}/questions", {"text": rng.choice(texts[level])}, kiosk, tally)
        satisfaction = {"treatment": rng.randint(3, 5), "time": rng.randint(2, 5), "got_help": rng.random() < 0.9}
        await post(client, f"{intake}/v1/visits/{vid}/end", {"satisfaction": satisfaction}, kiosk, tally)
        tally.visits_done += 1
    except GaveUp as error:
        tally.visits_failed += 1
        log(f"visit given up: {error}")


async def load(system: System, rate: float, until: float, tally: Tally, seed: int) -> None:
    rng, texts = random.Random(seed), texts_by_level()
    limit = asyncio.Semaphore(200)
    running: set[asyncio.Task] = set()
    async with httpx.AsyncClient(timeout=30) as client:
        async def guarded() -> None:
            async with limit:
                await one_visit(client, system, rng, texts, tally)

        start = time.monotonic()
        n = 0
        while time.monotonic() < until:
            due = start + n / rate
            now = time.monotonic()
            if due > now:
                await asyncio.sleep(due - now)
            else:
                tally.behind_schedule_s = max(tally.behind_schedule_s, now - due)
            task = asyncio.create_task(guarded())
            running.add(task)
            task.add_done_callback(running.discard)
            n += 1
        if running:
            await asyncio.wait(running, timeout=120)


# -- the books ----------------------------------------------------------------------------
async def sql(database_url: str, query: str) -> list:
    import asyncpg

    conn = await asyncpg.connect(database_url.replace("postgresql+asyncpg://", "postgresql://"))
    try:
        return await conn.fetch(query)
    finally:
        await conn.close()


async def books(system: System) -> dict:
    async def count(schema: str, event_type: str) -> tuple[int, int]:
        row = (await sql(system.database_url, f"select count(*), count(distinct stream_id) from {schema}.event_store "
                                              f"where event_type = '{event_type}'"))[0]
        return int(row[0]), int(row[1])

    visits = (await count("intake", "intake.VisitRegistered"))[0]
    ended = (await count("intake", "intake.VisitEnded"))[0]
    questions = (await count("intake", "intake.QuestionRecorded"))[0]
    classified = await count("routing", "routing.QuestionClassified")
    routed = await count("routing", "routing.CaseRoutedToAgency")
    forwarded = await count("agency_gateway", "gateway.CaseForwarded")
    delivered = int((await sql(system.database_url,
                               "select count(*) from agency_gateway.gateway_deliveries where status = 'delivered'"))[0][0])
    dead_letters = {
        schema: int((await sql(system.database_url, f"select count(*) from {schema}.consumer_dead_letters"))[0][0])
        for schema in SERVICES
    }
    outbox = {}
    for schema in SERVICES:
        top = (await sql(system.database_url, f"select coalesce(max(position), 0) from {schema}.event_store"))[0][0]
        relayed = await sql(system.database_url, f"select coalesce(max(position), 0) from {schema}.outbox_relay_positions")
        outbox[schema] = int(top) - int(relayed[0][0])
    async with httpx.AsyncClient(timeout=10) as client:
        received = (await client.get(system.url("agency_simulator", "/v1/received"))).json()
        summary = (await client.get(system.url("reporting", "/v1/stats/summary"), headers=system.headers("bi"))).json()
    return {
        "intake": {"visits": visits, "visits_ended": ended, "questions": questions},
        "routing": {"classified": classified, "routed_to_agency": routed},
        "gateway": {"delivered_rows": delivered, "forwarded_events": forwarded},
        "simulator": {"unique_cases": received["unique_cases"], "requests": received["total_requests"],
                      "duplicates": received["duplicates"]},
        "reporting": {k: summary[k] for k in ("visits", "visits_ended", "questions", "cases_delivered")},
        "dead_letters": dead_letters,
        "outbox_backlog": outbox,
        "consumer_lag": await consumer_lag(system),
    }


async def consumer_lag(system: System) -> dict[str, int]:
    """Per consumer group of this system: end offsets minus committed offsets."""
    from aiokafka import AIOKafkaConsumer
    from aiokafka.admin import AIOKafkaAdminClient

    admin = AIOKafkaAdminClient(bootstrap_servers=system.servers.kafka_bootstrap_servers)
    await admin.start()
    consumer = AIOKafkaConsumer(bootstrap_servers=system.servers.kafka_bootstrap_servers, group_id=None)
    await consumer.start()
    lag: dict[str, int] = {}
    try:
        groups = [g[0] for g in await admin.list_consumer_groups() if g[0].startswith(system.prefix)]
        for group in sorted(groups):
            committed = await admin.list_consumer_group_offsets(group)
            tps = [tp for tp in committed if not tp.topic.endswith(".dlq")]
            ends = await consumer.end_offsets(tps) if tps else {}
            lag[group.removeprefix(system.prefix)] = sum(max(0, ends[tp] - committed[tp].offset) for tp in tps)
    finally:
        await consumer.stop()
        await admin.close()
    return lag


def balanced(b: dict) -> dict[str, bool]:
    i, r, g, s, rep = b["intake"], b["routing"], b["gateway"], b["simulator"], b["reporting"]
    cases = r["routed_to_agency"][0]
    return {
        "every question decided once": r["classified"] == (i["questions"], i["questions"]),
        "no case routed twice": r["routed_to_agency"][0] == r["routed_to_agency"][1],
        "every complex case delivered once": g["delivered_rows"] == cases
        and g["forwarded_events"] == (cases, cases) and s["unique_cases"] == cases,
        "reporting equals intake": rep == {"visits": i["visits"], "visits_ended": i["visits_ended"],
                                           "questions": i["questions"], "cases_delivered": cases},
        "no dead letters": not any(b["dead_letters"].values()),
        "every outbox relayed": not any(b["outbox_backlog"].values()),
        "consumer lag back to zero": bool(b["consumer_lag"]) and not any(b["consumer_lag"].values()),
    }


def rss_growth(samples: list[dict], processes: dict[str, Process], origin: float, until: float) -> dict[str, dict]:
    """Per service: the final process's samples under load (``until``: when the load
    ended) after its warm-up, first third vs last."""
    out = {}
    for name, process in processes.items():
        mine = [s for s in samples if s["service"] == name and s["pid"] == process.popen.pid and s["t"] <= until]
        if name != "agency_simulator":
            mine = [s for s in mine if s["t"] >= process.started - origin + RSS_WARMUP_SECONDS]
        if len(mine) < 6:
            out[name] = {"samples": len(mine), "growth": None}
            continue
        third = len(mine) // 3
        first = statistics.mean(s["rss_mb"] for s in mine[:third])
        last = statistics.mean(s["rss_mb"] for s in mine[-third:])
        out[name] = {"samples": len(mine), "window_s": round(mine[-1]["t"] - mine[0]["t"]),
                     "first_third_mb": round(first, 1), "last_third_mb": round(last, 1),
                     "growth": round((last - first) / first, 4)}
    return out


# -- the run ------------------------------------------------------------------------------
async def soak(args, own: OwnServers) -> dict:
    servers = await asyncio.to_thread(own.start)
    database_url = await servers.fresh_database()
    work = Path(args.work or f"/tmp/soak-work-{uuid.uuid4().hex[:6]}")
    work.mkdir(parents=True, exist_ok=True)
    from shared.auth import ensure_keys

    ensure_keys(work.resolve() / "auth")
    system = System(servers, database_url, work, prefix=f"soak{uuid.uuid4().hex[:6]}.")
    log(f"work dir {work}; Kafka {servers.kafka_bootstrap_servers}; database {database_url.rsplit('/', 1)[-1]}")
    await asyncio.to_thread(system.migrate)
    for name in ("agency_simulator", *SERVICES):
        system.start(name)
    for name in ("agency_simulator", *SERVICES):
        await asyncio.to_thread(system.wait_ready, name)
    duration = args.minutes * 60
    origin = time.monotonic()
    log(f"system up; load {args.rate}/s for {LOAD_ENDS * duration:.0f} s of {duration:.0f} s")

    stop_sampling = asyncio.Event()

    async def sample() -> None:
        while not stop_sampling.is_set():
            system.sample_rss(time.monotonic() - origin)
            try:
                async with asyncio.timeout(args.sample_seconds):
                    await stop_sampling.wait()
            except TimeoutError:
                pass

    sampler = asyncio.create_task(sample())
    tally = Tally()
    loader = asyncio.create_task(load(system, args.rate, origin + LOAD_ENDS * duration, tally, args.seed))
    disturbances: list[dict] = []
    plan = [(at, f"kill {name}", name) for name, at in KILLS]
    plan += [(KAFKA_RESTART, "restart kafka", None), (POSTGRES_RESTART, "restart postgres", None)]
    for at, what, name in sorted(plan):
        await asyncio.sleep(max(0.0, origin + at * duration - time.monotonic()))
        log(f"{what} (visits so far: {tally.visits_done} done, {tally.visits_failed} failed)")
        started = time.monotonic() - origin
        if name is not None:
            result = await asyncio.to_thread(system.kill_and_restart, name)
        else:
            script = "kafka" if "kafka" in what else "postgres"
            _, stopped = await asyncio.to_thread(own.run, f"{script}-stop.sh")
            await asyncio.sleep(args.outage_seconds)  # down for a while, not a blip
            _, restarted = await asyncio.to_thread(own.run, f"{script}-start.sh")
            result = {"event": what, "stop_s": round(stopped, 1), "down_s": args.outage_seconds,
                      "start_s": round(restarted, 1)}
        result["at_s"] = round(started)
        disturbances.append(result)
        log(f"  {result}")
    await loader
    load_ended = time.monotonic() - origin
    log(f"load ended at {load_ended:.0f} s: {tally.visits_done} visits done, {tally.visits_failed} failed")

    settle_deadline = time.monotonic() + args.settle_minutes * 60
    while True:
        try:
            state = await books(system)
            checks = balanced(state)
        except Exception as error:  # noqa: BLE001 - a database still coming back: try again
            state, checks = {"error": repr(error)}, {"books readable": False}
        if all(checks.values()) or time.monotonic() > settle_deadline:
            break
        await asyncio.sleep(5)
    settled_after = time.monotonic() - origin - load_ended
    # Keep sampling until the end of the planned run (memory after the work, too).
    await asyncio.sleep(max(0.0, origin + duration - time.monotonic()))
    stop_sampling.set()
    await sampler
    growth = rss_growth(system.rss, system.processes, origin, load_ended)
    checks["RSS growth < 10 % per service"] = all(
        g["growth"] is not None and g["growth"] < RSS_LIMIT for g in growth.values()
    )
    stops = await asyncio.to_thread(system.stop_all)
    latencies = sorted(tally.latencies_ms)
    # Not a check: the simulator retries a status callback for ~3 s only (a real agency
    # retries for hours), so statuses sent while the gateway was down are lost.
    callbacks_lost = (work / "agency_simulator.log").read_text(errors="replace").count("callback_not_delivered")
    return {
        "minutes": args.minutes, "rate_visits_per_s": args.rate, "seed": args.seed, "cores": os.cpu_count(),
        "mix": MIX, "load_seconds": round(load_ended), "settled_after_load_s": round(settled_after),
        "workload": {
            "visits_started": tally.visits_started, "visits_done": tally.visits_done,
            "visits_failed": tally.visits_failed, "requests": tally.requests, "retries": tally.retries,
            "levels_sent": tally.levels_sent, "errors": tally.errors,
            "behind_schedule_max_s": round(tally.behind_schedule_s, 1),
            "latency_ms": {"p50": percentile(latencies, 50), "p95": percentile(latencies, 95),
                           "p99": percentile(latencies, 99), "max": round(latencies[-1], 1) if latencies else None},
        },
        "disturbances": disturbances,
        "books": state,
        "checks": checks,
        "rss": growth,
        "sigterm_stop": stops,
        "simulator_callbacks_not_delivered": callbacks_lost,
        "rss_samples": system.rss,
    }


def percentile(values: list[float], p: float) -> float | None:
    return round(values[min(len(values) - 1, int(p / 100 * len(values)))], 1) if values else None


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--minutes", type=float, default=20.0, help="length of the run [20]")
    parser.add_argument("--rate", type=float, default=3.0, help="visits a second [3]")
    parser.add_argument("--settle-minutes", type=float, default=5.0, help="at most this long for the books to balance [5]")
    parser.add_argument("--outage-seconds", type=float, default=15.0,
                        help="how long the broker and PostgreSQL stay down between stop and start [15]")
    parser.add_argument("--sample-seconds", type=float, default=5.0, help="RSS sampling interval [5]")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--state", default="/tmp/soak-state", help="SK_LOCAL_STATE of the soak's own servers")
    parser.add_argument("--kafka-port", type=int, default=19092)
    parser.add_argument("--kafka-controller-port", type=int, default=19093)
    parser.add_argument("--pg-port", type=int, default=55532)
    parser.add_argument("--work", default=None, help="the system's data directory [a new one under /tmp]")
    parser.add_argument("--keep-servers", action="store_true", help="leave the soak's Kafka and PostgreSQL running")
    parser.add_argument("--out", default=str(ROOT / "bench" / "results" / "soak.json"))
    args = parser.parse_args()
    own = OwnServers(Path(args.state), args.kafka_port, args.kafka_controller_port, args.pg_port)
    try:
        result = asyncio.run(soak(args, own))
    finally:
        if not args.keep_servers:
            own.run("stop-all.sh")
    print_report(result)
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=2))
    print(f"\nwritten: {out}")
    raise SystemExit(0 if all(result["checks"].values()) else 1)


def print_report(r: dict) -> None:
    w = r["workload"]
    print(f"\nsoak: {r['minutes']} min, {r['rate_visits_per_s']} visits/s, {r['cores']} cores")
    print(f"visits: {w['visits_done']} done, {w['visits_failed']} failed; requests {w['requests']} "
          f"({w['retries']} retried); latency ms {w['latency_ms']}")
    print(f"levels sent: {w['levels_sent']}; errors seen (retried): {w['errors']}")
    for d in r["disturbances"]:
        print(f"  at {d['at_s']:>5} s  {d}")
    print(f"books balanced {r['settled_after_load_s']} s after the load ended:")
    for key, value in r["books"].items():
        print(f"  {key}: {value}")
    print("RSS (final process, after warm-up):")
    for name, g in r["rss"].items():
        print(f"  {name:<17} {g}")
    print(f"SIGTERM stop: {r['sigterm_stop']}")
    for check, ok in r["checks"].items():
        print(f"  [{'ok' if ok else 'FAILED'}] {check}")


if __name__ == "__main__":
    main()
