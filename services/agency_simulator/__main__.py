"""``python -m services.agency_simulator [--port 8009] [--data-dir data] [fault flags]``.

Fault flags set the plan at start (change it later with ``/v1/admin/...``):
``--error-rate 0.3 --timeout-rate 0.05 --hang-seconds 5 --latency-ms 5,50
--outage polisen:10:10:hang`` (agency, seconds after start, duration, mode).
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import uvicorn

from services.agency_simulator.app import SimulatorRefused, build_simulator, check_environment
from services.agency_simulator.faults import FaultPlan, Faults, Outage


def parse_outage(spec: str, now: float) -> tuple[str, Outage]:
    """``agency:start:seconds[:mode]`` -> the agency and its window."""
    parts = spec.split(":")
    if len(parts) not in (3, 4):
        raise argparse.ArgumentTypeError("--outage is agency:start:seconds[:error|hang]")
    agency, start, seconds = parts[0], float(parts[1]), float(parts[2])
    mode = parts[3] if len(parts) == 4 else "error"
    outage = Outage(since=now + start, until=now + start + seconds, mode=mode)
    return agency, outage


def plan_from(args: argparse.Namespace) -> FaultPlan:
    low, _, high = args.latency_ms.partition(",")
    faults = Faults(
        error_rate=args.error_rate,
        timeout_rate=args.timeout_rate,
        hang_seconds=args.hang_seconds,
        latency_ms=(float(low), float(high or low)),
    )
    now = time.time()
    plan = FaultPlan(defaults=faults)
    for spec in args.outage:
        agency, outage = parse_outage(spec, now)
        plan.outages[agency] = outage
    return plan


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="Agency simulator (never a production target)")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8009)
    parser.add_argument("--data-dir", type=Path, default=Path("data"))
    parser.add_argument("--error-rate", type=float, default=0.0)
    parser.add_argument("--timeout-rate", type=float, default=0.0)
    parser.add_argument("--hang-seconds", type=float, default=30.0)
    parser.add_argument("--latency-ms", default="0,0", help="MIN,MAX")
    parser.add_argument("--outage", action="append", default=[], help="agency:start:seconds[:mode]")
    parser.add_argument("--seed", type=int, default=None)
    parser.add_argument("--no-signature-check", action="store_true")
    parser.add_argument("--callback-url", default=None, help="the gateway's base URL")
    parser.add_argument("--callback-delay", type=float, default=None)
    args = parser.parse_args(argv)
    try:
        check_environment()
    except SimulatorRefused as error:
        print(f"agency simulator: {error}", file=sys.stderr)
        raise SystemExit(2) from None
    app = build_simulator(
        args.data_dir,
        args.port,
        plan=plan_from(args),
        require_signature=not args.no_signature_check,
        callback_url=args.callback_url,
        callback_delay=args.callback_delay,
        seed=args.seed,
    )
    uvicorn.run(app, host=args.host, port=args.port, log_level="warning")


if __name__ == "__main__":
    main()
