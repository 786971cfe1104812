"""The shared hot path (issue #13): server CPU per question through intake alone, beside a
bare FastAPI insert measured the same way in the same run, and the event store's append.

    python bench/hot_path.py                       # 600 questions, concurrency 8
    python bench/hot_path.py --questions 1000 --label after-orjson

Each server runs in its own process (uvicorn, real sockets, SQLite in a temp dir, rate
limit off, log level WARNING); its CPU is read from ``/proc/<pid>/stat`` (all threads,
aiosqlite's too) before and after the load, net of its idle CPU over the same time (intake
has pollers). One question = ``POST /v1/visits`` + ``POST /v1/visits/{id}/questions`` with
the kiosk token; the anchor's request is one ``POST /items`` inserting a row (aiosqlite).

The micro figure: CPU (``time.process_time``, this process) to append one event to the
SQLite event store and commit, as a unit of work does.

Writes bench/results/hot_path.json (the last run under its ``--label``, earlier labels kept).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
RESULTS = ROOT / "bench" / "results" / "hot_path.json"
TICKS = os.sysconf("SC_CLK_TCK")


def cpu_of(pid: int) -> float:
    """User + system CPU seconds of a process (all its threads)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICKS


# --- servers (run in a child process) -------------------------------------------------


def serve_intake(port: int, data: Path, loop: str, http: str) -> None:
    os.environ.update({"SK_DATA_DIR": str(data), "SK_RATE_LIMIT": "", "SK_LOG_LEVEL": "WARNING"})
    import uvicorn

    from services.intake.bootstrap import bootstrap
    from shared.auth import ensure_credentials
    from shared.bus import EmbeddedBus
    from shared.logging import configure_logging

    configure_logging("WARNING")
    ensure_credentials(data)

    async def main() -> None:
        bus = EmbeddedBus()
        runtime = bootstrap(None, bus)  # its consumers read other services' topics: left out
        await runtime.init_db()
        server = uvicorn.Server(uvicorn.Config(
            runtime.app, host="127.0.0.1", port=port, log_config=None, access_log=False,
            loop=loop, http=http, lifespan="off",
        ))
        jobs = [asyncio.create_task(job()) for job in [bus.run, *runtime.workers]]
        await server.serve()
        for job in jobs:
            job.cancel()

    run(main(), loop)


def serve_anchor(port: int, data: Path, loop: str, http: str) -> None:
    import uvicorn

    from bench.anchors import bare_app, sqlite_store

    app = bare_app(lambda: sqlite_store(str(data / "anchor.db")))
    config = uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", access_log=False,
                            loop=loop, http=http)
    run(uvicorn.Server(config).serve(), loop)


def run(coro, loop: str) -> None:
    if loop == "uvloop":
        import uvloop

        uvloop.run(coro)
    else:
        asyncio.run(coro)


# --- load (this process) --------------------------------------------------------------


def free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def start(kind: str, data: Path, args) -> tuple[subprocess.Popen, str]:
    port = free_port()
    cmd = [sys.executable, __file__, "_serve", kind, "--port", str(port), "--data", str(data),
           "--loop", args.loop, "--http", args.http]
    proc = subprocess.Popen(cmd, cwd=ROOT, env={**os.environ, "PYTHONPATH": str(ROOT)})
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and proc.poll() is None:
        try:
            if httpx.get(f"{url}/health" if kind == "intake" else f"{url}/ready", timeout=1).status_code == 200:
                return proc, url
        except httpx.HTTPError:
            time.sleep(0.1)
    proc.kill()
    raise SystemExit(f"{kind} server did not start")


async def load(n: int, concurrency: int, one) -> float:
    """Send ``n`` units of work, ``concurrency`` at a time; wall seconds."""
    queue = list(range(n))
    started = time.perf_counter()

    async def worker() -> None:
        while queue:
            await one(queue.pop())

    await asyncio.gather(*(worker() for _ in range(concurrency)))
    return time.perf_counter() - started


async def measure(pid: int, n: int, warmup: int, concurrency: int, one, idle_seconds: float = 1.0) -> dict:
    await load(warmup, concurrency, one)
    await asyncio.sleep(0.3)
    idle0 = cpu_of(pid)
    await asyncio.sleep(idle_seconds)
    idle_rate = (cpu_of(pid) - idle0) / idle_seconds
    before = cpu_of(pid)
    wall = await load(n, concurrency, one)
    cpu = cpu_of(pid) - before - idle_rate * wall
    return {"n": n, "wall_s": round(wall, 3), "rate_per_s": round(n / wall, 1),
            "cpu_ms_per_unit": round(cpu * 1000 / n, 3), "idle_cpu_share": round(idle_rate, 4)}


