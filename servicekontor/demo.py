"""``servicekontor demo``: visitors arrive, ask, are answered or forwarded, and leave.

Each visit: register (kiosk or desk), called to a desk, one to three questions, each
resolved after reading routing's decision (complex ones are forwarded), end of visit with
the three satisfaction answers. At the end it waits for every complex case to be
delivered to its agency and prints a summary.

Every request carries the bearer token of the client that would make it, from the
running system's ``<data_dir>/credentials.json`` (written by ``servicekontor up``): the
kiosk registers kiosk visits, records the questions and takes the satisfaction answers;
the desk registers walk-ins at the desk, calls visitors and resolves questions; a
supervisor reads routing's decisions and the deliveries; the BI role reads the figures.
A 429 is honoured as a real client would: wait ``Retry-After``, then ask again. Every
POST carries an ``Idempotency-Key`` of its own (one per created visit, question, call…),
and is sent again with it when its answer is lost, so a retry never doubles a visit.
"""

from __future__ import annotations

import asyncio
import json
import random
import time
import uuid
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import httpx
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from servicekontor.demo_data import OFFICES, QUESTIONS, case_type_weights, synthetic_pin


@dataclass(frozen=True)
class DemoTargets:
    host: str
    intake_port: int
    routing_port: int
    gateway_port: int
    reporting_port: int

    def url(self, port: int) -> str:
        return f"http://{self.host}:{port}"


@dataclass
class Tally:
    visits: int = 0
    questions: int = 0
    levels: Counter = field(default_factory=Counter)
    complex_questions: list[str] = field(default_factory=list)
    errors: Counter = field(default_factory=Counter)
    throttled: int = 0  # answers 429 (rate limit) that were waited out and retried
    requests: int = 0  # requests sent with this tally (the traffic's own, not the final checks)


class DemoError(Exception):
    pass


class CredentialsMissing(DemoError):
    pass


ROLES = ("kiosk", "desk", "supervisor", "bi")


@dataclass(frozen=True)
class Credentials:
    """The bearer token of each client role the demo plays."""

    tokens: dict[str, str]

    def headers(self, role: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.tokens[role]}"}


def load_credentials(data_dir: Path) -> Credentials:
    """The tokens ``servicekontor up`` wrote to ``<data_dir>/credentials.json``."""
    path = data_dir / "credentials.json"
    try:
        found = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise CredentialsMissing(
            f"no credentials at {path}: start the system with `servicekontor up` first "
            "(or point --data-dir / SK_DATA_DIR at the data directory it uses)"
        ) from None
    except (OSError, ValueError) as error:
        raise CredentialsMissing(f"cannot read the credentials at {path}: {error}") from error
    missing = [role for role in ROLES if not isinstance(found.get(role), str)]
    if missing:
        raise CredentialsMissing(
            f"{path} holds no token for {', '.join(missing)}: move it away and start "
            "`servicekontor up` again to write a new one"
        )
    return Credentials({role: found[role] for role in ROLES})


KEY_HEADER = "Idempotency-Key"
LOST = (502, 503, 504)  # the answer did not come from the service: ask again


def keyed(headers: dict[str, str]) -> dict[str, str]:
    """``headers`` and a new ``Idempotency-Key``: one per action, kept on its retries."""
    return {**headers, KEY_HEADER: str(uuid.uuid4())}


async def send(
    client: httpx.AsyncClient, method: str, url: str, tally: Tally | None = None,
    attempts: int = 4, **kwargs,
) -> httpx.Response:
    """One request; over the rate limit (429) wait ``Retry-After`` and try again. A request
    with an ``Idempotency-Key`` is sent again with the same key while its answer is lost
    (a connection error or timeout, or 502-504), ``attempts`` times in all: the system
    carries it out once and answers the retries with the first answer."""
    retry = KEY_HEADER in (kwargs.get("headers") or {})
    lost = 0
    while True:
        if tally is not None:
            tally.requests += 1
        try:
            response = await client.request(method, url, **kwargs)
        except httpx.TransportError:
            lost += 1
            if not retry or lost >= attempts:
                raise
            await asyncio.sleep(0.25 * lost)
            continue
        if retry and response.status_code in LOST and lost + 1 < attempts:
            lost += 1
            await asyncio.sleep(float(response.headers.get("retry-after", 0.25 * lost)))
            continue
        if response.status_code != 429:
            return response
        if tally is not None:
            tally.throttled += 1
        await asyncio.sleep(float(response.headers.get("retry-after", "1")))


async def until(fetch, done, deadline_seconds: float, interval: float = 0.05):
    """Call ``fetch`` until ``done(result)`` or the deadline passes; return the last result."""
    deadline = time.monotonic() + deadline_seconds
    while True:
        result = await fetch()
        if done(result) or time.monotonic() > deadline:
            return result
        await asyncio.sleep(interval)


