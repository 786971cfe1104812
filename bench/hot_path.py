"""The shared hot path (issue #13): server CPU per question through intake alone, beside a
bare FastAPI insert measured the same way in the same run, and two in-process figures.

    python bench/hot_path.py                                   # 600 questions, 5 rounds
    git archive HEAD~1 | (mkdir -p /tmp/base && tar -x -C /tmp/base)
    python bench/hot_path.py --label my-lever --baseline /tmp/base   # before/after, one run

Each server runs in its own process (uvicorn on uvloop + httptools unless told otherwise,
real sockets, SQLite in a temp dir, rate limit off, log level WARNING); its CPU is read from
``/proc/<pid>/stat`` (all threads, aiosqlite's too) around each round, net of its idle CPU
(intake has pollers). Rounds go to each server in turn (anchor, intake, the baseline's
intake, anchor, ...) so the machine's other load falls on all alike; the figure is the
median round. One question = ``POST /v1/visits`` + ``POST /v1/visits/{id}/questions`` with
the kiosk token; the anchor's request is one ``POST /items`` inserting a row (aiosqlite),
two per question.

In-process (``time.process_time``), for the code under test and the baseline:
``event_append``: one event appended to the SQLite event store and committed, as a unit of
work does; ``edge``: a service app's shared edge (``create_app``: middleware, errors,
routing) around a route that does nothing.

``--inline-sqlite`` (an experiment, not the product): the intake under test runs
aiosqlite's calls on the event loop's thread instead of its worker thread.

``--profile PREFIX`` records each intake with py-spy (collapsed stacks, GIL holder only).
Writes bench/results/hot_path.json (the last run under each ``--label``).
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
    if os.environ.get("HOT_PATH_INLINE_SQLITE"):  # experiment: SQLite calls on the loop's thread
        import aiosqlite.core

        async def inline(self, fn, *args, **kwargs):
            if not self._running or not self._connection:
                raise ValueError("Connection closed")
            return fn(*args, **kwargs)

        aiosqlite.core.Connection._execute = inline

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


def start(kind: str, data: Path, args, root: Path = ROOT, server: tuple[str, str] | None = None,
          env: dict[str, str] | None = None) -> tuple[subprocess.Popen, str]:
    """A server in its own process, importing the code under ``root`` (``--baseline``:
    another checkout, e.g. ``git archive HEAD~1 | tar -x -C /tmp/base``)."""
    port = free_port()
    cmd = [sys.executable, __file__, "_serve", kind, "--port", str(port), "--data", str(data),
           "--loop", (server or (args.loop, args.http))[0], "--http", (server or (args.loop, args.http))[1]]
    proc = subprocess.Popen(cmd, cwd=root, env={**os.environ, "PYTHONPATH": str(root), "HOT_PATH_ROOT": str(root), **(env or {})})
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
    return {"n": n, "wall_s": wall, "cpu_ms_per_unit": cpu * 1000 / n}


def summary(rounds: list[dict]) -> dict:
    """Rounds of one server: the median round's CPU per unit (and the lowest), the rate."""
    per_unit = sorted(r["cpu_ms_per_unit"] for r in rounds)
    n, wall = sum(r["n"] for r in rounds), sum(r["wall_s"] for r in rounds)
    return {"n": n, "rounds": len(rounds), "rate_per_s": round(n / wall, 1),
            "cpu_ms_per_unit": round(per_unit[len(per_unit) // 2], 3), "cpu_ms_min": round(per_unit[0], 3)}


def intake_round(url: str, token: str):
    """One question: a visit and its question, with the kiosk token."""
    client = httpx.AsyncClient(base_url=url, headers={"Authorization": f"Bearer {token}"}, timeout=30)

    async def question(i: int) -> None:
        visit = await client.post("/v1/visits", json={"office_id": "umea", "channel": "kiosk"})
        assert visit.status_code == 201, visit.text
        q = await client.post(f"/v1/visits/{visit.json()['visit_id']}/questions",
                              json={"text": f"Jag har fått ett brev om min bostadsbidrag {i}"})
        assert q.status_code == 201, q.text

    return client, question, 1


def anchor_round(url: str, _token: str):
    """Two bare inserts, as many requests as a question makes."""
    client = httpx.AsyncClient(base_url=url, timeout=30)

    async def insert(i: int) -> None:
        r = await client.post("/items", json={"text": f"row {i}"})
        assert r.status_code == 201, r.text

    return client, insert, 2


async def interleaved(servers: dict, args) -> dict:
    """Rounds of each server in turn (anchor, intake, baseline intake, anchor, ...), so the
    machine's other load falls on all of them alike."""
    made = {name: make(url, token) for name, (make, url, token, _pid) in servers.items()}
    rounds: dict[str, list[dict]] = {name: [] for name in servers}
    per_round = max(1, args.questions // args.rounds)
    try:
        for _ in range(args.rounds):
            for name, (_client, one, requests) in made.items():
                rounds[name].append(await measure(
                    servers[name][3], per_round * requests, args.warmup if not rounds[name] else 20,
                    args.concurrency, one, idle_seconds=0.5))
    finally:
        for client, _one, _requests in made.values():
            await client.aclose()
    return {name: summary(r) for name, r in rounds.items()}


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


async def bench_edge(n: int) -> dict:
    """CPU per request of a service app's shared edge (middleware, error handling, routing)
    around a route that does nothing: ``create_app`` called in-process over ASGI."""
    from shared.api import create_app
    from shared.logging import configure_logging

    configure_logging("WARNING")

    async def ready() -> dict[str, bool]:
        return {"database": True}

    app = create_app("edge bench", ready)

    @app.post("/v1/echo", status_code=201)
    async def echo(body: dict) -> dict:
        return {"ok": True}

    body = b'{"text": "Jag har en fr\xc3\xa5ga"}'
    scope = {"type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": "POST",
             "scheme": "http", "path": "/v1/echo", "raw_path": b"/v1/echo", "query_string": b"",
             "root_path": "", "client": ("127.0.0.1", 5000), "server": ("127.0.0.1", 8000),
             "headers": [(b"host", b"svc"), (b"content-type", b"application/json"),
                         (b"content-length", str(len(body)).encode())]}

    async def receive() -> dict:
        return {"type": "http.request", "body": body, "more_body": False}

    statuses: list[int] = []

    async def send(message: dict) -> None:
        if message["type"] == "http.response.start":
            statuses.append(message["status"])

    async def one() -> None:
        await app({**scope, "state": {}}, receive, send)

    for _ in range(200):
        await one()
    started = time.process_time()
    for _ in range(n):
        await one()
    cpu = time.process_time() - started
    assert set(statuses) == {201}, set(statuses)
    return {"n": n, "cpu_us_per_request": round(cpu * 1e6 / n, 1)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--questions", type=int, default=600)
    parser.add_argument("--warmup", type=int, default=100)
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--events", type=int, default=2000)
    parser.add_argument("--loop", default="uvloop", choices=["asyncio", "uvloop"])
    parser.add_argument("--http", default="httptools", choices=["h11", "httptools"])
    parser.add_argument("--label", default="latest")
    parser.add_argument("--profile", metavar="PREFIX", help="py-spy the servers to PREFIX-<kind>.txt")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--inline-sqlite", action="store_true",
                        help="experiment: the intake under test runs aiosqlite's calls on the loop's thread")
    parser.add_argument("--baseline-loop", choices=["asyncio", "uvloop"], help="the baseline's (default: --loop)")
    parser.add_argument("--baseline-http", choices=["h11", "httptools"], help="the baseline's (default: --http)")
    parser.add_argument("--baseline", metavar="DIR", help="also an intake from another checkout, interleaved")
    args = parser.parse_args()
    results: dict = {"label": args.label, "loop": args.loop, "http": args.http, "concurrency": args.concurrency,
                     "inline_sqlite": args.inline_sqlite, "baseline": args.baseline, "baseline_loop": args.baseline_loop,
                     "baseline_http": args.baseline_http, "at": time.strftime("%Y-%m-%dT%H:%M:%S")}
    roots = {"intake": ROOT} | ({"intake_baseline": Path(args.baseline).resolve()} if args.baseline else {})
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        servers, procs, spies = {}, [], []
        try:
            (work / "anchor").mkdir()
            proc, url = start("anchor", work / "anchor", args)
            procs.append(proc)
            servers["anchor"] = (anchor_round, url, "", proc.pid)
            for name, root in roots.items():
                (work / name).mkdir()
                server = (args.baseline_loop or args.loop, args.baseline_http or args.http)
                inline = {"HOT_PATH_INLINE_SQLITE": "1"} if args.inline_sqlite and name == "intake" else {}
                proc, url = start("intake", work / name, args, root, server if name != "intake" else None, inline)
                procs.append(proc)
                token = json.loads((work / name / "credentials.json").read_text())["kiosk"]
                servers[name] = (intake_round, url, token, proc.pid)
                if spy := profile(proc.pid, args.profile, name):
                    spies.append(spy)
            results |= asyncio.run(interleaved(servers, args))
        finally:
            for spy in spies:
                spy.send_signal(2)
                spy.wait(30)
            for proc in procs:
                proc.terminate()
                proc.wait(10)
        for name, root in roots.items():
            (work / f"append-{name}").mkdir()
            suffix = name.removeprefix("intake")
            for micro, arg in (("append", work / f"append-{name}"), ("edge", "")):
                out = subprocess.run(
                    [sys.executable, __file__, f"_{micro}", str(arg), str(args.events)],
                    cwd=root, env={**os.environ, "PYTHONPATH": str(root), "HOT_PATH_ROOT": str(root)},
                    capture_output=True, text=True, check=True,
                ).stdout
                results[f"{'event_append' if micro == 'append' else 'edge'}{suffix}"] = json.loads(out)
    anchor = results["anchor"]["cpu_ms_per_unit"] * 2  # per question: two requests
    for name in roots:
        results[name]["cpu_ms_per_request"] = round(results[name]["cpu_ms_per_unit"] / 2, 3)
        results[name]["over_anchor"] = round(results[name]["cpu_ms_per_unit"] / anchor, 2)
    print(json.dumps(results, indent=2))
    saved = json.loads(RESULTS.read_text()) if RESULTS.exists() else {}
    saved[args.label] = results
    RESULTS.write_text(json.dumps(saved, indent=2) + "\n")


if __name__ == "__main__":
    if os.environ.get("HOT_PATH_ROOT"):  # a child: the code under test comes first
        sys.path.insert(0, os.environ["HOT_PATH_ROOT"])
    if len(sys.argv) > 1 and sys.argv[1] == "_append":
        print(json.dumps(asyncio.run(bench_append(Path(sys.argv[2]), int(sys.argv[3])))))
    elif len(sys.argv) > 1 and sys.argv[1] == "_edge":
        print(json.dumps(asyncio.run(bench_edge(int(sys.argv[3]) * 5))))
    elif len(sys.argv) > 1 and sys.argv[1] == "_serve":
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
