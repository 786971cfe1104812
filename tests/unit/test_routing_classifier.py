"""The classifier's own logic (hints, confidence, review, explanation, destination) with a
fake text model that answers from a table, and the real rules and registry."""

from __future__ import annotations

import pytest

from services.routing.adapters.fake_text_model import FakeTextModel
from services.routing.adapters.rule_files import load_router, load_rules
from services.routing.domain.classifier import Classifier, Question
from shared.catalog import LEVELS, load_catalog

CATALOG = load_catalog()
TABLE = {
    "blankett": (("forsakringskassan", "bostadsbidrag"), "general"),
    "utbetalning": (("forsakringskassan", "sjukpenning"), "in_depth"),
    "fordon": (("trafikverket", "ovrigt"), "general"),
    "legitimationen": (("skatteverket", "id_kort"), "complex"),
}


@pytest.fixture
def model() -> FakeTextModel:
    return FakeTextModel(dict(TABLE))


@pytest.fixture
def classifier(model) -> Classifier:
    return Classifier(load_rules(CATALOG), CATALOG, model, load_router())


def test_the_model_decides_case_type_and_level_where_no_rule_does(classifier):
    result = classifier.classify("utbetalning")
    assert (result.agency, result.case_type, result.level, result.rule_id) == ("forsakringskassan", "sjukpenning", "in_depth", "text_model")
    assert "'utbetalning'" in result.explanation and result.confidence >= 0.5 and not result.needs_review


def test_a_rule_decides_the_level_of_its_case_type_whatever_the_model_says(classifier, model):
    model.table["legitimationen"] = (("skatteverket", "id_kort"), "general")
    result = classifier.classify("legitimationen")
    assert (result.level, result.rule_id) == ("complex", "complex.identity_document")


def test_a_hint_is_used_when_the_text_gives_nothing(classifier):
    result = classifier.classify("qwxz plopp", agency="trafikverket", case_type="korkort")
    assert (result.agency, result.case_type) == ("trafikverket", "korkort")
    assert "hint trafikverket/korkort" in result.explanation and result.needs_review


def test_strong_text_outweighs_a_hint_and_the_explanation_says_so(classifier):
    result = classifier.classify("blankett", agency="polisen")
    assert result.agency == "forsakringskassan"
    assert "hint polisen was outweighed by the text" in result.explanation


def test_a_hint_that_agrees_with_the_text_says_so(classifier):
    result = classifier.classify("fordon", agency="trafikverket")
    assert result.agency == "trafikverket" and "agrees with the text" in result.explanation


@pytest.mark.parametrize(("agency", "case_type"), [("nope", None), ("nope", "nope"), ("polisen", "id_kort"), (None, "ovrigt")])
def test_unknown_or_mismatched_hint_codes_are_ignored_and_named(classifier, agency, case_type):
    result = classifier.classify("fordon", agency=agency, case_type=case_type)
    assert result.agency == "trafikverket" and "was ignored" in result.explanation


def test_a_lone_case_type_hint_that_only_one_agency_has_names_the_agency(classifier):
    result = classifier.classify("qwxz", case_type="korkort")
    assert (result.agency, result.case_type) == ("trafikverket", "korkort")


@pytest.mark.parametrize("text", ["", "   ", "🙂🙂", "日本語の質問です", "x" * 100_000, None])
def test_text_with_nothing_to_go_on_gets_a_general_level_low_confidence_and_review(classifier, text):
    result = classifier.classify(text)
    assert result.level == "general" and result.level in LEVELS
    assert result.confidence < 0.5 and result.needs_review
    assert "Nothing in the text was recognised" in result.explanation or "unknown to the model" in result.explanation


def test_huge_text_is_cut_before_the_model_reads_it(classifier, model):
    classifier.classify("blankett " * 50_000)
    assert len(model.seen[-1]) <= 2002


def test_the_model_version_joins_the_rules_and_the_model(classifier):
    assert classifier.classify("fordon").model_version == f"{load_rules().version}+fake-1"


def test_a_complex_question_gets_its_destination_from_the_office(classifier):
    result = classifier.classify("legitimationen", office_id="ostersund")
    assert result.destination == "agency_desk" and "Destination agency_desk" in result.explanation
    unknown = classifier.classify("legitimationen", office_id="atlantis")
    assert unknown.destination == "agency_system" and "unknown to the office registry" in unknown.destination_reason


def test_a_question_that_is_not_complex_stays_at_the_office(classifier):
    result = classifier.classify("blankett", office_id="ostersund")
    assert result.destination == "office" and "Destination" not in result.explanation


def test_classifying_many_gives_the_same_answers_as_one_by_one(classifier):
    questions = [Question("blankett"), Question("fordon", "polisen"), Question("legitimationen", office_id="kiruna"), Question("")]
    assert classifier.classify_many(questions) == [
        classifier.classify(q.text, q.agency, q.case_type, office_id=q.office_id) for q in questions
    ]