class Visitor:
    def __init__(
        self, client: httpx.AsyncClient, targets: DemoTargets, rng: random.Random,
        credentials: Credentials, tally: Tally,
    ) -> None:
        self.client, self.targets, self.rng = client, targets, rng
        self.credentials, self.tally = credentials, tally
        self.weights = case_type_weights()

    async def post(self, role: str, port: int, path: str, body: dict, expect: int) -> dict:
        response = await send(
            self.client, "POST", self.targets.url(port) + path, self.tally,
            json=body, headers=keyed(self.credentials.headers(role)),
        )
        if response.status_code != expect:
            raise DemoError(f"POST {path} (as {role}): {response.status_code} {response.text[:200]}")
        return response.json()

    async def visit(self, tally: Tally) -> None:
        rng, t = self.rng, self.targets
        keys = rng.choices(list(self.weights), weights=list(self.weights.values()), k=rng.choice([1, 1, 2, 2, 3]))
        channel = rng.choice(["kiosk", "kiosk", "desk"])
        first_agency = keys[0].split("/")[0] if channel == "kiosk" and rng.random() < 0.6 else None
        body = {"office_id": rng.choice(OFFICES), "channel": channel, "agency": first_agency}
        # A kiosk visit is registered by the kiosk, a walk-in by the desk that takes it.
        visit = await self.post(channel, t.intake_port, "/v1/visits", body, 201)
        vid = visit["visit_id"]
        await self.post("desk", t.intake_port, f"/v1/visits/{vid}/call", {"desk": f"D{rng.randint(1, 6)}"}, 200)
        for key in keys:
            await self.ask(vid, key, tally)
        await self.post("kiosk", t.intake_port, f"/v1/visits/{vid}/end", {"satisfaction": self.satisfaction()}, 200)
        tally.visits += 1

    async def ask(self, vid: str, key: str, tally: Tally) -> None:
        rng, t = self.rng, self.targets
        body: dict = {"text": rng.choice(QUESTIONS[key])}
        if rng.random() < 0.4:
            body["personal_identity_number"] = synthetic_pin(rng)
        if rng.random() < 0.3:
            body["agency"] = key.split("/")[0]
        question = await self.post("kiosk", t.intake_port, f"/v1/visits/{vid}/questions", body, 201)
        qid = question["question_id"]
        tally.questions += 1
        url = f"{t.url(t.routing_port)}/v1/questions/{qid}/decision"
        supervisor = self.credentials.headers("supervisor")
        response = await until(
            lambda: send(self.client, "GET", url, self.tally, headers=supervisor),
            lambda r: r.status_code not in (404, 503), 15.0,
        )
        if response.status_code != 200:
            detail = "" if response.status_code == 404 else f": {response.status_code} {response.text[:200]}"
            raise DemoError(f"no decision for {qid} within 15 s{detail}")
        level = response.json()["level"]
        tally.levels[level] += 1
        if level == "complex":
            tally.complex_questions.append(qid)
        outcome = {"complex": "forwarded", "in_depth": rng.choice(["answered", "referred"])}.get(level, "answered")
        await self.post("desk", t.intake_port, f"/v1/questions/{qid}/resolution", {"outcome": outcome}, 200)

    def satisfaction(self) -> dict:
        r = self.rng.random
        return {
            "treatment": 5 if r() < 0.9 else (4 if r() < 0.9 else 2),
            "time": 5 if r() < 0.7 else (4 if r() < 0.7 else 2),
            "got_help": r() < 0.95,
        }


async def check_access(client: httpx.AsyncClient, targets: DemoTargets, credentials: Credentials) -> None:
    """Before any traffic: does the system accept these tokens? (Else: which data dir.)"""
    probes = [
        ("bi", f"{targets.url(targets.reporting_port)}/v1/stats/summary"),
        ("supervisor", f"{targets.url(targets.intake_port)}/ready"),
    ]
    for role, url in probes:
        try:
            response = await send(client, "GET", url, headers=credentials.headers(role))
        except httpx.HTTPError as error:
            raise DemoError(f"cannot reach {url}: {error!r}; is `servicekontor up` running?") from error
        if response.status_code in (401, 403):
            raise CredentialsMissing(
                f"{url} refused the {role} token from credentials.json ({response.status_code}: "
                f"{response.text[:200]}); was the system started with the same --data-dir?"
            )


