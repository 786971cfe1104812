"""Replay benchmark: events per second of ``servicekontor replay reporting`` on a generated
history, next to reading the raw logs alone in the same run.

    python bench/replay.py                      # 108 000 visits: a little over 1 million events
    python bench/replay.py --visits 20000 --data-dir /tmp/history   # keep and reuse a history

Prints a table and writes bench/results/replay.json.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import platform
import resource
import sqlite3
import sys
import tempfile
import time
from pathlib import Path
from zoneinfo import ZoneInfo

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from rich.console import Console  # noqa: E402
from rich.table import Table  # noqa: E402

from servicekontor.synthetic_history import FILES, write_history  # noqa: E402
from services.reporting.adapters.cost_config import SAMPLE, load_cost_config  # noqa: E402
from services.reporting.adapters.event_log import SqliteEventLog  # noqa: E402
from services.reporting.bootstrap import bootstrap  # noqa: E402
from services.reporting.config import ReportingSettings  # noqa: E402
from services.reporting.handlers.replay import replay  # noqa: E402
from shared import topics  # noqa: E402
from shared.catalog import load_catalog  # noqa: E402
from shared.db import sqlite_url  # noqa: E402

RESULTS = Path(__file__).resolve().parent / "results" / "replay.json"
YEAR_OF_THE_NETWORK = 20_000_000


def logs(data_dir: Path) -> list[SqliteEventLog]:
    topic = {"intake": topics.INTAKE, "routing": topics.ROUTING, "gateway": topics.GATEWAY}
    return [SqliteEventLog(data_dir / name, topic[p]) for p, name in FILES.items()]


async def read_raw(data_dir: Path, decode: bool) -> tuple[int, float]:
    started, n = time.perf_counter(), 0
    for log in logs(data_dir):
        async for batch in log.batches(20_000):
            n += len(batch)
            if decode:
                for row in batch:
                    json.loads(row[3])
    return n, time.perf_counter() - started


async def run_replay(data_dir: Path, partitions: int) -> tuple[object, float]:
    (data_dir / "reporting.db").unlink(missing_ok=True)
    settings = ReportingSettings(data_dir=data_dir, reporting_costs_file=SAMPLE,
                                 reporting_database_url=sqlite_url(data_dir / "reporting.db"))
    runtime = bootstrap(settings)
    await runtime.init_db()
    started = time.perf_counter()
    result = await replay(runtime.engine, logs(data_dir), ZoneInfo("Europe/Stockholm"),
                          load_cost_config(SAMPLE, load_catalog()), partitions=partitions)
    elapsed = time.perf_counter() - started
    await runtime.close()
    return result, elapsed


async def main(visits: int, data_dir: Path, partitions: int = 1) -> dict:
    console = Console()
    if not (data_dir / FILES["intake"]).exists():
        console.print(f"generating {visits:,} visits into {data_dir} …")
        started = time.perf_counter()
        write_history(data_dir, visits)
        console.print(f"generated in {time.perf_counter() - started:.0f} s")
    with sqlite3.connect(data_dir / FILES["intake"]) as db:
        visits = db.execute("SELECT COUNT(*) FROM event_store WHERE event_type = 'intake.VisitRegistered'").fetchone()[0]
    raw_n, raw_s = await read_raw(data_dir, decode=False)
    json_n, json_s = await read_raw(data_dir, decode=True)
    result, replay_s = await run_replay(data_dir, partitions)
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    rate = result.events_read / replay_s
    report = {
        "events": raw_n, "visits": visits, "questions": result.questions,
        "raw_read": {"seconds": round(raw_s, 2), "events_per_second": round(raw_n / raw_s)},
        "raw_read_and_json_decode": {"seconds": round(json_s, 2), "events_per_second": round(json_n / json_s)},
        "replay": {
            "seconds": round(replay_s, 2), "events_per_second": round(rate),
            "fold_seconds": round(result.fold_seconds, 2),
            "write_seconds": round(result.write_seconds, 2),
            "derive_seconds": round(result.derive_seconds, 2),
        },
        "partitions": partitions,
        "peak_memory_mb": round(peak_mb),
        "seconds_per_million_events": round(replay_s / raw_n * 1_000_000, 1),
        "estimated_minutes_for_20_million_events": round(YEAR_OF_THE_NETWORK / rate / 60, 1),
        "target_events_per_second": 50_000,
        "machine": {"python": platform.python_version(), "platform": platform.platform(),
                    "sqlite": sqlite3.sqlite_version},
    }
    table = Table(title=f"reporting replay: {raw_n:,} events ({visits:,} visits)")
    for column in ("step", "seconds", "events per second"):
        table.add_column(column, justify="right" if column != "step" else "left")
    table.add_row("read the raw logs alone", f"{raw_s:.2f}", f"{raw_n / raw_s:,.0f}")
    table.add_row("read + JSON decode", f"{json_s:.2f}", f"{json_n / json_s:,.0f}")
    table.add_row("replay (read, fold, bulk write, derive)", f"{replay_s:.2f}", f"{rate:,.0f}")
    table.add_row("  of which fold (incl. read)", f"{result.fold_seconds:.2f}", "")
    table.add_row("  of which bulk write + index", f"{result.write_seconds:.2f}", "")
    table.add_row("  of which aggregates, dimensions, costs", f"{result.derive_seconds:.2f}", "")
    table.add_row("20 million events (a year, estimated)", f"{YEAR_OF_THE_NETWORK / rate:.0f}", "")
    table.add_row(f"peak memory of the process ({partitions} pass{'es' if partitions > 1 else ''})", f"{peak_mb:,.0f} MB", "")
    console.print(table)
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
    console.print(f"written to {RESULTS}")
    return report


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--visits", type=int, default=108_000, help="visits to generate (about 9.3 events each)")
    parser.add_argument("--data-dir", type=Path, help="where the history lives (reused when present)")
    parser.add_argument("--partitions", type=int, default=1, help="fold in this many passes")
    args = parser.parse_args()
    if args.data_dir:
        asyncio.run(main(args.visits, args.data_dir, args.partitions))
    else:
        with tempfile.TemporaryDirectory(prefix="sk-replay-bench-") as tmp:
            asyncio.run(main(args.visits, Path(tmp), args.partitions))
