"""Benchmark routing's classifier next to a trivial keyword baseline, on one core.

- batch: questions per second through ``classify_many`` (chunks of 500; the corpus's
  texts, each with fresh typing slips, so words are not all cached), by the wall clock
  and by this process's CPU time (which other work on a shared machine does not inflate);
  and one by one;
- single: p50/p99 latency of one decision (text in, level/agency/case type/explanation out);
- accuracy of both on the held-out split, for scale (and, for the classifier, of the
  decisions made without review, with their coverage).
Prints a table and writes bench/results/classify.json. Run: python bench/classify.py
"""

from __future__ import annotations

import json
import os
import platform
import statistics
import sys
import time
import zlib
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from services.routing.adapters.corpus import corpus_files, load_corpus  # noqa: E402
from services.routing.adapters.rule_files import load_classifier, load_rules  # noqa: E402
from services.routing.adapters.training import noisy  # noqa: E402
from services.routing.domain.classifier import Question  # noqa: E402
from services.routing.domain.evaluation import evaluate  # noqa: E402
from services.routing.domain.text import matches, normalise  # noqa: E402
from shared.catalog import load_catalog  # noqa: E402

BATCH = 20_000
CHUNK = 500  # questions per classify_many call
SINGLE = 3_000


@dataclass(frozen=True)
class BaselineResult:
    level: str
    agency: str
    case_type: str
    confidence: float = 1.0
    needs_review: bool = False


class KeywordBaseline:
    """The trivial baseline: the lexicon's longest matching keyword names the case type;
    the level is complex for the rule case types, otherwise general."""

    def __init__(self) -> None:
        rules = load_rules()
        self.entries = sorted(rules.lexicon.entries, key=lambda e: -len(e[1].text))
        self.complex = rules.ruled_case_types()

    def classify_many(self, questions: list[Question]) -> list[BaselineResult]:
        return [self.classify(q.text) for q in questions]

    def classify(self, text: str, agency: str | None = None, case_type: str | None = None):
        clean = normalise(text)
        key = next((keys[0] for keys, k in self.entries if matches(k, clean)), ("forsakringskassan", "bostadsbidrag"))
        level = "complex" if key in self.complex else "general"
        return BaselineResult(level, key[0], key[1])


def pin_one_core() -> str:
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {min(os.sched_getaffinity(0))})
        return "pinned to one core"
    return "not pinned (no sched_setaffinity)"


def measure(name: str, classifier, texts: list[str], heldout) -> dict:
    for text in texts[:500]:  # warm up
        classifier.classify(text)
    batch = [Question(text) for text in texts[:BATCH]]
    started, cpu = time.perf_counter(), time.process_time()
    for start in range(0, len(batch), CHUNK):
        classifier.classify_many(batch[start:start + CHUNK])
    throughput = len(batch) / (time.perf_counter() - started)
    cpu_throughput = len(batch) / max(time.process_time() - cpu, 1e-9)
    started = time.perf_counter()
    for question in batch[:5000]:
        classifier.classify(question.text)
    one_by_one = 5000 / (time.perf_counter() - started)
    latencies = []
    for text in texts[BATCH:BATCH + SINGLE]:
        t0 = time.perf_counter_ns()
        classifier.classify(text)
        latencies.append((time.perf_counter_ns() - t0) / 1e6)
    latencies.sort()
    report = evaluate(classifier, heldout)
    return {
        "name": name,
        "batch_questions_per_s": round(throughput),
        "batch_questions_per_cpu_s": round(cpu_throughput),
        "one_by_one_questions_per_s": round(one_by_one),
        "single_p50_ms": round(statistics.median(latencies), 3),
        "single_p99_ms": round(latencies[int(0.99 * len(latencies)) - 1], 3),
        "heldout_level_accuracy": round(report.level_accuracy, 3),
        "heldout_agency_accuracy": round(report.agency_accuracy, 3),
        "heldout_complex_recall": round(report.level_recall["complex"], 3),
        "heldout_decided_coverage": round(report.decided["coverage"], 3),
        "heldout_decided_level_accuracy": round(report.decided["level_accuracy"], 3),
    }


def main() -> None:
    pinning = pin_one_core()
    examples = load_corpus(corpus_files(), load_catalog())
    heldout = [e for e in examples if e.split == "heldout"]
    texts = [noisy(e.text, zlib.crc32(f"{e.id}-{round_}".encode())) for round_ in range(20) for e in examples]
    started = time.perf_counter()
    classifier = load_classifier()
    load_seconds = time.perf_counter() - started
    rows = [measure("routing classifier", classifier, texts, heldout), measure("keyword baseline", KeywordBaseline(), texts, heldout)]
    result = {
        "model_version": classifier.model_version,
        "load_seconds": round(load_seconds, 2),
        "python": platform.python_version(),
        "machine": platform.machine(),
        "cpu": pinning,
        "batch_size": BATCH,
        "single_calls": SINGLE,
        "results": rows,
    }
    header = (f"{'':22}{'batch q/s':>11}{'q/cpu s':>9}{'1-by-1 q/s':>12}{'p50 ms':>9}{'p99 ms':>9}{'level acc':>11}"
              f"{'agency acc':>12}{'complex rec':>13}")
    print(f"model {classifier.model_version} (loaded in {load_seconds:.1f} s), {pinning}")
    print(header)
    for r in rows:
        print(f"{r['name']:22}{r['batch_questions_per_s']:>11}{r['batch_questions_per_cpu_s']:>9}{r['one_by_one_questions_per_s']:>12}"
              f"{r['single_p50_ms']:>9}{r['single_p99_ms']:>9}"
              f"{r['heldout_level_accuracy']:>11}{r['heldout_agency_accuracy']:>12}{r['heldout_complex_recall']:>13}")
    out = Path(__file__).resolve().parent / "results" / "classify.json"
    out.parent.mkdir(exist_ok=True)
    out.write_text(json.dumps(result, indent=2) + "\n")
    print(f"written {out}")


if __name__ == "__main__":
    main()
