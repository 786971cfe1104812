"""A text model for unit tests: it answers from a table of words, so a test states
exactly what "the model" thinks and checks what the classifier does with it."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from services.routing.domain.ports import TextPrediction
from services.routing.domain.rules import CaseKey
from services.routing.domain.text import content_words
from shared.catalog import LEVELS, load_catalog


@dataclass
class FakeTextModel:
    """``table``: a word (normal form) -> (case type, level) it points to. The first word
    found wins with probability ``sure``; the rest is spread evenly. Words in the table
    are the known words; others are unknown."""

    table: dict[str, tuple[CaseKey, str]]
    sure: float = 0.9
    version: str = "fake-1"
    case_type_labels: tuple[CaseKey, ...] = field(default_factory=lambda: tuple(load_catalog().case_types))
    level_labels: tuple[str, ...] = LEVELS
    seen: list[str] = field(default_factory=list)

    def predict(self, clean: str) -> TextPrediction:
        self.seen.append(clean)
        content = content_words(clean)
        hits = [w for w in content if w in self.table]
        known = len(hits) / len(content) if content else 0.0
        if not hits:
            return TextPrediction(self._spread(self.case_type_labels, None), self._spread(self.level_labels, None), known, _none)
        key, level = self.table[hits[0]]
        words = tuple(hits)
        return TextPrediction(
            self._spread(self.case_type_labels, key),
            self._spread(self.level_labels, level),
            known,
            lambda _head, _label, n: words[:n],
        )

    def predict_many(self, cleans: Sequence[str]) -> list[TextPrediction]:
        return [self.predict(clean) for clean in cleans]

    def _spread(self, labels: Sequence, chosen: object) -> list[float]:
        if chosen is None:
            return [1.0 / len(labels)] * len(labels)
        rest = (1.0 - self.sure) / (len(labels) - 1)
        return [self.sure if label == chosen else rest for label in labels]


def _none(_head: str, _label: int, _n: int) -> tuple[str, ...]:
    return ()