async def bench_intake(url: str, pid: int, token: str, args) -> dict:
    headers = {"Authorization": f"Bearer {token}"}
    async with httpx.AsyncClient(base_url=url, headers=headers, timeout=30) as client:

        async def question(i: int) -> None:
            visit = await client.post("/v1/visits", json={"office_id": "umea", "channel": "kiosk"})
            assert visit.status_code == 201, visit.text
            q = await client.post(f"/v1/visits/{visit.json()['visit_id']}/questions",
                                  json={"text": f"Jag har fått ett brev om min bostadsbidrag {i}"})
            assert q.status_code == 201, q.text

        result = await measure(pid, args.questions, args.warmup, args.concurrency, question)
    result["cpu_ms_per_request"] = round(result["cpu_ms_per_unit"] / 2, 3)
    return result


async def bench_anchor(url: str, pid: int, args) -> dict:
    async with httpx.AsyncClient(base_url=url, timeout=30) as client:

        async def insert(i: int) -> None:
            r = await client.post("/items", json={"text": f"row {i}"})
            assert r.status_code == 201, r.text

        return await measure(pid, args.questions * 2, args.warmup, args.concurrency, insert)


async def bench_append(data: Path, n: int) -> dict:
    """CPU per event: stage one envelope, flush, commit (one session each, as a unit of work)."""
    from shared.db import create_engine, create_tables, session_maker
    from shared.events import EventEnvelope
    from shared.eventstore import SqlEventStore
    from shared.tables import SHARED_TABLES

    engine = create_engine(f"sqlite+aiosqlite:///{data / 'events.db'}")
    await create_tables(engine, SHARED_TABLES, None)
    sessions = session_maker(engine)
    payload = {"visit_id": "v", "question_id": "q", "text_length": 42, "agency": None, "office_id": "umea"}

    async def one(i: int) -> None:
        async with sessions() as session:
            store = SqlEventStore(session)
            store.append([EventEnvelope(event_type="intake.QuestionRecorded", stream_id=f"s-{i}",
                                        stream_version=1, correlation_id=__import__("uuid").uuid4(),
                                        producer="intake", payload=payload)])
            await store.flush()
            await session.commit()

    for i in range(50):
        await one(-1 - i)
    started = time.process_time()
    for i in range(n):
        await one(i)
    cpu = time.process_time() - started
    await engine.dispose()
    return {"n": n, "cpu_ms_per_event": round(cpu * 1000 / n, 3)}


def profile(pid: int, prefix: str | None, kind: str) -> subprocess.Popen | None:
    """``py-spy record`` of the server (collapsed stacks, ``<prefix>-<kind>.txt``)."""
    if not prefix:
        return None
    spy = Path(sys.executable).with_name("py-spy")
    return subprocess.Popen([str(spy), "record", "-p", str(pid), "-r", "200", "-f", "raw", "--gil",
                             "-o", f"{prefix}-{kind}.txt", "--nonblocking"], stdout=subprocess.DEVNULL)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--questions", type=int, default=600)
    parser.add_argument("--warmup", type=int, default=100)
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--events", type=int, default=2000)
    parser.add_argument("--loop", default="asyncio", choices=["asyncio", "uvloop"])
    parser.add_argument("--http", default="h11", choices=["h11", "httptools"])
    parser.add_argument("--label", default="latest")
    parser.add_argument("--profile", metavar="PREFIX", help="py-spy the servers to PREFIX-<kind>.txt")
    parser.add_argument("--only", choices=["intake", "anchor", "append"], action="append")
    args = parser.parse_args()
    only = set(args.only or ["intake", "anchor", "append"])
    results: dict = {"label": args.label, "loop": args.loop, "http": args.http,
                     "concurrency": args.concurrency, "at": time.strftime("%Y-%m-%dT%H:%M:%S")}
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        for kind in ("intake", "anchor"):
            if kind not in only:
                continue
            (work / kind).mkdir()
            proc, url = start(kind, work / kind, args)
            spy = None
            try:
                spy = profile(proc.pid, args.profile, kind)
                if kind == "intake":
                    token = json.loads((work / kind / "credentials.json").read_text())["kiosk"]
                    results["intake"] = asyncio.run(bench_intake(url, proc.pid, token, args))
                else:
                    results["anchor"] = asyncio.run(bench_anchor(url, proc.pid, args))
            finally:
                if spy is not None:
                    spy.send_signal(2)
                    spy.wait(30)
                proc.terminate()
                proc.wait(10)
        if "append" in only:
            results["event_append"] = asyncio.run(bench_append(work, args.events))
    if "intake" in results and "anchor" in results:
        results["intake_request_over_anchor"] = round(
            results["intake"]["cpu_ms_per_request"] / results["anchor"]["cpu_ms_per_unit"], 2)
    print(json.dumps(results, indent=2))
    saved = json.loads(RESULTS.read_text()) if RESULTS.exists() else {}
    saved[args.label] = results
    RESULTS.write_text(json.dumps(saved, indent=2) + "\n")


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "_serve":
        serve = argparse.ArgumentParser()
        serve.add_argument("kind")
        serve.add_argument("--port", type=int)
        serve.add_argument("--data", type=Path)
        serve.add_argument("--loop")
        serve.add_argument("--http")
        a = serve.parse_args(sys.argv[2:])
        (serve_intake if a.kind == "intake" else serve_anchor)(a.port, a.data, a.loop, a.http)
    else:
        main()
