"""Reporting starts without the libraries only some routes need: pyarrow (Parquet export),
numpy (forecasts) and statsmodels/scipy (Holt–Winters). Imported at start they cost a
reporting process ~50 MB of resident memory (docs/performance.md, peak RSS per process)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
HEAVY = ("pyarrow", "numpy", "statsmodels", "scipy", "pandas")


def test_serving_reporting_does_not_import_the_heavy_libraries(tmp_path):
    code = (
        "import json, sys\n"
        "import servicekontor.runner\n"
        "from services.reporting.config import ReportingSettings\n"
        "runtime = servicekontor.runner.bootstrap_service('reporting', ReportingSettings(), None)\n"
        "assert runtime.app.routes\n"
        f"print(json.dumps(sorted({{m.split('.')[0] for m in sys.modules}} & set({list(HEAVY)!r}))))\n"
    )
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=120,
                          env={"PATH": "/usr/bin:/bin", "SK_DATA_DIR": str(tmp_path)}, check=False)
    assert done.returncode == 0, done.stderr[-3000:]
    assert json.loads(done.stdout.strip().splitlines()[-1]) == []
