"""Measure a classifier on labelled examples: accuracy for level, agency and case type,
recall per level, the level confusion matrix (rows: true level; columns: decided), the
over-forwarding rate (general or in-depth questions decided complex, i.e. sent to an
agency), and coverage at each confidence threshold (the share decided without review,
and how good those decisions are).

Three sets: the corpus's held-out split; the development set (``adapters/data/dev_set.jsonl``,
written for this project's tuning: the rules' situations and cues, the review threshold
and the other review signals were chosen on it and on the held-out split); and the
independent set (``adapters/data/independent_eval.jsonl``, written from the level definitions and
never trained or tuned on). The targets apply to the independent set's decisions made
without review (``needs_review`` false); the rest go to the desk, and the coverage says
how many.

Two coverage tables: by confidence alone (``coverage``), and by the whole review rule at
each threshold (``review_coverage``: confidence at least the threshold and no other
reason for review, such as a situation read against the decision or several matters).

Pure: the labelled sets are read by ``adapters/eval_sets.py``.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any, Protocol

from shared.catalog import LEVELS

# The acceptance figures, on the independent set's decisions without review.
TARGETS = {"level_accuracy": 0.90, "complex_recall": 0.95, "agency_accuracy": 0.95}
MAX_OVER_FORWARDING = 0.05
MIN_COVERAGE = 0.5  # at least half of the questions must be decided without review
THRESHOLDS = (0.0, 0.3, 0.4, 0.5, 0.6, 0.7, 0.75, 0.8, 0.9)


class Labelled(Protocol):
    text: str
    agency: str | None
    case_type: str | None
    level: str


@dataclass
class Report:
    examples: int = 0
    level_accuracy: float = 0.0
    agency_accuracy: float = 0.0
    case_type_accuracy: float = 0.0
    needs_review_share: float = 0.0
    over_forwarding: float = 0.0  # general/in-depth questions decided complex
    level_recall: dict[str, float] = field(default_factory=dict)
    confusion: dict[str, dict[str, int]] = field(default_factory=dict)
    coverage: list[dict[str, float]] = field(default_factory=list)  # by confidence alone
    review_coverage: list[dict[str, float]] = field(default_factory=list)  # by the whole review rule
    mixed: dict[str, float] = field(default_factory=dict)  # questions split into several matters
    decided: dict[str, float] = field(default_factory=dict)  # figures without needs_review
    mistakes: list[dict[str, Any]] = field(default_factory=list)

    def figures(self, reviewed: bool = True) -> dict[str, float]:
        """The acceptance figures: of all questions, or (``reviewed`` false) of those
        decided without review."""
        if not reviewed:
            return dict(self.decided)
        return {"level_accuracy": self.level_accuracy, "complex_recall": self.level_recall.get("complex", 0.0),
                "agency_accuracy": self.agency_accuracy, "over_forwarding": self.over_forwarding, "coverage": 1.0}

    def misses(self, decided_only: bool = False) -> list[str]:
        """The acceptance figures this report does not meet: of all questions, or of
        those decided without review (then coverage must be at least ``MIN_COVERAGE``)."""
        figures = self.figures(reviewed=not decided_only)
        out = [f"{name} {figures[name]:.3f} < {goal}" for name, goal in TARGETS.items() if figures[name] < goal]
        if figures["over_forwarding"] > MAX_OVER_FORWARDING:
            out.append(f"over_forwarding {figures['over_forwarding']:.3f} > {MAX_OVER_FORWARDING}")
        if figures["coverage"] < MIN_COVERAGE:
            out.append(f"coverage {figures['coverage']:.3f} < {MIN_COVERAGE}")
        return out

    def as_dict(self) -> dict[str, Any]:
        return {k: v for k, v in self.__dict__.items() if k != "mistakes"}


def _figures(pairs: list[tuple[Any, Any]]) -> dict[str, float]:
    """Level/agency/case-type accuracy, complex recall and over-forwarding of (example,
    decision) pairs; an example without an agency is right when none is decided."""
    n = len(pairs) or 1
    complex_true = [r for e, r in pairs if e.level == "complex"]
    not_complex = [r for e, r in pairs if e.level != "complex"]
    return {
        "level_accuracy": sum(e.level == r.level for e, r in pairs) / n,
        "agency_accuracy": sum(e.agency == r.agency for e, r in pairs) / n,
        "case_type_accuracy": sum((e.agency, e.case_type) == (r.agency, r.case_type) for e, r in pairs) / n,
        "complex_recall": sum(r.level == "complex" for r in complex_true) / (len(complex_true) or 1),
        "over_forwarding": sum(r.level == "complex" for r in not_complex) / (len(not_complex) or 1),
    }


def evaluate(classifier: Any, examples: Iterable[Labelled], keep_mistakes: int = 20) -> Report:
    counts: Counter[str] = Counter()
    confusion = {true: dict.fromkeys(LEVELS, 0) for true in LEVELS}
    mistakes: list[dict[str, Any]] = []
    items = list(examples)
    if hasattr(classifier, "classify_many"):
        from services.routing.domain.classifier import Question

        results = classifier.classify_many([Question(e.text) for e in items])
    else:
        results = [classifier.classify(e.text) for e in items]
    for example, result in zip(items, results, strict=True):
        counts["n"] += 1
        counts["review"] += result.needs_review
        confusion[example.level][result.level] += 1
        wrong = (result.level, result.agency, result.case_type) != (example.level, example.agency, example.case_type)
        if wrong and len(mistakes) < keep_mistakes:
            mistakes.append({
                "text": example.text,
                "expected": f"{example.level} {example.agency}/{example.case_type}",
                "decided": f"{result.level} {result.agency}/{result.case_type} ({result.confidence:.2f})",
            })
    pairs = list(zip(items, results, strict=True))
    n = counts["n"] or 1
    recall = {level: row[level] / (sum(row.values()) or 1) for level, row in confusion.items()}
    overall = _figures(pairs)
    coverage, review_coverage = [], []
    for threshold in THRESHOLDS:
        kept = [(e, r) for e, r in pairs if r.confidence >= threshold]
        coverage.append({"threshold": threshold, "coverage": len(kept) / n, **_figures(kept)})
        sure = [(e, r) for e, r in kept if not getattr(r, "review_reasons", ())]
        review_coverage.append({"threshold": threshold, "coverage": len(sure) / n, **_figures(sure)})
    said_mixed = [(e, r) for e, r in pairs if getattr(r, "parts", ())]
    written_mixed = [e for e in items if getattr(e, "parts", ())]
    mixed = {"marked": len(said_mixed), "written": len(written_mixed),
             "found": sum(1 for e, r in pairs if getattr(e, "parts", ()) and getattr(r, "parts", ()))}
    decided_pairs = [(e, r) for e, r in pairs if not r.needs_review]
    decided = {**_figures(decided_pairs), "coverage": len(decided_pairs) / n}
    return Report(
        examples=counts["n"],
        level_accuracy=overall["level_accuracy"],
        agency_accuracy=overall["agency_accuracy"],
        case_type_accuracy=overall["case_type_accuracy"],
        needs_review_share=counts["review"] / n,
        over_forwarding=overall["over_forwarding"],
        level_recall=recall,
        confusion=confusion,
        coverage=coverage,
        review_coverage=review_coverage,
        mixed=mixed,
        decided=decided,
        mistakes=mistakes,
    )
