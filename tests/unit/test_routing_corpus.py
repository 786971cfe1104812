"""The labelled corpus the model trains on, and the acceptance figures on its held-out
split (questions written in another style than the training ones)."""

from __future__ import annotations

import json
from collections import Counter

import pytest

from services.routing.adapters.corpus import corpus_files, corpus_hash, load_corpus, parse_example
from services.routing.evaluation import TARGETS, evaluate
from services.routing.rules import load_classifier, load_rules
from shared.catalog import LEVELS, load_catalog

CATALOG = load_catalog()
EXAMPLES = load_corpus(corpus_files(), CATALOG)
SPLIT = {split: [e for e in EXAMPLES if e.split == split] for split in ("train", "heldout")}


def test_the_corpus_has_at_least_1500_questions_with_a_fixed_split():
    assert len(EXAMPLES) >= 1500
    assert len(SPLIT["heldout"]) >= 250 and len(SPLIT["train"]) >= 1500


@pytest.mark.parametrize("split", ["train", "heldout"])
def test_every_agency_case_type_and_level_is_in_each_split(split):
    examples = SPLIT[split]
    assert {(e.agency, e.case_type) for e in examples} == set(CATALOG.case_types)
    assert {e.level for e in examples} == set(LEVELS)


def test_swedish_english_and_mixed_questions_are_all_there():
    langs = Counter(e.lang for e in EXAMPLES)
    assert langs["sv"] > langs["en"] > langs["mixed"] >= 50


def test_no_question_is_in_both_splits_and_ids_are_unique():
    train = {" ".join(e.text.lower().split()) for e in SPLIT["train"]}
    assert not [e.text for e in SPLIT["heldout"] if " ".join(e.text.lower().split()) in train]
    assert len({e.id for e in EXAMPLES}) == len(EXAMPLES)


def test_labels_agree_with_the_level_rules():
    ruled = load_rules().ruled_case_types()
    assert [e.id for e in EXAMPLES if (e.agency, e.case_type) in ruled and e.level != "complex"] == []


def test_the_held_out_questions_are_written_in_another_style():
    def words(split: str) -> float:
        return sum(len(e.text.split()) for e in SPLIT[split]) / len(SPLIT[split])

    assert words("heldout") > 1.4 * words("train")


def test_a_bad_line_is_refused_with_where_and_why():
    bad = {"id": "x", "text": "hej", "agency": "skatteverket", "case_type": "pass", "level": "urgent", "lang": "sv", "split": "train"}
    with pytest.raises(ValueError, match="corpus.jsonl:7: unknown case type, unknown level"):
        parse_example(json.dumps(bad), CATALOG, "corpus.jsonl:7")


def test_the_corpus_hash_changes_with_the_content(tmp_path):
    path = tmp_path / "corpus.jsonl"
    path.write_text('{"a": 1}\n')
    before = corpus_hash([path])
    path.write_text('{"a": 2}\n')
    assert corpus_hash([path]) != before and len(before) == 12


def test_the_held_out_split_meets_the_acceptance_figures():
    report = evaluate(load_classifier(), SPLIT["heldout"])
    assert report.misses() == [], report.as_dict()
    assert report.level_accuracy >= TARGETS["level_accuracy"]
    assert report.level_recall["complex"] >= TARGETS["complex_recall"]
    assert report.agency_accuracy >= TARGETS["agency_accuracy"]


def test_the_evaluation_counts_right_and_wrong_decisions():
    class Always:
        def classify(self, text, agency=None, case_type=None):
            from services.routing.domain.classifier import Classification

            return Classification("general", "skatteverket", "id_kort", 0.3, "", True, "v", "r")

    examples = [e for e in SPLIT["heldout"] if e.agency == "skatteverket"][:10]
    report = evaluate(Always(), examples)
    assert report.agency_accuracy == 1.0 and report.needs_review_share == 1.0
    assert report.level_recall["general"] == 1.0 and report.level_recall["complex"] == 0.0
    assert sum(report.confusion[t]["general"] for t in LEVELS) == 10
