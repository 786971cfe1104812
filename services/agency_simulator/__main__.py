"""``python -m services.agency_simulator [--port 8009] [--data-dir data]``."""

from __future__ import annotations

import argparse
from pathlib import Path

import uvicorn

from services.agency_simulator.app import build_simulator


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="Agency simulator (never a production target)")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8009)
    parser.add_argument("--data-dir", type=Path, default=Path("data"))
    args = parser.parse_args(argv)
    app = build_simulator(args.data_dir, args.port)
    uvicorn.run(app, host=args.host, port=args.port, log_level="warning")


if __name__ == "__main__":
    main()
