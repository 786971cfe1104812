"""The text model at inference: TF-IDF features (``features.py``) and two linear heads
(case type, level), evaluated with numpy (one question) or one sparse product (a batch).

The parameters come from scikit-learn (``training.py``); a single decision costs a
dictionary lookup per word and one small matrix product. Per-word feature ids are
cached, so words seen before cost almost nothing.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from services.routing.adapters.features import (
    MAX_WORDS,
    Bag,
    counted,
    explainer,
    nothing,
    word_features,
)
from services.routing.domain.ports import TextPrediction
from services.routing.domain.rules import CaseKey
from services.routing.domain.text import STOPWORDS

_CACHE_LIMIT = 200_000


@dataclass
class Head:
    labels: tuple[str, ...]
    weights: np.ndarray  # (features, labels), float32
    bias: np.ndarray  # (labels,)
    row_mean: np.ndarray = field(init=False, repr=False)  # (features,): the average label

    def __post_init__(self) -> None:
        self.row_mean = self.weights.mean(axis=1)


@dataclass
class LinearTextModel:
    version: str
    vocabulary: dict[str, int]
    idf: np.ndarray
    case_type: Head
    level: Head
    known_words: frozenset[str]  # content words of the training questions (not the typo copies)
    _cache: dict[str, tuple[np.ndarray, bool, bool]] = field(default_factory=dict, repr=False)
    _near: frozenset[str] | None = field(default=None, repr=False)
    _both: np.ndarray = field(init=False, repr=False)  # both heads' weights side by side
    case_type_labels: tuple[CaseKey, ...] = field(init=False)
    level_labels: tuple[str, ...] = field(init=False)

    def __post_init__(self) -> None:
        self._both = np.ascontiguousarray(np.hstack([self.case_type.weights, self.level.weights]))
        self.case_type_labels = tuple((a, c) for a, _, c in (x.partition("/") for x in self.case_type.labels))
        self.level_labels = self.level.labels

    def _known(self, word: str) -> bool:
        """A content word the model has seen, or one typing slip away from one: a letter
        dropped or added, or (in words of seven letters or more) changed or swapped."""
        if word in STOPWORDS or len(word) < 2 or word.isdigit():
            return False
        if word in self.known_words:
            return True
        if len(word) < 5:
            return False
        if self._near is None:
            seen = [w for w in self.known_words if len(w) >= 5]
            self._near = frozenset(w[:i] + w[i + 1:] for w in seen for i in range(len(w)))
        shorter = {word[:i] + word[i + 1:] for i in range(len(word))}
        changed = len(word) >= 7 and bool(shorter & self._near)
        return word in self._near or bool(shorter & self.known_words) or changed

    def _word(self, word: str) -> tuple[np.ndarray, bool, bool]:
        """The word's feature ids, whether it is known, whether it is a content word."""
        hit = self._cache.get(word)
        if hit is None:
            vocab = self.vocabulary
            ids = [i for f in word_features(word) if (i := vocab.get(f)) is not None]
            content = word not in STOPWORDS and len(word) > 1 and not word.isdigit()
            hit = (np.array(ids, dtype=np.intp), self._known(word), content)
            if len(self._cache) < _CACHE_LIMIT:
                self._cache[word] = hit
        return hit

    def bag(self, clean: str) -> Bag:
        tokens = clean.split()[:MAX_WORDS]
        per_word: list[np.ndarray] = []
        known = content = 0
        for token in tokens:
            found, is_known, is_content = self._word(token)
            per_word.append(found)
            known += is_known
            content += is_content
        vocab = self.vocabulary
        pairs = [(p, i) for p in range(len(tokens) - 1) if (i := vocab.get(f"b:{tokens[p]} {tokens[p + 1]}")) is not None]
        return Bag(tokens, per_word, pairs, known / content if content else 0.0)

    def _lift(self, head: str, label: int, ids: np.ndarray) -> np.ndarray:
        chosen = self.case_type if head == "case_type" else self.level
        return chosen.weights[ids, label] - chosen.row_mean[ids]

    def _tfidf(self, repeats: np.ndarray, ids: np.ndarray) -> np.ndarray:
        values = (1.0 + np.log(repeats)) * self.idf[ids]
        return values / np.linalg.norm(values)

    def predict(self, clean: str) -> TextPrediction:
        bag = self.bag(clean)
        if bag.empty:
            return self._nothing(bag)
        unique, repeats = counted(bag.occurrences())
        values = self._tfidf(repeats, unique)
        logits = values @ self._both[unique]
        return self._prediction(bag, logits, unique, values / repeats)

    def predict_many(self, cleans: Sequence[str]) -> list[TextPrediction]:
        """The same as ``predict`` for each text, with one sparse product for all."""
        from scipy.sparse import csr_matrix

        if not cleans:
            return []
        bags = [self.bag(clean) for clean in cleans]
        rows = [bag.occurrences() if not bag.empty else np.empty(0, np.intp) for bag in bags]
        counts = csr_matrix(
            (np.ones(sum(len(r) for r in rows), np.float32), np.concatenate(rows),
             np.cumsum([0, *(len(r) for r in rows)])),
            shape=(len(bags), len(self.idf)),
        )
        counts.sum_duplicates()
        tfidf = counts.copy()
        tfidf.data = (1.0 + np.log(counts.data)) * self.idf[counts.indices]
        norms = np.sqrt(np.asarray(tfidf.multiply(tfidf).sum(axis=1)).ravel())
        logits = np.asarray(tfidf @ self._both)
        predictions = []
        for r, bag in enumerate(bags):
            start, end = counts.indptr[r], counts.indptr[r + 1]
            if bag.empty:
                predictions.append(self._nothing(bag))
                continue
            unique, repeats = counts.indices[start:end], counts.data[start:end]
            norm = norms[r]
            values = tfidf.data[start:end] / norm
            predictions.append(self._prediction(bag, logits[r] / norm, unique, values / repeats))
        return predictions

    def _prediction(self, bag: Bag, logits: np.ndarray, unique: np.ndarray, shared: np.ndarray) -> TextPrediction:
        split = len(self.case_type.labels)
        return TextPrediction(
            _softmax(logits[:split] + self.case_type.bias),
            _softmax(logits[split:] + self.level.bias),
            bag.known_share,
            explainer(bag, unique, shared, self._lift),
        )

    def _nothing(self, bag: Bag) -> TextPrediction:
        return TextPrediction(_softmax(self.case_type.bias), _softmax(self.level.bias), bag.known_share, nothing)


def _softmax(logits: np.ndarray) -> list[float]:
    exps = np.exp(logits - logits.max())
    return (exps / exps.sum()).tolist()
