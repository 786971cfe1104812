"""The scikit-learn adapter: numpy inference gives what scikit-learn gives, training is
deterministic, the artifact round-trips, typos still count as known words."""

from __future__ import annotations

import subprocess

import numpy as np
import pytest

from services.routing.adapters import training
from services.routing.adapters.corpus import corpus_files, load_corpus
from services.routing.adapters.model_store import (
    artifact_path,
    load,
    load_text_model,
    save,
    text_model_version,
)
from services.routing.adapters.rule_files import load_classifier, load_rules
from services.routing.domain.text import normalise
from shared.catalog import load_catalog

CATALOG = load_catalog()
EXAMPLES = [e for e in load_corpus(corpus_files(), CATALOG) if e.split == "train"]
SMALL = EXAMPLES[::6]  # a quick model for these tests
QUESTIONS = ["Hur ansöker jag om bostadsbidrag?", "när kommer min pension", "jag vill ha id kort", "", "zzz qqq", "vab vab vab"]


@pytest.fixture(scope="module")
def fitted():
    vectorizer, heads = training.fit(SMALL, augment=False)
    return vectorizer, heads, training.to_model(vectorizer, heads, "small", SMALL)


def test_numpy_inference_gives_the_probabilities_scikit_learn_gives(fitted):
    vectorizer, heads, model = fitted
    cleans = [normalise(q) for q in QUESTIONS]
    features = vectorizer.transform(cleans)
    for name in ("case_type", "level"):
        expected = heads[name].predict_proba(features)
        got = np.array([getattr(model.predict(c), f"{name}s" if name == "level" else "case_types") for c in cleans])
        assert np.allclose(got, expected, atol=1e-4), name


def test_a_batch_gives_the_same_answers_as_one_by_one(fitted):
    model = fitted[2]
    cleans = [normalise(q) for q in QUESTIONS]
    for one, many in zip([model.predict(c) for c in cleans], model.predict_many(cleans), strict=True):
        assert np.allclose(one.case_types, many.case_types, atol=1e-5) and np.allclose(one.levels, many.levels, atol=1e-5)
        assert one.explain("case_type", 0, 3) == many.explain("case_type", 0, 3)


def test_an_empty_batch_is_an_empty_answer(fitted):
    assert fitted[2].predict_many([]) == []
    assert len(fitted[2].predict_many([" ", " "])) == 2


def test_training_twice_gives_the_same_model():
    first, second = training.train(SMALL, "a", augment=False), training.train(SMALL, "a", augment=False)
    assert first.vocabulary == second.vocabulary
    assert np.array_equal(first.case_type.weights, second.case_type.weights)
    assert np.array_equal(first.level.weights, second.level.weights)


def test_the_saved_artifact_loads_as_the_same_model(fitted, tmp_path):
    model = fitted[2]
    path = tmp_path / "m.npz"
    save(model, path)
    loaded = load(path)
    assert (loaded.version, loaded.vocabulary, loaded.known_words) == (model.version, model.vocabulary, model.known_words)
    clean = normalise(QUESTIONS[0])
    assert loaded.predict(clean).case_types == model.predict(clean).case_types


def _no_child(*_a, **_k):
    raise subprocess.SubprocessError("no child process in this test")


def test_the_service_uses_a_matching_artifact_and_retrains_when_there_is_none(fitted, tmp_path, monkeypatch):
    rules = load_rules(CATALOG)
    model = fitted[2]
    version = text_model_version(corpus_files())
    model.version = version
    save(model, artifact_path(version, rules.version, tmp_path))
    assert load_text_model(CATALOG, rules, tmp_path).vocabulary == model.vocabulary
    calls = []
    monkeypatch.setattr("services.routing.adapters.model_store.subprocess.run", _no_child)
    monkeypatch.setattr("services.routing.adapters.model_store.train_from_corpus", lambda *a: calls.append(a) or model)
    load_text_model(CATALOG, rules, tmp_path / "empty")
    assert len(calls) == 1


def test_a_damaged_artifact_is_retrained_not_fatal(tmp_path, monkeypatch):
    rules = load_rules(CATALOG)
    version = text_model_version(corpus_files())
    path = artifact_path(version, rules.version, tmp_path)
    path.parent.mkdir(parents=True)
    path.write_bytes(b"not a model")
    monkeypatch.setattr("services.routing.adapters.model_store.subprocess.run", _no_child)
    monkeypatch.setattr("services.routing.adapters.model_store.train_from_corpus", lambda *a: "retrained")
    assert load_text_model(CATALOG, rules, tmp_path) == "retrained"


@pytest.mark.parametrize(("word", "known"), [("bostadsbidrag", True), ("bostadsbidarg", True), ("bostadbidrag", True), ("passar", False), ("voudrais", False), ("och", False)])
def test_words_one_typing_slip_from_a_training_word_count_as_known(word, known):
    assert load_classifier().model._known(word) is known


def test_feature_names_cover_words_pairs_and_letter_grams():
    from services.routing.adapters.features import analyze

    features = analyze(" id kort ")
    assert {"w:id", "w:kort", "b:id kort", "c: id ", "c: kort"} <= set(features)
