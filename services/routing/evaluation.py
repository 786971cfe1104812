"""Measure a classifier on labelled examples: accuracy for level, agency and case type,
recall per level, and the level confusion matrix (rows: true level; columns: decided)."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any, Protocol

from shared.catalog import LEVELS

# What the held-out split must show (the acceptance figures).
TARGETS = {"level_accuracy": 0.90, "complex_recall": 0.95, "agency_accuracy": 0.95}


class Labelled(Protocol):
    text: str
    agency: str
    case_type: str
    level: str


@dataclass
class Report:
    examples: int = 0
    level_accuracy: float = 0.0
    agency_accuracy: float = 0.0
    case_type_accuracy: float = 0.0
    needs_review_share: float = 0.0
    level_recall: dict[str, float] = field(default_factory=dict)
    confusion: dict[str, dict[str, int]] = field(default_factory=dict)
    mistakes: list[dict[str, Any]] = field(default_factory=list)

    def misses(self) -> list[str]:
        """The acceptance figures this report does not meet."""
        figures = {**self.__dict__, "complex_recall": self.level_recall.get("complex", 0.0)}
        return [f"{name} {figures[name]:.3f} < {goal}" for name, goal in TARGETS.items() if figures[name] < goal]

    def as_dict(self) -> dict[str, Any]:
        return {k: v for k, v in self.__dict__.items() if k != "mistakes"}


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
        counts["level"] += result.level == example.level
        counts["agency"] += result.agency == example.agency
        counts["case_type"] += (result.agency, result.case_type) == (example.agency, example.case_type)
        counts["review"] += result.needs_review
        confusion[example.level][result.level] += 1
        wrong = (result.level, result.agency, result.case_type) != (example.level, example.agency, example.case_type)
        if wrong and len(mistakes) < keep_mistakes:
            mistakes.append({
                "text": example.text,
                "expected": f"{example.level} {example.agency}/{example.case_type}",
                "decided": f"{result.level} {result.agency}/{result.case_type} ({result.confidence:.2f})",
            })
    n = counts["n"] or 1
    recall = {level: row[level] / (sum(row.values()) or 1) for level, row in confusion.items()}
    return Report(
        examples=counts["n"],
        level_accuracy=counts["level"] / n,
        agency_accuracy=counts["agency"] / n,
        case_type_accuracy=counts["case_type"] / n,
        needs_review_share=counts["review"] / n,
        level_recall=recall,
        confusion=confusion,
        mistakes=mistakes,
    )