async def run_demo(
    visits: int, targets: DemoTargets, concurrency: int, seed: int | None, wait_seconds: float,
    credentials: Credentials,
) -> bool:
    console = Console()
    rng = random.Random(seed)
    tally = Tally()
    started = time.monotonic()
    queue: asyncio.Queue[int] = asyncio.Queue()
    for n in range(visits):
        queue.put_nowait(n)
    limits = httpx.Limits(max_connections=concurrency * 2)
    summary_url = f"{targets.url(targets.reporting_port)}/v1/stats/summary"
    bi = credentials.headers("bi")
    async with httpx.AsyncClient(timeout=30.0, limits=limits) as client:
        await check_access(client, targets, credentials)
        before = await fetch_json(client, summary_url, bi) or {}
        with Progress(TextColumn("visits"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(), console=console) as bar:
            task = bar.add_task("visits", total=visits)

            async def worker() -> None:
                visitor = Visitor(client, targets, random.Random(rng.random()), credentials, tally)
                while not queue.empty():
                    queue.get_nowait()
                    try:
                        await visitor.visit(tally)
                    except (DemoError, httpx.HTTPError) as error:
                        tally.errors[type(error).__name__ + ": " + str(error)[:80]] += 1
                    bar.advance(task)

            await asyncio.gather(*(worker() for _ in range(concurrency)))
        traffic_seconds = time.monotonic() - started
        delivered, summary = await settle(client, targets, credentials, tally, before, wait_seconds)
    print_summary(console, tally, delivered, traffic_seconds, time.monotonic() - started, summary)
    return not tally.errors and delivered == len(tally.complex_questions)


async def settle(
    client: httpx.AsyncClient, targets: DemoTargets, credentials: Credentials, tally: Tally, before: dict,
    wait_seconds: float,
) -> tuple[int, dict | None]:
    """After the traffic: wait for every complex case's delivery, then for reporting to
    count what the demo did. The delivered cases and reporting's figures for this run."""
    try:
        delivered = await wait_for_deliveries(
            client, targets, tally.complex_questions, wait_seconds, credentials.headers("supervisor")
        )
    except httpx.HTTPError as error:
        raise DemoError(f"lost the system while waiting for the deliveries: {error!r}") from error
    summary_url = f"{targets.url(targets.reporting_port)}/v1/stats/summary"
    after = await until(
        lambda: fetch_json(client, summary_url, credentials.headers("bi")),
        lambda s: s is not None and caught_up(this_run(before, s), tally, delivered),
        wait_seconds,
    )
    return delivered, (this_run(before, after) if after else None)


async def wait_for_deliveries(
    client: httpx.AsyncClient, targets: DemoTargets, ids: list[str], seconds: float, headers: dict[str, str]
) -> int:
    base = f"{targets.url(targets.gateway_port)}/v1/deliveries/"
    deadline = time.monotonic() + seconds
    delivered = 0
    for qid in ids:
        remaining = max(0.1, deadline - time.monotonic())
        response = await until(
            lambda qid=qid: send(client, "GET", base + qid, headers=headers),
            lambda r: r.status_code == 200 and r.json()["status"] == "delivered",
            remaining,
        )
        delivered += response.status_code == 200 and response.json()["status"] == "delivered"
    return delivered


def this_run(before: dict, after: dict) -> dict:
    """Reporting's figures for this run: all-time totals minus those before it."""
    levels_before = before.get("questions_by_level", {})
    keys = ("visits", "visits_ended", "questions", "cases_delivered")
    run = {k: after.get(k, 0) - before.get(k, 0) for k in keys}
    run["questions_by_level"] = {
        level: n - levels_before.get(level, 0) for level, n in after.get("questions_by_level", {}).items()
    }
    return run


def caught_up(run: dict, tally: Tally, delivered: int) -> bool:
    return (
        run["visits_ended"] >= tally.visits
        and run["questions"] >= tally.questions
        and run["cases_delivered"] >= delivered
    )


async def fetch_json(client: httpx.AsyncClient, url: str, headers: dict[str, str]) -> dict | None:
    try:
        response = await send(client, "GET", url, headers=headers)
        return response.json() if response.status_code == 200 else None
    except httpx.HTTPError:
        return None


def print_summary(
    console: Console, tally: Tally, delivered: int, traffic_s: float, total_s: float, summary: dict | None,
    registered: int | None = None,
) -> None:
    """The demo's counts beside reporting's. ``registered``: the office day's tickets
    (reporting's visits), its ended visits beside reporting's ended ones."""
    table = Table(title="Servicekontor demo")
    table.add_column("measure")
    table.add_column("demo saw", justify="right")
    table.add_column("reporting says (this run)", justify="right")
    report = summary or {}
    by_level = report.get("questions_by_level", {})
    if registered is None:
        table.add_row("visits", str(tally.visits), str(report.get("visits", "-")))
    else:
        table.add_row("visits (tickets)", str(registered), str(report.get("visits", "-")))
        table.add_row("visits ended after service", str(tally.visits), str(report.get("visits_ended", "-")))
    table.add_row("questions", str(tally.questions), str(report.get("questions", "-")))
    for level in ("general", "in_depth", "complex"):
        table.add_row(f"  {level}", str(tally.levels[level]), str(by_level.get(level, "-")))
    table.add_row("complex cases delivered", f"{delivered} of {len(tally.complex_questions)}", str(report.get("cases_delivered", "-")))
    table.add_row("errors", str(sum(tally.errors.values())), "")
    if tally.throttled:
        table.add_row("rate-limited (429), waited and retried", str(tally.throttled), "")
    if tally.requests:
        table.add_row("requests sent", f"{tally.requests} ({tally.requests / max(1, tally.visits):.1f} per visit)", "")
    table.add_row("time taken", f"{total_s:.1f} s (traffic {traffic_s:.1f} s)", "")
    if registered is None:
        table.add_row("visits per second", f"{tally.visits / traffic_s:.1f}" if traffic_s else "-", "")
    console.print(table)
    for error, count in tally.errors.most_common(5):
        console.print(f"[red]{count} x {error}[/red]")
