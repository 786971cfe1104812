"""The port the classifier needs from a statistical text model (the scikit-learn adapter
implements it; unit tests use a fake)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Protocol

from services.routing.domain.rules import CaseKey


@dataclass(frozen=True)
class TextPrediction:
    case_types: Sequence[float]  # a probability per ``TextModel.case_type_labels``
    levels: Sequence[float]  # a probability per ``TextModel.level_labels``
    known: float  # share of the question's words the model has seen in training, 0..1
    # (head "case_type" or "level", label index, how many) -> the words that weighed most
    explain: Callable[[str, int, int], tuple[str, ...]]


class TextModel(Protocol):
    """A trained model over normalised text (``domain.text.normalise``)."""

    version: str
    case_type_labels: tuple[CaseKey, ...]
    level_labels: tuple[str, ...]

    def predict(self, clean: str) -> TextPrediction:
        """Probabilities for one normalised question, with a way to explain them."""
        ...

    def predict_many(self, cleans: Sequence[str]) -> list[TextPrediction]:
        """``predict`` for many questions at once (the same answers, faster)."""
        ...
