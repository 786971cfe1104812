"""The text model's features, and how one question's features explain a decision.

Features of a normalised question: each word (``w:``), each pair of neighbouring words
(``b:``) and the character 3-, 4- and 5-grams of each word padded with spaces (``c:``), so
typos and missing diacritics still share most features with the right word.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

MAX_WORDS = 300
NGRAMS = (3, 4, 5)


def word_features(word: str) -> list[str]:
    """The word itself and the character n-grams of `` word `` (padded with spaces)."""
    padded = f" {word} "
    grams = [f"c:{padded[i:i + n]}" for n in NGRAMS for i in range(len(padded) - n + 1)]
    return [f"w:{word}", *grams]


def analyze(clean: str) -> list[str]:
    """All features of a normalised text; the analyzer scikit-learn trains with."""
    tokens = clean.split()[:MAX_WORDS]
    features = [f for token in tokens for f in word_features(token)]
    features += [f"b:{a} {b}" for a, b in zip(tokens, tokens[1:], strict=False)]
    return features


@dataclass
class Bag:
    """One question's known feature ids, per word (a word pair belongs to its first word)."""

    tokens: list[str]
    per_word: list[np.ndarray]
    pairs: list[tuple[int, int]]  # (position of the first word, feature id)
    known_share: float
    lengths: list[int] = field(init=False)

    def __post_init__(self) -> None:
        self.lengths = [len(found) for found in self.per_word] + [1] * len(self.pairs)

    @property
    def empty(self) -> bool:
        return not any(self.lengths)

    def occurrences(self) -> np.ndarray:
        return np.concatenate([*self.per_word, np.array([i for _, i in self.pairs], dtype=np.intp)])

    def owners(self) -> np.ndarray:
        return np.repeat([*range(len(self.tokens)), *(p for p, _ in self.pairs)], self.lengths)


def counted(ids: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The distinct ids, sorted, and how often each occurs (``np.unique`` without its
    overhead, which matters at a few microseconds a question)."""
    ordered = np.sort(ids)
    first = np.empty(len(ordered), dtype=bool)
    first[0] = True
    np.not_equal(ordered[1:], ordered[:-1], out=first[1:])
    starts = np.flatnonzero(first)
    ends = np.empty_like(starts)
    ends[:-1], ends[-1] = starts[1:], len(ordered)
    return ordered[starts], (ends - starts).astype(np.float32)


Lift = Callable[[str, int, np.ndarray], np.ndarray]  # (head, label, feature ids) -> lift per id


def explainer(bag: Bag, unique: np.ndarray, shared: np.ndarray, lift: Lift) -> Callable[[str, int, int], tuple[str, ...]]:
    """``explain(head, label, n)``: the words whose features (their weight shared out when a
    feature repeats) most favour ``label`` over the average label."""
    where: list[np.ndarray] = []

    def explain(head: str, label: int, n: int) -> tuple[str, ...]:
        if not where:  # computed once, for both heads
            where.extend((np.searchsorted(unique, bag.occurrences()), bag.owners()))
        per_feature = lift(head, label, unique) * shared
        scores = np.bincount(where[1], weights=per_feature[where[0]], minlength=len(bag.tokens)).tolist()
        best = sorted((i for i, v in enumerate(scores) if v > 0), key=scores.__getitem__, reverse=True)
        return tuple(dict.fromkeys(bag.tokens[i] for i in best))[:n]

    return explain


def nothing(_head: str, _label: int, _n: int) -> tuple[str, ...]:
    return ()
