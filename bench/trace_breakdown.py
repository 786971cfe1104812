"""Where the milliseconds of one question go, from its traces (shared/tracing.py).

The four services in this process on the embedded bus and SQLite, tracing on with an
in-memory exporter; questions of the mixed kind (bench/questions.json, 60 % general, 25 %
in-depth, 15 % complex) are asked one at a time at the kiosk, each waited for until
reporting has handled its last event. The spans of every question's trace are then
grouped by service and span name:

    python bench/trace_breakdown.py --questions 50

Columns: spans per question, mean ms per span, ms per question (their sum, averaged over
the questions). Spans nest (a request's SQL statements are inside the request's span), so
the rows of one service do not add up; ``(wait)`` rows are the time from the end of the
span that recorded an event to the start of its handling (the bus); ``end to end`` is the POST's start to the trace's
last span end. The gateway's delivery worker is not run, so the agency call (which joins
the question's trace when it runs, see shared/tracing.py) is not among these rows.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import statistics
import sys
import time
from collections import defaultdict
from pathlib import Path
from tempfile import mkdtemp

from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from shared import tracing  # noqa: E402
from tests.helpers import api_client  # noqa: E402
from tests.integration.test_audit_trail import start, stop  # noqa: E402

MIX = {"general": 12, "in_depth": 5, "complex": 3}  # per block of 20, as bench/e2e.py
QUESTIONS = json.loads((ROOT / "bench" / "questions.json").read_text())["levels"]


def workload(n: int, rng: random.Random) -> list[tuple[str, str]]:
    out: list[tuple[str, str]] = []
    while len(out) < n:
        block = [level for level, k in MIX.items() for _ in range(k)]
        rng.shuffle(block)
        out += [(level, rng.choice(QUESTIONS[level])["text"]) for level in block]
    return out[:n]


def service(span) -> str:
    return span.resource.attributes["service.name"]


def label(span) -> str:
    """SQL statements by verb (their names carry the database file's path)."""
    if span.kind is SpanKind.CLIENT and any(k.startswith("db.") for k in span.attributes or {}):
        return f"SQL {span.name.split(' ')[0]}"
    return span.name


def last_hops(level: str) -> set[str]:
    """Reporting's handling of the question's last events: the question is done."""
    hops = {"handle routing.QuestionClassified"}
    return hops | {"handle gateway.CaseQueuedForDelivery"} if level == "complex" else hops


async def ask_all(n: int, exporter: InMemorySpanExporter, data_dir: Path) -> list[tuple[str, int]]:
    system = await start(data_dir)  # the audit trail test's: the four services, one bus
    asked: list[tuple[str, int]] = []
    try:
        async with api_client(system.runtimes["intake"], "kiosk") as kiosk:
            for level, text in workload(n, random.Random(7)):
                visit = (await kiosk.post("/v1/visits", json={"office_id": "kiruna", "channel": "kiosk"})).json()
                before = len(exporter.get_finished_spans())
                answer = await kiosk.post(f"/v1/visits/{visit['visit_id']}/questions", json={"text": text})
                answer.raise_for_status()
                post = next(s for s in exporter.get_finished_spans()[before:]
                            if s.kind is SpanKind.SERVER and s.name.endswith("/questions"))
                trace_id = post.context.trace_id
                deadline = time.monotonic() + 30
                while not last_hops(level) <= {
                    s.name for s in exporter.get_finished_spans() if s.context.trace_id == trace_id and service(s) == "reporting"
                }:
                    if time.monotonic() > deadline:
                        raise TimeoutError(f"question of level {level} not handled by reporting in 30 s")
                    await asyncio.sleep(0.005)
                asked.append((level, trace_id))
    finally:
        await stop(system)
    return asked


def breakdown(exporter: InMemorySpanExporter, asked: list[tuple[str, int]]) -> str:
    wanted = {trace_id for _, trace_id in asked}
    traces: dict[int, list] = defaultdict(list)
    for span in exporter.get_finished_spans():
        if span.context.trace_id in wanted:
            traces[span.context.trace_id].append(span)
    rows: dict[tuple[str, str], list[float]] = defaultdict(list)
    for spans in traces.values():
        by_id = {s.context.span_id: s for s in spans}
        for span in spans:
            rows[(service(span), label(span))].append((span.end_time - span.start_time) / 1e6)
            parent = by_id.get(span.parent.span_id) if span.parent else None
            if span.kind is SpanKind.CONSUMER and parent is not None:
                # From the end of the span that recorded the event (its commit is just
                # before) to the start of its handling: the bus and the batch ahead of it.
                rows[(service(span), f"(wait) {span.name}")].append((span.start_time - parent.end_time) / 1e6)
    n = len(asked)
    ends = []
    for spans in traces.values():
        root = next(s for s in spans if s.parent is None)
        ends.append((max(s.end_time for s in spans) - root.start_time) / 1e6)
    levels = {level: sum(1 for lv, _ in asked if lv == level) for level in MIX}
    lines = [
        f"{n} questions ({', '.join(f'{k} {v}' for k, v in levels.items())}), embedded mode, SQLite, one at a time",
        f"end to end (POST start to last span end): mean {statistics.mean(ends):.1f} ms, "
        f"median {statistics.median(ends):.1f} ms, max {max(ends):.1f} ms",
        "",
        f"{'service':<15} {'span':<58} {'per q':>6} {'ms/span':>8} {'ms/q':>7}",
    ]
    by_service = sorted(rows.items(), key=lambda kv: (kv[0][0], -sum(kv[1])))
    for (svc, name), durations in by_service:
        lines.append(
            f"{svc:<15} {name[:58]:<58} {len(durations) / n:>6.2f} {statistics.mean(durations):>8.2f} "
            f"{sum(durations) / n:>7.2f}"
        )
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--questions", type=int, default=50)
    args = parser.parse_args()
    exporter = InMemorySpanExporter()
    tracing.record_to(SimpleSpanProcessor(exporter))
    try:
        asked = asyncio.run(ask_all(args.questions, exporter, Path(mkdtemp(prefix="sk-trace-"))))
    finally:
        tracing.reset()
    print(breakdown(exporter, asked))


if __name__ == "__main__":
    main()
