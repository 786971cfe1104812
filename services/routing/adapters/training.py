"""Train the text model with scikit-learn, deterministically (fixed order, one thread,
a seeded typo copy of each question), from the corpus's training split."""

from __future__ import annotations

import zlib
from typing import Any

import numpy as np

from services.routing.adapters.corpus import Example
from services.routing.adapters.features import analyze, word_features
from services.routing.adapters.text_model import Head, LinearTextModel
from services.routing.domain.text import content_words, normalise

TRAINER_VERSION = "tm2"
# Set by 5-fold cross-validation on the train split (never the held-out one).
C_CASE_TYPE = 20.0  # inverse regularisation
C_LEVEL = 10.0
CLASS_WEIGHT: dict[str, str] = {"level": "balanced"}  # complex is rarer than general
# Words that say nothing about the level but fill longer questions: left alone, the level
# head learns "a long question with 'and' and 'I want' is complex" from how complex
# situations get described. Question words and possessives ("hur", "min") stay: they do
# carry the level.
NEUTRAL_FOR_LEVEL = frozenset(
    {"och", "jag", "att", "som", "i", "en", "ett", "det", "den", "de", "vi", "men", "eller", "vill",
     "behover", "om", "pa", "med", "till", "av", "for", "sa", "nu", "hej", "and", "the", "a", "an",
     "to", "of", "we", "want", "need", "in", "on", "with"}
)


def noisy(text: str, seed: int) -> str:
    """A copy with typing slips (a letter dropped, doubled or swapped in some longer
    words), the same for the same seed: visitors type on kiosks in a hurry."""
    state = seed or 1
    out = []
    for word in text.split():
        state = (state * 1103515245 + 12345) & 0x7FFFFFFF
        if len(word) > 4 and state % 5 == 0:
            i = 1 + (state >> 8) % (len(word) - 2)
            kind = (state >> 4) % 3
            word = (word[:i] + word[i + 1:], word[:i] + word[i] + word[i:], word[:i - 1] + word[i] + word[i - 1] + word[i + 1:])[kind]
        out.append(word)
    return " ".join(out)


def training_texts(examples: list[Example], augment: bool = True) -> tuple[list[str], list[Example]]:
    texts, owners = [], []
    for example in examples:
        clean = normalise(example.text)
        texts.append(clean)
        owners.append(example)
        if augment:
            texts.append(normalise(noisy(clean, zlib.crc32(example.id.encode()))))
            owners.append(example)
    return texts, owners


def fit(
    examples: list[Example],
    ruled: frozenset[tuple[str, str]] = frozenset(),
    augment: bool = True,
    c_case_type: float = C_CASE_TYPE,
    c_level: float = C_LEVEL,
) -> tuple[Any, dict[str, Any]]:
    """The scikit-learn objects: a TF-IDF vectorizer and a logistic regression per head.
    The level head (the intent: information, own case, needs the agency) skips the
    complex examples of ``ruled`` (agency-only) case types: those are requests for the
    service, and learning from them would teach it that "I want" or "I need" (how people
    ask for an ID card) means complex. Their questions for information or about an own
    case it does learn from: that is how "how much is a passport" differs from "I want
    a passport"."""
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression
    from threadpoolctl import threadpool_limits

    texts, owners = training_texts(examples, augment)
    vectorizer = TfidfVectorizer(analyzer=analyze, sublinear_tf=True, dtype=np.float64)
    features = vectorizer.fit_transform(texts)
    level_rows = [i for i, e in enumerate(owners) if (e.agency, e.case_type) not in ruled or e.level != "complex"]
    heads = {}
    for name, rows, labels, c in (
        ("case_type", list(range(len(owners))), [e.label for e in owners], c_case_type),
        ("level", level_rows, [owners[i].level for i in level_rows], c_level),
    ):
        matrix = features[rows]
        if name == "level":
            matrix = matrix @ _without(vectorizer.vocabulary_, NEUTRAL_FOR_LEVEL)
        with threadpool_limits(1):  # one thread: the same result everywhere, and no contention
            heads[name] = LogisticRegression(C=c, max_iter=2000, tol=1e-3, class_weight=CLASS_WEIGHT.get(name)).fit(matrix, labels)
    return vectorizer, heads


def _without(vocabulary: dict[str, int], words: frozenset[str]) -> Any:
    """A diagonal 0/1 matrix that blanks the features of ``words`` (the level head then
    learns nothing from them, and their weights stay zero)."""
    from scipy.sparse import diags

    keep = np.ones(len(vocabulary))
    for word in words:
        for feature in word_features(word):
            if feature in vocabulary:
                keep[vocabulary[feature]] = 0.0
    return diags(keep)


def to_model(vectorizer: Any, heads: dict[str, Any], version: str, examples: list[Example]) -> LinearTextModel:
    """The fitted parameters as a numpy-only model."""
    converted = {
        name: Head(
            tuple(str(c) for c in fitted.classes_),
            np.ascontiguousarray(fitted.coef_.T, dtype=np.float32),
            fitted.intercept_.astype(np.float32),
        )
        for name, fitted in heads.items()
    }
    vocabulary = {str(k): int(v) for k, v in vectorizer.vocabulary_.items()}
    known = frozenset(w for e in examples for w in content_words(normalise(e.text)))
    idf = vectorizer.idf_.astype(np.float32)
    return LinearTextModel(version, vocabulary, idf, converted["case_type"], converted["level"], known)


def train(examples: list[Example], version: str, ruled: frozenset[tuple[str, str]] = frozenset(), **options: Any) -> LinearTextModel:
    vectorizer, heads = fit(examples, ruled, **options)
    return to_model(vectorizer, heads, version, examples)
