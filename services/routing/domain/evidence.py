"""How the text model, the lexicon and the hints add up (in log-odds) to a posterior over
case types. Constants are set by reasoning and cross-validation on the training split
only (docs/routing.md), never on the held-out split."""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import cached_property

from services.routing.domain.ports import TextModel, TextPrediction
from services.routing.domain.rules import CaseKey, Keyword
from services.routing.domain.text import content_words
from shared.catalog import Catalog

AGENCY_HINT = 4.0  # a hinted agency's case types are 4 times as likely a priori
CASE_TYPE_HINT = 3.0  # and the hinted case type 3 times more again
KEYWORD_WEIGHT = 1.0  # log-odds added per unit of keyword weight (1 + 0.08 per letter)
UNKNOWN_WORDS_WEIGHT = 0.2  # trust in a text whose words are all unknown (typos, a language)


def text_weight(known: float, keywords_found: bool, has_content: bool) -> float:
    """How far the model's reading of the text is trusted: fully when at least half of
    its content words are known; a little when none is (letter patterns still say
    something); not at all when there are no words (empty, emoji, another script)."""
    weight = min(1.0, known / 0.5)
    if keywords_found:
        return max(weight, 0.5)
    return max(weight, UNKNOWN_WORDS_WEIGHT) if has_content else weight


def softmax(scores: list[float]) -> list[float]:
    top = max(scores)
    exps = [math.exp(s - top) for s in scores]
    total = sum(exps)
    return [e / total for e in exps]


@dataclass(frozen=True)
class Evidence:
    labels: tuple[CaseKey, ...]
    posterior: list[float]
    text_scores: list[float]
    chosen_index: int
    weight: float
    keywords: dict[CaseKey, list[Keyword]]
    prediction: TextPrediction
    hint_agency: str | None
    hint_case_type: str | None

    @property
    def chosen(self) -> CaseKey:
        return self.labels[self.chosen_index]

    @property
    def agency_probability(self) -> float:
        agency = self.chosen[0]
        return sum(p for p, key in zip(self.posterior, self.labels, strict=True) if key[0] == agency)

    @cached_property
    def model_words(self) -> tuple[str, ...]:
        if self.weight == 0.0:
            return ()
        return self.prediction.explain("case_type", self.chosen_index, 3)

    @property
    def words(self) -> tuple[str, ...]:
        found = tuple(k.text for k in self.keywords.get(self.chosen, ()))
        parts = {part for k in found for part in k.split()}
        return found + tuple(w for w in self.model_words if w not in parts)

    def describe(self, catalog: Catalog) -> str:
        what = f"{catalog.agency_names[self.chosen[0]]}: {catalog.case_types[self.chosen].name}"
        if self.weight == 0.0 and not self.keywords:
            return f"{what}. Nothing in the text was recognised (empty, or another language)."
        words = ", ".join(repr(w) for w in self.words[:4])
        unknown = " Much of the text is unknown to the model." if self.weight < 1.0 else ""
        return f"{what}: the words {words} weighed most.{unknown}" if words else f"{what}.{unknown}"

    def hint_notes(self, catalog: Catalog) -> list[str]:
        if not self.hint_agency:
            return []
        hint = "/".join(h for h in (self.hint_agency, self.hint_case_type) if h)
        text_best = self.labels[max(range(len(self.labels)), key=self.text_scores.__getitem__)]
        if self.chosen[0] != self.hint_agency or (self.hint_case_type and self.chosen[1] != self.hint_case_type):
            return [f"The kiosk/desk hint {hint} was outweighed by the text."]
        if self.weight == 0.0 and not self.keywords:
            return [f"Decided by the kiosk/desk hint {hint} alone: the text gave no evidence."]
        if text_best != self.chosen:
            return [f"The kiosk/desk hint {hint} tipped the balance; the text alone pointed to {'/'.join(text_best)}."]
        return [f"The kiosk/desk hint {hint} agrees with the text."]


def combine(
    model: TextModel,
    prediction: TextPrediction,
    found: dict[CaseKey, list[Keyword]],
    clean: str,
    agency: str | None,
    case_type: str | None,
    tiebreak: dict[CaseKey, float] | None = None,
) -> Evidence:
    # ``tiebreak``: tiny per-case-type scores that settle ties (no evidence at all)
    """The model's reading of ``clean`` (``prediction``), the lexicon's keywords found in
    it per case type (``found``) and the hints, in one posterior over case types."""
    weight = text_weight(prediction.known, bool(found), bool(content_words(clean)))
    labels = model.case_type_labels
    uniform = (1.0 - weight) / len(labels)
    boost = dict.fromkeys(labels, 0.0)
    boost.update(tiebreak or {})
    for key, keywords in found.items():
        boost[key] += KEYWORD_WEIGHT * sum(k.weight for k in keywords)
    log = math.log
    text_scores = [
        log(weight * p + uniform if weight * p + uniform > 1e-12 else 1e-12) + boost[key]
        for p, key in zip(prediction.case_types, labels, strict=True)
    ]
    scores = text_scores
    if agency:
        scores = [
            s
            + (math.log(AGENCY_HINT) if key[0] == agency else 0.0)
            + (math.log(CASE_TYPE_HINT) if key == (agency, case_type) else 0.0)
            for s, key in zip(text_scores, labels, strict=True)
        ]
    posterior = softmax(scores)
    chosen = max(range(len(labels)), key=posterior.__getitem__)
    return Evidence(labels, posterior, text_scores, chosen, weight, found, prediction, agency, case_type)
